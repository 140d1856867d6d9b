"""Campaigns' models: segments (``segments``), campaigns and the programme's own dates
(``campaigns``), and their delivery: sends, in-app notifications, the SMS log
(``delivery``)."""

from campaigns.models.campaigns import (
    Campaign,
    CampaignMessage,
    CampaignPolicy,
    ProgramDate,
)
from campaigns.models.delivery import Notification, Send, SmsLog
from campaigns.models.segments import MemberScore, Segment, _empty_rules

__all__ = [
    "Campaign",
    "CampaignMessage",
    "CampaignPolicy",
    "MemberScore",
    "Notification",
    "ProgramDate",
    "Segment",
    "Send",
    "SmsLog",
    "_empty_rules",
]

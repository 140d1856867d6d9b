"""Writes about campaigns: the nightly member scores (``scores``), saved segments
(``segments``), campaigns' lifecycle (``campaigns``), the fan-out of sends (``fanout``),
their delivery (``delivery``) and the daily job and tick (``runs``)."""

from campaigns.services.campaigns import (
    campaign_approve,
    campaign_audience_changed,
    campaign_check,
    campaign_finish,
    campaign_pause,
    campaign_save,
    campaign_schedule,
    campaigns_advance,
)
from campaigns.services.delivery import campaign_deliver, send_process, sends_claim
from campaigns.services.fanout import campaign_fan_out
from campaigns.services.runs import campaigns_run_daily, campaigns_tick, deliveries_queue
from campaigns.services.scores import segments_compute
from campaigns.services.segments import segment_create, segment_update

__all__ = [
    "campaign_approve",
    "campaign_audience_changed",
    "campaign_check",
    "campaign_deliver",
    "campaign_fan_out",
    "campaign_finish",
    "campaign_pause",
    "campaign_save",
    "campaign_schedule",
    "campaigns_advance",
    "campaigns_run_daily",
    "campaigns_tick",
    "deliveries_queue",
    "segment_create",
    "segment_update",
    "segments_compute",
    "send_process",
    "sends_claim",
]

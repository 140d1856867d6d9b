"""Building campaigns and running their days in tests."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import time_machine
from django.utils import timezone

from campaigns.models import Campaign, CampaignMessage
from campaigns.services import campaigns_run_daily, campaigns_tick

VN = ZoneInfo("Asia/Ho_Chi_Minh")

MESSAGES = {
    "vi": ("Xin chào {name}", "Chào {name}, bạn có {points} điểm, hạng {tier}.", "Chao {name}"),
    "en": ("Hello {name}", "Hi {name}, you have {points} points, {tier} tier.", "Hi {name}"),
}


def at(day: date, hour: int = 1, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=VN)


def make_campaign(
    code: str = "test",
    *,
    messages: dict | None = None,
    tiers=(),
    state: str = Campaign.State.RUNNING,
    **fields,
) -> Campaign:
    """A campaign row as the services would leave it (running by default), with messages in
    Vietnamese and English."""
    fields.setdefault("name", code)
    fields.setdefault("starts_at", datetime(2020, 1, 1, tzinfo=VN))
    if fields.get("trigger", Campaign.Trigger.ONE_OFF) == Campaign.Trigger.ONE_OFF:
        fields.setdefault("send_at", datetime(2020, 1, 1, tzinfo=VN))
    campaign = Campaign.objects.create(code=code, state=state, **fields)
    if tiers:
        campaign.tiers.set(tiers)
    for language, (subject, body, sms) in (messages or MESSAGES).items():
        CampaignMessage.objects.create(
            campaign=campaign, language=language, subject=subject, body=body, sms=sms
        )
    return campaign


def pause_defaults() -> None:
    """The default programme's birthday campaign runs in every database; tests about other
    campaigns pause it so it does not greet their members."""
    Campaign.objects.filter(code__in=["birthday", "tet"]).update(state=Campaign.State.PAUSED)


def run_campaigns_day(day: date, capture, *, hour: int = 1, minute: int = 0):
    with time_machine.travel(at(day, hour, minute), tick=False), capture(execute=True):
        result = campaigns_run_daily(today=timezone.localdate())
    return result


def tick(now: datetime, capture):
    with time_machine.travel(now, tick=False), capture(execute=True):
        return campaigns_tick()


def activate_birthday() -> Campaign:
    """The default birthday campaign, running since long before the tests' days."""
    Campaign.objects.filter(code="birthday").update(
        state=Campaign.State.RUNNING, starts_at=datetime(2020, 1, 1, tzinfo=VN)
    )
    return Campaign.objects.get(code="birthday")

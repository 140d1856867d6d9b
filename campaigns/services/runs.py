"""The campaigns' clockwork: the daily job (``campaigns.run``, after the segments) and the
tick (every minute, from beat). Both move campaigns along with time, create the sends that
are due, and queue delivery tasks after commit for the campaigns with sends to deliver."""

from __future__ import annotations

import logging
import math
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.selectors import approval_needed, audience_count, campaigns_with_due_sends
from campaigns.services.campaigns import campaigns_advance
from campaigns.services.delivery import CHUNK
from campaigns.services.fanout import campaign_fan_out, start_of

logger = logging.getLogger(__name__)

PARALLEL_TASKS = 4  # delivery tasks queued at once for a campaign with many sends due
State = Campaign.State


def _queue_delivery(campaign_id: int, copies: int = 1) -> None:
    # After commit, and a broker outage is logged, not raised: the next tick queues the
    # sends still due (``campaigns.services.enqueue``).
    from campaigns.services.enqueue import delivery_enqueue

    delivery_enqueue(campaign_id, copies=copies)


def deliveries_queue(*, now: datetime | None = None) -> int:
    """Queue delivery tasks (after commit) for every campaign with sends due that no worker
    is busy with; returns how many tasks."""
    queued = 0
    for campaign_id, due in campaigns_with_due_sends(now=now or timezone.now()).items():
        copies = max(1, min(PARALLEL_TASKS, math.ceil(due / CHUNK)))
        _queue_delivery(campaign_id, copies)
        queued += copies
    return queued


def one_offs_send(*, now: datetime) -> dict[str, int]:
    """Create the sends of the running one-off campaigns whose time has come, and finish
    them. One that has grown past the approval threshold since it was scheduled, without an
    approval, is paused instead."""
    created = {}
    due = Campaign.objects.filter(state=State.RUNNING, trigger=Campaign.Trigger.ONE_OFF)
    for campaign_id in due.filter(send_at__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            campaign = (
                Campaign.objects.select_for_update()
                .filter(pk=campaign_id, state=State.RUNNING)
                .first()
            )
            if campaign is None:
                continue
            if approval_needed(campaign, count=audience_count(campaign)):
                logger.warning("campaign %s needs an approval: paused", campaign.code)
                Campaign.objects.filter(pk=campaign.pk).update(state=State.PAUSED, updated_at=now)
                continue
            created[campaign.code] = campaign_fan_out(
                campaign=campaign, today=timezone.localdate(now), now=now
            )
            Campaign.objects.filter(pk=campaign.pk).update(state=State.FINISHED, updated_at=now)
    return created


def campaigns_run_daily(*, today: date) -> dict:
    """The daily job: create the day's sends of every running campaign with a daily
    trigger (birthday, holiday, events) whose dates include ``today``, then the one-offs due,
    then queue their delivery. Each campaign in its own transaction; one failing does not
    stop the others (the job fails at the end, naming them). Running a day again creates
    nothing new."""
    now = timezone.now()
    advanced = campaigns_advance(now=now)
    day_start, day_end = start_of(today), start_of(today + timedelta(days=1))
    due = (
        Campaign.objects.filter(
            state=State.RUNNING, trigger__in=Campaign.DAILY_TRIGGERS, starts_at__lt=day_end
        )
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=day_start))
        .select_related("segment")
        .order_by("pk")
    )
    created, failed = {}, []
    for campaign in due:
        # A holiday sends to its whole audience on one day: like a one-off, it needs an
        # approval if that audience has grown past the threshold (say, a widened segment).
        # Birthdays and events reach a few members a day and are checked when scheduled.
        if campaign.trigger == Campaign.Trigger.HOLIDAY and approval_needed(campaign):
            logger.warning("campaign %s needs an approval: paused", campaign.code)
            Campaign.objects.filter(pk=campaign.pk).update(state=State.PAUSED, updated_at=now)
            continue
        try:
            with transaction.atomic():
                created[campaign.code] = campaign_fan_out(campaign=campaign, today=today, now=now)
        except Exception:
            logger.exception("campaign %s: fan-out for %s failed", campaign.code, today)
            failed.append(campaign.code)
    one_off = one_offs_send(now=now)
    queued = deliveries_queue(now=now)
    if failed:
        raise RuntimeError(f"campaign fan-out failed for {', '.join(failed)}")
    return {
        **advanced,
        "sends": sum(created.values()) + sum(one_off.values()),
        "campaigns": {**created, **one_off},
        "tasks": queued,
    }


def campaigns_tick(*, now: datetime | None = None) -> dict:
    """Every minute: campaigns start and finish on time, one-offs go at their time, and
    sends that became due (quiet hours over, a back-off passed, a worker died and its claim
    went stale, a task lost by the broker) get a delivery task."""
    now = now or timezone.now()
    advanced = campaigns_advance(now=now)
    one_off = one_offs_send(now=now)
    return {**advanced, "one_off": one_off, "tasks": deliveries_queue(now=now)}


__all__ = ["campaigns_run_daily", "campaigns_tick", "deliveries_queue", "one_offs_send"]

"""Campaign tasks: take ids, call one service, safe to run twice (claims and unique
constraints make a repeat do nothing). Queued after commit, on ``CAMPAIGNS_QUEUE`` (Celery's
default queue when unset)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import transaction

from campaigns.services.delivery import campaign_deliver
from campaigns.services.runs import campaigns_tick
from loyalty.single_run import single_run


@shared_task(name="campaigns.tasks.deliver")
def deliver(campaign_id: int) -> dict:
    """Deliver the due sends of a campaign (a worker's share of them: several run at once,
    each claiming its own chunks). Queues itself again when it stopped for time."""
    run = campaign_deliver(campaign_id=campaign_id)
    if run.more:
        queue_delivery(campaign_id)
    return run.as_dict()


@shared_task(name="campaigns.tasks.tick")
def tick() -> dict:
    """Beat's every-minute entry: ``campaigns_tick``, one at a time (the single-run lease
    ``campaigns.tick``): a copy that finds another running (two beats, a nudge from the
    admin landing on the minute's tick) does nothing, and the next minute's tick catches
    up."""
    with single_run("campaigns.tick") as mine:
        if not mine:
            return {"skipped": True}
        return campaigns_tick()


def queue_delivery(campaign_id: int, *, copies: int = 1) -> None:
    """Queue ``copies`` delivery tasks for a campaign once the current transaction commits
    (at once outside one; run in-process without a broker)."""

    def send():
        for _copy in range(copies):
            deliver.apply_async(args=[campaign_id], queue=settings.CAMPAIGNS_QUEUE)

    transaction.on_commit(send)


def queue_tick() -> None:
    transaction.on_commit(lambda: tick.apply_async(queue=settings.CAMPAIGNS_QUEUE))

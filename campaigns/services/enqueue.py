"""Queueing the campaigns' tasks from services: after commit, and never failing the caller.

What a service queues (the tick after a campaign is scheduled, delivery tasks for sends that
are due) is a nudge, not the record of the work: the rows the service committed are. The
tick (``campaigns.tasks.tick``, every minute from beat) finds that work again by itself:
scheduled campaigns whose start has come, running one-offs whose time has come, and sends
that are due with no worker on them. So a broker that is down when the nudge is sent costs
a minute, not the work: the error is logged (task name and ids only) and the request, the
admin action or the job that committed goes on.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# What publishing raises when the broker cannot be reached (kombu wraps the transport's
# connection errors in its OperationalError; a bare socket error may come through too).
BROKER_ERRORS = (OperationalError, ConnectionError)


def task_enqueue(task, *, args: tuple = (), copies: int = 1) -> bool:
    """Send ``copies`` of ``task`` to the campaigns' queue now; ``False`` (logged) when the
    broker is unavailable. Exceptions of the task itself, run in-process without a broker,
    are not swallowed."""
    for _copy in range(copies):
        try:
            task.apply_async(args=list(args), queue=settings.CAMPAIGNS_QUEUE)
        except BROKER_ERRORS as exc:
            # The exception's text may hold the broker's address: its class is enough.
            logger.warning(
                "broker unavailable (%s): %s%s not queued; the campaigns' tick picks the "
                "work up when the broker is back",
                type(exc).__name__,
                task.name,
                list(args),
            )
            return False
    return True


def task_enqueue_on_commit(task, *, args: tuple = (), copies: int = 1) -> None:
    """``task_enqueue`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: task_enqueue(task, args=args, copies=copies))


def tick_enqueue() -> None:
    """Nudge the tick after commit (a campaign scheduled now runs within the minute)."""
    from campaigns.tasks import tick

    task_enqueue_on_commit(tick)


def delivery_enqueue(campaign_id: int, *, copies: int = 1) -> None:
    """Queue ``copies`` delivery tasks for a campaign after commit."""
    from campaigns.tasks import deliver

    task_enqueue_on_commit(deliver, args=(campaign_id,), copies=copies)

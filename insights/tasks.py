"""Figures tasks: build the facts that are due (safe to run twice: a build replaces a day's
rows; one at a time under the single-run lease ``insights.build``)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from insights.services import facts_build_dirty, facts_build_due
from loyalty.single_run import single_run


@shared_task(name="insights.tasks.build_due")
def insights_build_due() -> dict:
    """Build every day due (never built, within the backdating window, marked dirty)."""
    with single_run("insights.build") as mine:
        if not mine:
            return {"skipped": True}
        return facts_build_due(today=timezone.localdate())


@shared_task(name="insights.tasks.build_dirty")
def insights_build_dirty() -> dict:
    """Build the days a return, a late purchase or an import marked dirty, soon after the
    write. When a build is already running, skip: the overview reads dirty days live until
    they are built, and the running build or the next one takes them."""
    with single_run("insights.build") as mine:
        if not mine:
            return {"skipped": True}
        return facts_build_dirty(today=timezone.localdate())

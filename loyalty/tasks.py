from __future__ import annotations

from datetime import date

from celery import shared_task
from celery.exceptions import Ignore

from loyalty import daily


@shared_task(name="loyalty.tasks.run_daily_jobs")
def run_daily_jobs(today: str | None = None) -> dict:
    """Beat's nightly entry: every registered daily job for ``today`` (ISO date, local).

    Under the single-run lease (``loyalty.daily``): a copy started while another runs does
    nothing and ends ignored, so it is not counted as a successful nightly run."""
    day = date.fromisoformat(today) if today else None
    run = daily.run_daily_jobs(today=day)
    if run.skipped:
        raise Ignore()
    if not run.ok:
        failed = ", ".join(o.name for o in run.outcomes if not o.ok)
        raise RuntimeError(f"daily jobs failed for {run.today}: {failed}")
    return run.as_dict()


@shared_task(name="loyalty.tasks.ping")
def ping() -> str:
    """Round trip through the broker; used by health checks and the worker test."""
    return "pong"

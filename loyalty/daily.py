"""The daily jobs: one entry point (``run_daily_jobs``) that every capability registers into.

A capability registers its job from its ``AppConfig.ready()``::

    daily.register("points.mature_pending", order=10)(points_mature_due)

Each job is called as ``job(today=<date in the programme's time zone>)`` and must be
idempotent: running the same day again does only what has become due since. Jobs run in
``order``; a job that raises is logged and reported, and the jobs after it still run (one
failing capability must not stop, say, points maturing), and the run as a whole fails.

A run holds the single-run lease ``daily`` (``loyalty.single_run``): a second run started
while one is in progress (two beat processes, a redelivered task, the command on top of
beat) runs nothing and says it ``skipped``. Sequential runs stay safe by the jobs'
idempotency.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DailyJob:
    name: str
    order: int
    func: Callable[..., object]


@dataclass
class JobOutcome:
    name: str
    ok: bool
    seconds: float
    result: object = None
    error: str | None = None


@dataclass
class DailyRun:
    today: date
    outcomes: list[JobOutcome] = field(default_factory=list)
    skipped: bool = False  # another run held the lease: nothing ran

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in self.outcomes)

    def as_dict(self) -> dict:
        return {
            "today": self.today.isoformat(),
            "ok": self.ok,
            "skipped": self.skipped,
            "jobs": [
                {
                    "name": o.name,
                    "ok": o.ok,
                    "seconds": round(o.seconds, 3),
                    "result": o.result if isinstance(o.result, (int, str, dict, list)) else None,
                    "error": o.error,
                }
                for o in self.outcomes
            ],
        }


_registry: dict[str, DailyJob] = {}


def register(name: str, *, order: int) -> Callable:
    """Decorator registering ``func`` as the daily job ``name``; registering again replaces."""

    def decorator(func: Callable) -> Callable:
        _registry[name] = DailyJob(name=name, order=order, func=func)
        return func

    return decorator


def unregister(name: str) -> None:
    _registry.pop(name, None)


def jobs() -> list[DailyJob]:
    return sorted(_registry.values(), key=lambda job: (job.order, job.name))


def local_today() -> date:
    """Today's date in the programme's time zone (``TIME_ZONE``)."""
    return timezone.localdate()


LEASE = "daily"


def run_daily_jobs(*, today: date | None = None) -> DailyRun:
    from loyalty.single_run import single_run

    run = DailyRun(today=today or local_today())
    with single_run(LEASE) as mine:
        if not mine:
            run.skipped = True
            return run
        _run_jobs(run)
    return run


def _run_jobs(run: DailyRun) -> None:
    for job in jobs():
        started = time.monotonic()
        try:
            result = job.func(today=run.today)
        except Exception as exc:
            logger.exception("daily job %s failed for %s", job.name, run.today)
            run.outcomes.append(
                JobOutcome(job.name, False, time.monotonic() - started, error=repr(exc))
            )
        else:
            run.outcomes.append(JobOutcome(job.name, True, time.monotonic() - started, result))
            logger.info("daily job %s done for %s: %r", job.name, run.today, result)

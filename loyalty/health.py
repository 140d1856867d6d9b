"""``/healthz``: is this deployment able to do its work? (django-health-check 4).

Checks: the database, the cache, the Celery broker (when there is one: not in eager mode)
and the nightly jobs (``NightlyJob``: their last success is at most
``HEALTH_NIGHTLY_MAX_AGE_HOURS`` old). 200 when all pass; 503 when the database fails; 200
"degraded" when only a shared service or the nightly job does (503 with ``?strict=1``, for
alerting; see ``verdict``); JSON for
``Accept: application/json`` (or ``?format=json``), a line per check otherwise. The answer
names each check and says ``ok`` or ``unavailable``, never why: hostnames and exception texts
stay in the server log (masked).

A fresh install has no nightly run yet: the check counts from the moment the table that
records runs was created (the ``loyalty`` app's first migration), so it passes until the
first run is overdue, a day and two hours after installing or upgrading, not forever.

``/health/`` (``loyalty.views.health``) stays the plain liveness probe.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView, MediaType

logger = logging.getLogger(__name__)

NIGHTLY_TASK = "loyalty.tasks.run_daily_jobs"


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection (no worker needs to answer: a worker that is
    down shows in the task metrics, and the web goes on without one)."""

    url: str = dataclasses.field(repr=False)  # may hold a password: never in a report
    timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=3), repr=False
    )

    def run(self):
        from loyalty.celery import app

        seconds = self.timeout.total_seconds()
        try:
            with app.connection_for_write(url=self.url, connect_timeout=seconds) as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, timeout=seconds)
        except Exception as exc:
            raise ServiceUnavailable("broker unreachable") from exc


@dataclasses.dataclass
class NightlyJob(HealthCheck):
    """The last successful nightly run is at most ``max_age`` old."""

    max_age: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(hours=26), repr=False
    )

    async def run(self):
        # On the request's own thread (thread-sensitive): its database connection.
        await sync_to_async(self._check)()

    def _check(self):
        from django.db.migrations.recorder import MigrationRecorder

        from loyalty.models import NightlyRun

        now = timezone.now()
        last = NightlyRun.objects.order_by("-finished_at").values_list("finished_at", flat=True)
        last = last.first()
        if last is not None:
            if now - last > self.max_age:
                raise ServiceUnavailable("the last successful nightly run is too old")
            return
        since = (
            MigrationRecorder.Migration.objects.filter(app="loyalty")
            .order_by("applied")
            .values_list("applied", flat=True)
            .first()
        )
        if since is None or now - since > self.max_age:
            raise ServiceUnavailable("no nightly run has succeeded yet")


def nightly_run_record(*, day: datetime.date) -> None:
    """Remember that the nightly jobs of ``day`` all succeeded (now)."""
    from loyalty.models import NightlyRun

    NightlyRun.objects.update_or_create(day=day, defaults={"finished_at": timezone.now()})


def on_task_success(sender=None, result=None, **kwargs) -> None:
    """Celery's ``task_success``: a nightly run that succeeded is recorded."""
    if getattr(sender, "name", None) != NIGHTLY_TASK:
        return
    try:
        day = datetime.date.fromisoformat(result["today"])
    except (TypeError, KeyError, ValueError):
        day = timezone.localdate()
    try:
        nightly_run_record(day=day)
    except Exception:  # the run itself succeeded; /healthz will tell if this keeps failing
        logger.exception("could not record the nightly run of %s", day)


def checks() -> list[tuple[str, HealthCheck]]:
    found: list[tuple[str, HealthCheck]] = [("database", Database()), ("cache", Cache())]
    if settings.CELERY_BROKER_URL and not settings.CELERY_TASK_ALWAYS_EAGER:
        found.append(("broker", Broker(url=settings.CELERY_BROKER_URL)))
    if settings.HEALTH_NIGHTLY_CHECK and settings.HEALTH_NIGHTLY_MAX_AGE_HOURS:
        max_age = datetime.timedelta(hours=settings.HEALTH_NIGHTLY_MAX_AGE_HOURS)
        found.append(("nightly_job", NightlyJob(max_age=max_age)))
    return found


# Without these this node cannot serve a till: a load balancer should take it out. The
# others are shared services whose outage every node sees alike (purchases go on without
# Redis, rate limits fail open), so they make the answer "degraded" but keep it 200: a load
# balancer draining every node at once for a Redis outage would stop every till.
CRITICAL = frozenset({"database"})


def verdict(report: dict[str, str], *, strict: bool = False) -> tuple[str, int]:
    """``("ok"|"degraded"|"unavailable", status)``: 503 when a critical check failed, or
    any check with ``strict`` (``/healthz?strict=1``, for monitoring and alerts)."""
    failed = {name for name, value in report.items() if value != "ok"}
    if not failed:
        return "ok", 200
    if failed & CRITICAL or strict:
        return "unavailable", 503
    return "degraded", 200


def _wants_json(request) -> bool:
    if request.GET.get("format") == "json":
        return True
    try:
        media = list(MediaType.parse_header(request.headers.get("Accept", "*/*")))
    except ValueError:
        return False
    for item in media:
        if item.mime_type in {"application/json", "application/*"}:
            return True
        if item.mime_type in {"text/plain", "text/html", "text/*", "*/*"}:
            return False
    return False


class HealthzView(HealthCheckView):
    """django-health-check's view with the platform's checks and an answer that says which
    check failed, not why (the reason is logged by django-health-check)."""

    async def get(self, request, *args, **kwargs):
        named = checks()
        with self.get_executor() as executor:
            results = await asyncio.gather(*(check.get_result(executor) for _, check in named))
        report = {
            name: "ok" if result.error is None else "unavailable"
            for (name, _check), result in zip(named, results, strict=True)
        }
        status_word, status = verdict(report, strict=request.GET.get("strict") == "1")
        if _wants_json(request):
            return JsonResponse({"status": status_word, "checks": report}, status=status)
        lines = [f"status: {status_word}"] + [f"{name}: {value}" for name, value in report.items()]
        return HttpResponse(
            "\n".join(lines) + "\n", content_type="text/plain; charset=utf-8", status=status
        )


healthz = HealthzView.as_view()

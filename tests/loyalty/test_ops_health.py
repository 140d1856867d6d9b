"""/healthz: database, cache, broker and the nightly jobs' last success; 200, 200 "degraded"
or 503; JSON on request; no internal detail in the answer. /health/ stays the liveness probe."""

from __future__ import annotations

import io
import os
from datetime import timedelta

import pytest
import time_machine
from django.db import OperationalError
from django.utils import timezone
from health_check.checks import Database

from loyalty import health
from loyalty.models import NightlyRun
from loyalty.tasks import run_daily_jobs

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def nightly(settings):
    settings.HEALTH_NIGHTLY_CHECK = True
    settings.HEALTH_NIGHTLY_MAX_AGE_HOURS = 26


def test_healthy_answers_200_with_each_check(client, settings):
    settings.HEALTH_NIGHTLY_CHECK = False
    response = client.get("/healthz", **JSON)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"] == "ok"
    assert response["Cache-Control"].startswith("max-age=0")


def test_plain_text_for_a_load_balancer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "status: ok\ndatabase: ok" in response.content.decode()


def test_liveness_stays(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_a_failing_database_is_503_without_its_error_text(client, monkeypatch):
    def broken(self):
        raise OperationalError('connection to server at "db.internal" (10.0.0.5) failed')

    monkeypatch.setattr(Database, "run", broken)
    response = client.get("/healthz", **JSON)
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["database"] == "unavailable"
    text = response.content.decode()
    assert "db.internal" not in text and "10.0.0.5" not in text and "connection" not in text


def test_broker_checked_when_there_is_one_and_its_url_is_not_shown(client, settings):
    settings.CELERY_BROKER_URL = "redis://:pa55word@127.0.0.1:1/0"  # nothing listens there
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.HEALTH_NIGHTLY_CHECK = False
    response = client.get("/healthz", **JSON)
    # A shared service down: every node sees it alike, so the load balancer keeps the node.
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "cache": "ok", "broker": "unavailable"},
    }
    assert "pa55word" not in response.content.decode()
    strict = client.get("/healthz?strict=1", **JSON)
    assert strict.status_code == 503
    assert strict.json()["status"] == "unavailable"
    assert "127.0.0.1" not in response.content.decode()


def test_no_broker_check_in_eager_mode(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert "broker" not in client.get("/healthz", **JSON).json()["checks"]


@pytest.mark.worker
def test_the_real_broker_is_reachable(client, settings):
    settings.CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.HEALTH_NIGHTLY_CHECK = False
    response = client.get("/healthz", **JSON)
    assert response.json()["checks"]["broker"] == "ok", response.content
    assert response.status_code == 200


def test_a_fresh_install_is_healthy_until_the_first_run_is_due(client, nightly):
    assert not NightlyRun.objects.exists()
    response = client.get("/healthz", **JSON)
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["nightly_job"] == "ok"
    # A day and more than two hours later, still no run: unhealthy.
    with time_machine.travel(timezone.now() + timedelta(hours=27), tick=False):
        response = client.get("/healthz", **JSON)
        strict = client.get("/healthz?strict=1", **JSON)
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["nightly_job"] == "unavailable"
    assert strict.status_code == 503


def test_a_successful_nightly_task_is_recorded_and_keeps_it_healthy(client, nightly, monkeypatch):
    from loyalty import daily

    monkeypatch.setattr(daily, "_registry", {})
    daily.register("t.noop", order=1)(lambda today: 1)
    run_daily_jobs.apply()  # in this process: the same task_success signal as in a worker
    run = NightlyRun.objects.get()
    assert run.day == timezone.localdate()
    with time_machine.travel(run.finished_at + timedelta(hours=25), tick=False):
        assert client.get("/healthz?strict=1", **JSON).status_code == 200
    with time_machine.travel(run.finished_at + timedelta(hours=27), tick=False):
        response = client.get("/healthz?strict=1", **JSON)
    assert response.status_code == 503
    assert response.json()["checks"]["nightly_job"] == "unavailable"


def test_a_failed_nightly_run_is_not_recorded(nightly, monkeypatch):
    from loyalty import daily

    def broken(today):
        raise ValueError("boom")

    monkeypatch.setattr(daily, "_registry", {})
    daily.register("t.broken", order=1)(broken)
    with pytest.raises(RuntimeError):
        run_daily_jobs.apply()
    assert not NightlyRun.objects.exists()


def test_the_nightly_check_can_be_turned_off(settings):
    settings.HEALTH_NIGHTLY_CHECK = True
    settings.HEALTH_NIGHTLY_MAX_AGE_HOURS = 0
    assert "nightly_job" not in dict(health.checks())


def test_a_successful_run_by_hand_counts_but_catching_up_an_old_day_does_not(monkeypatch):
    from django.core.management import call_command

    from loyalty import daily

    monkeypatch.setattr(daily, "_registry", {})
    daily.register("t.noop", order=1)(lambda today: 1)
    old = timezone.localdate() - timedelta(days=5)
    call_command("run_daily_jobs", "--today", old.isoformat(), stdout=io.StringIO())
    assert not NightlyRun.objects.exists()
    call_command("run_daily_jobs", stdout=io.StringIO())
    assert list(NightlyRun.objects.values_list("day", flat=True)) == [timezone.localdate()]

"""Celery configuration, and a real worker process fed through the broker."""

import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from celery import Celery
from celery.schedules import crontab

from loyalty import tasks  # noqa: F401  (registers the tasks, as a worker does)
from loyalty.celery import app

ROOT = Path(__file__).resolve().parents[2]


def test_tasks_are_acknowledged_late_and_requeued_when_a_worker_dies():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_only_json_crosses_the_broker():
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert app.conf.accept_content == ["json"]


def test_tasks_have_time_limits_and_redis_waits_longer_than_them():
    assert 0 < app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert app.conf.broker_transport_options["visibility_timeout"] > app.conf.task_time_limit


def test_nightly_jobs_run_at_local_time():
    assert app.conf.timezone == "Asia/Ho_Chi_Minh"
    entry = app.conf.beat_schedule["run-daily-jobs"]
    assert entry["task"] in app.tasks
    assert entry["schedule"] == crontab(hour=1, minute=0)


def test_without_a_broker_tasks_run_in_process(settings):
    if os.environ.get("CELERY_BROKER_URL"):
        assert app.conf.task_always_eager is False
    else:
        assert app.conf.task_always_eager is True
        assert app.tasks["loyalty.tasks.ping"].delay().get() == "pong"


def _database_url() -> str:
    """The URL of the database the test runs on (the test database, not the configured one)."""
    from django.db import connection

    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_worker(env_extra: dict):
    broker = os.environ["CELERY_BROKER_URL"]
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "CELERY_RESULT_BACKEND": broker, **env_extra}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "loyalty",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = Celery("test-client", broker=broker, backend=broker)
    client.conf.update(task_serializer="json", accept_content=["json"], result_serializer="json")
    return proc, client, queue


def _stop_worker(proc, client):
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    client.close()


@pytest.fixture
def worker():
    """A real worker process on a private queue, stopped after the test."""
    proc, client, queue = _start_worker({})
    try:
        yield client, queue
    finally:
        _stop_worker(proc, client)


@pytest.mark.worker
def test_a_task_sent_through_the_broker_is_run_by_a_worker_process(worker):
    client, queue = worker
    result = client.send_task("loyalty.tasks.ping", queue=queue)
    assert result.get(timeout=60) == "pong"


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_nightly_entry_point_runs_in_a_worker_against_the_database(store):
    """Points of a purchase mature when a worker runs the daily jobs of the day the return
    window ends: a task through Redis, a worker process, the same PostgreSQL database."""
    from datetime import timedelta

    from django.utils import timezone

    from members.models import PointAccount
    from pos.services.purchases import PurchaseInput, purchase_record
    from tests.factories import MemberFactory

    member = MemberFactory()
    purchase_record(
        store=store,
        data=PurchaseInput(
            external_id="W-1", member=member.card_number, total_amount=Decimal("500000")
        ),
    )
    assert PointAccount.objects.get(pk=member.pk).pending == 50
    due = (timezone.localdate() + timedelta(days=7)).isoformat()
    proc, client, queue = _start_worker({"DATABASE_URL": _database_url()})
    try:
        body = client.send_task(
            "loyalty.tasks.run_daily_jobs", kwargs={"today": due}, queue=queue
        ).get(timeout=90)
    finally:
        _stop_worker(proc, client)
    assert body["today"] == due and body["ok"] is True
    assert "points.mature_pending" in [job["name"] for job in body["jobs"]]
    account = PointAccount.objects.get(pk=member.pk)
    assert (account.available, account.pending) == (50, 0)

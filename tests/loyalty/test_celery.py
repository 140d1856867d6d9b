"""Celery configuration, and a real worker process fed through the broker."""

import os
import subprocess
import sys
import uuid
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


@pytest.fixture
def worker():
    """A real worker process on a private queue, stopped after the test."""
    broker = os.environ["CELERY_BROKER_URL"]
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "CELERY_RESULT_BACKEND": broker}
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
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    client = Celery("test-client", broker=broker, backend=broker)
    client.conf.update(task_serializer="json", accept_content=["json"], result_serializer="json")
    try:
        yield client, queue
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        client.close()


@pytest.mark.worker
def test_a_task_sent_through_the_broker_is_run_by_a_worker_process(worker):
    client, queue = worker
    result = client.send_task("loyalty.tasks.ping", queue=queue)
    assert result.get(timeout=60) == "pong"


@pytest.mark.worker
def test_the_nightly_entry_point_runs_in_the_worker(worker):
    client, queue = worker
    result = client.send_task(
        "loyalty.tasks.run_daily_jobs", kwargs={"today": "2026-11-20"}, queue=queue
    )
    body = result.get(timeout=60)
    assert body["today"] == "2026-11-20"
    assert body["ok"] is True
    assert isinstance(body["jobs"], list)

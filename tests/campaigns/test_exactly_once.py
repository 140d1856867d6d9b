"""Exactly once, on PostgreSQL: workers claiming concurrently take different sends (``SKIP
LOCKED``), and a real Celery worker process killed in the middle of a campaign, a broker that
lost the queued tasks and the daily job run twice more neither send anything twice nor lose
anything."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection, connections
from django.utils import timezone

from campaigns.models import Campaign, Notification, Send
from campaigns.services import campaign_deliver, campaign_fan_out
from members.models import PointAccount, PointEntry
from members.selectors import ledger_discrepancies
from tests.campaigns.campaign_helpers import make_campaign, pause_defaults
from tests.campaigns.sms_stub import SmsStub
from tests.factories import MemberFactory

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    """The URL of the database the test runs on (the test database)."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """A real ``celery worker`` process (solo pool) on a private queue, which is also the
    queue its campaign tasks go to (``CAMPAIGNS_QUEUE``)."""

    def __init__(self, queue: str, env: dict):
        broker = os.environ["CELERY_BROKER_URL"]
        self.queue = queue
        self.proc = subprocess.Popen(
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
            env={
                **os.environ,
                "CELERY_RESULT_BACKEND": broker,
                "CAMPAIGNS_QUEUE": queue,
                "DATABASE_URL": _database_url(),
                **env,
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.client = Celery("test-client", broker=broker, backend=broker)
        self.client.conf.update(
            task_serializer="json", accept_content=["json"], result_serializer="json"
        )

    def run_daily_jobs(self, today: str) -> dict:
        return self.client.send_task(
            "loyalty.tasks.run_daily_jobs", kwargs={"today": today}, queue=self.queue
        ).get(timeout=60)

    def kill(self):
        """Like the OOM killer: no goodbye, the task in hand is never acknowledged."""
        self.proc.kill()
        self.proc.wait(timeout=20)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def purge(self):
        """The broker loses what was queued (a Redis restart without persistence)."""
        with self.client.connection_for_write() as conn:
            conn.default_channel.queue_purge(self.queue)

    def close(self):
        self.stop()
        self.client.close()


def _wait_until(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_campaign_sends_nothing_twice_and_loses_nothing():
    pause_defaults()
    members = [MemberFactory(sms_consent=True) for _ in range(120)]
    campaign = make_campaign(
        "flash",
        trigger=Campaign.Trigger.ONE_OFF,
        send_at=timezone.now() - timedelta(hours=1),
        by_sms=True,
        in_app=True,
        reward_kind="points",
        reward_points=10,
    )
    today = timezone.localdate().isoformat()
    queue = f"test-campaigns-{uuid.uuid4().hex[:8]}"
    env = {
        "SMS_BACKEND": "campaigns.channels.sms.HttpBackend",
        "SMS_HTTP_RETRIES": "0",
        "CAMPAIGNS_CLAIM_TIMEOUT": "2",
        "CAMPAIGNS_SMS_QUIET_HOURS": "00:00-00:00",  # whatever the time the test runs at
    }
    with SmsStub(delay=0.02) as stub:
        stub.wait_for = 30
        env["SMS_HTTP_URL"] = stub.url
        first = Worker(queue, env)
        try:
            # The nightly run: fan-out, then the same worker starts delivering.
            body = first.run_daily_jobs(today)
            assert body["ok"], body
            assert stub.first_calls.wait(timeout=60), "the worker never started sending"
            first.kill()
            first.purge()
        finally:
            first.close()
        done_before = Send.objects.filter(status=Send.Status.SENT).count()
        in_hand = Send.objects.filter(status=Send.Status.SENDING)
        assert 0 < done_before < len(members)
        assert in_hand.exists()  # killed in the middle of a chunk
        last_claim = max(in_hand.values_list("claimed_at", flat=True))
        # Those sends are taken over once their claim is older than the timeout.
        _wait_until(lambda: timezone.now() - last_claim > timedelta(seconds=2.5), 10, "the timeout")
        second = Worker(queue, env)
        try:
            for _run in range(2):  # the daily job run again, twice
                body = second.run_daily_jobs(today)
                assert body["ok"], body
                _wait_until(
                    lambda: not Send.objects.exclude(status=Send.Status.SENT).exists(),
                    60,
                    "every send to be sent",
                )
        finally:
            second.close()

    sends = list(Send.objects.filter(campaign=campaign))
    assert len(sends) == len(members)  # one per member: nothing lost, nothing doubled
    assert {send.status for send in sends} == {"sent"}
    assert any(send.attempts == 2 for send in sends)  # some were taken over
    keys = {str(send.pk) for send in sends}
    # The provider delivered each member's SMS once; repeats carried the same key.
    assert set(stub.delivered) == keys
    repeats = Counter(request["key"] for request in stub.requests)
    assert max(repeats.values()) <= 2 and sum(repeats.values()) <= len(keys) + 1
    assert Notification.objects.filter(send__campaign=campaign).count() == len(members)
    entries = PointEntry.objects.filter(idempotency_key__in=[f"send:{k}" for k in keys])
    assert entries.count() == len(members)
    assert set(
        PointAccount.objects.filter(pk__in=[m.pk for m in members]).values_list(
            "available", flat=True
        )
    ) == {10}
    assert ledger_discrepancies() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_delivering_at_once_claim_different_sends():
    pause_defaults()
    members = [MemberFactory() for _ in range(250)]
    campaign = make_campaign("crowd", reward_kind="points", reward_points=5)
    campaign_fan_out(campaign=campaign, today=timezone.localdate())
    outcomes: list[Counter] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker():
        try:
            start.wait()
            outcomes.append(campaign_deliver(campaign_id=campaign.pk).outcomes)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    total = sum(outcomes, Counter())
    assert total == Counter({"sent": len(members)})  # none processed twice, none lost
    assert sum(1 for counts in outcomes if counts) >= 2  # they did share the work
    assert Notification.objects.filter(send__campaign=campaign).count() == len(members)
    assert PointEntry.objects.filter(idempotency_key__startswith="send:").count() == len(members)
    assert ledger_discrepancies() == []

"""Prometheus: /metrics only for allowed addresses or the token; requests by view; the
business counters after commit; Celery task outcomes; several processes added up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from prometheus_client import REGISTRY

from loyalty import tasks
from loyalty.celery import app
from members.selectors import program_get
from members.services.points import points_grant
from tests.pos.helpers import NOW, PosClient

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "m" * 32


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db
def test_metrics_from_the_local_address(client):
    client.get("/health/")
    response = client.get("/metrics")  # the test client's REMOTE_ADDR is 127.0.0.1
    assert response.status_code == 200
    text = response.content.decode()
    assert 'django_http_requests_total_by_view_transport_method_total{method="GET",' in text
    assert 'view="health"' in text
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text
    assert "loyalty_purchases_recorded_total" in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "extra",
    [
        {"REMOTE_ADDR": "203.0.113.9"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"},  # via a proxy
        {"REMOTE_ADDR": "203.0.113.9", "HTTP_AUTHORIZATION": "Bearer wrong"},
    ],
    ids=["remote", "proxied", "no-token-set"],
)
def test_metrics_are_a_404_for_anyone_else(client, extra):
    assert client.get("/metrics", **extra).status_code == 404


@pytest.mark.django_db
def test_metrics_with_the_token_from_anywhere(client, settings):
    settings.METRICS_TOKEN = TOKEN
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **remote).status_code == 200
    assert (
        client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x", **remote).status_code == 404
    )
    assert client.get("/metrics", **remote).status_code == 404


@pytest.mark.django_db
def test_allowed_networks_come_from_settings(client, settings):
    import ipaddress

    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.1.0.0/16")]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics").status_code == 404  # 127.0.0.1 no longer listed


@pytest.mark.django_db
def test_a_purchase_counts_once_with_its_points(
    client, store_key, member, django_capture_on_commit_callbacks
):
    _row, raw = store_key
    pos = PosClient(client, raw)
    before = value("loyalty_purchases_recorded_total")
    issued = value("loyalty_points_issued_total", kind="earn")
    body = {"external_id": "R-METRICS-1", "member": member.card_number, "total_amount": "250000"}
    # The test's transaction never commits: the callbacks run as a commit would run them.
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        first = pos.purchase(body)
        again = pos.purchase(body)  # a replay: the same answer, not a second purchase
    assert first.status_code == 201, first.content
    assert again.status_code in (200, 201)
    points = first.json()["points_earned"]
    assert points > 0
    assert value("loyalty_purchases_recorded_total") == before + 1
    assert value("loyalty_points_issued_total", kind="earn") == issued + points


@pytest.mark.django_db
def test_points_spent_count_after_commit(member, django_capture_on_commit_callbacks):
    from django.db import transaction

    from members.models import PointAccount
    from members.services import points as ledger

    points_grant(member=member, points=500, idempotency_key="m1", reason="t", program=program_get())
    spent = value("loyalty_points_spent_total")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        account = ledger.account_lock(member.pk)
        ledger.spend_locked(account, points=200)
        assert value("loyalty_points_spent_total") == spent  # not before the commit
    assert value("loyalty_points_spent_total") == spent + 200
    assert PointAccount.objects.get(pk=member.pk).available == 300


@pytest.mark.django_db
def test_a_rolled_back_spend_does_not_count(member, django_capture_on_commit_callbacks):
    from django.db import transaction

    from members.services import points as ledger

    points_grant(member=member, points=500, idempotency_key="m2", reason="t", program=program_get())
    spent = value("loyalty_points_spent_total")
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        ledger.spend_locked(ledger.account_lock(member.pk), points=100)
        raise RuntimeError("the caller fails after")
    assert callbacks == []
    assert value("loyalty_points_spent_total") == spent


@app.task(name="tests.ops.metrics_fails", bind=True)
def failing_task(self):
    raise ValueError("nope")


def test_task_outcomes_by_name():
    ok = value("loyalty_celery_tasks_total", task="loyalty.tasks.ping", outcome="success")
    bad = value("loyalty_celery_tasks_total", task="tests.ops.metrics_fails", outcome="failure")
    assert tasks.ping.apply().get() == "pong"
    failing_task.apply(throw=False)  # recorded as a failure, not raised here
    assert (
        value("loyalty_celery_tasks_total", task="loyalty.tasks.ping", outcome="success") == ok + 1
    )
    assert (
        value("loyalty_celery_tasks_total", task="tests.ops.metrics_fails", outcome="failure")
        == bad + 1
    )


INCREMENT = (
    "import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'loyalty.settings'); "
    "from loyalty import metrics; metrics.PURCHASES.inc(); "
    "metrics.TASKS.labels(task='t', outcome='success').inc(2)"
)
COLLECT = (
    "from loyalty import metrics; "
    "r = metrics.registry(); "
    "print(r.get_sample_value('loyalty_purchases_recorded_total'), "
    "r.get_sample_value('loyalty_celery_tasks_total', {'task': 't', 'outcome': 'success'}))"
)


def _python(code: str, directory: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_processes_add_up_in_multiprocess_mode_and_a_restart_clears(tmp_path):
    directory = tmp_path / "prom"
    directory.mkdir()
    _python(INCREMENT, directory)
    _python(INCREMENT, directory)
    assert _python(COLLECT, directory) == "2.0 4.0"
    clear = "from loyalty import metrics; metrics.clear_multiprocess_dir()"
    _python(clear, directory)
    # What the earlier processes counted is gone (a process keeps only its own open files).
    assert _python(COLLECT, directory).split()[0] in {"0.0", "None"}


def test_a_process_started_before_the_multiprocess_dir_exists_creates_it(tmp_path):
    # migrate runs with the web's environment before gunicorn has made the directory.
    directory = tmp_path / "not" / "yet"
    _python(INCREMENT, directory)
    assert list(directory.glob("counter_*.db"))


@pytest.mark.worker
def test_a_worker_serves_its_task_metrics_on_its_port(tmp_path):
    """A real worker (prefork, two children) with CELERY_METRICS_PORT: the children's task
    outcomes are added up on the worker's own /metrics."""
    import socket
    import time
    import urllib.request
    import uuid

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    queue = f"test-metrics-{uuid.uuid4().hex[:8]}"
    broker = os.environ["CELERY_BROKER_URL"]
    env = {
        **os.environ,
        "CELERY_RESULT_BACKEND": broker,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "CELERY_METRICS_PORT": str(port),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "loyalty", "worker", "--pool=prefork",
         "--concurrency=2", "-Q", queue, "--without-heartbeat", "--without-gossip",
         "--without-mingle", "--loglevel=warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        from celery import Celery

        client = Celery("loyalty", broker=broker, backend=broker)
        for _ in range(3):
            assert client.send_task("loyalty.tasks.ping", queue=queue).get(timeout=60) == "pong"
        text = ""
        for _ in range(100):  # the server starts with the worker; the reply is already in
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    text = r.read().decode()
                if 'task="loyalty.tasks.ping"' in text:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        line = next(
            (
                row
                for row in text.splitlines()
                if row.startswith("loyalty_celery_tasks_total")
                and 'task="loyalty.tasks.ping"' in row
                and 'outcome="success"' in row
            ),
            None,
        )
        assert line is not None, text[-2000:]
        assert float(line.rsplit(" ", 1)[1]) == 3.0
    finally:
        worker.terminate()
        worker.wait(timeout=60)

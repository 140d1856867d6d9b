"""The shipped gunicorn.conf.py, with production settings: the access log has no query
string (the POS lookup carries phones there), masks tokens in paths, carries the request id,
and /metrics adds up the workers (multiprocess mode)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - a local URL
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """gunicorn (two workers) on a free port, from the repository root as deployed."""
    tmp = tmp_path_factory.mktemp("gunicorn")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "CACHE_", "EMAIL_", "LOG_"))
        and k not in {"PROMETHEUS_MULTIPROC_DIR", "PYTEST_CURRENT_TEST"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="loyalty.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="g" * 60,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        EMAIL_URL="smtp://127.0.0.1:9",
        LOYALTY_VAR_DIR=str(tmp / "var"),
    )
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stderr
    port = _free_port()
    log = tmp / "gunicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(GUNICORN), "loyalty.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "2"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # until it listens (the workers load Django first)
            try:
                if _get(f"{base}/health/")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, log.read_text()
            time.sleep(0.1)
        yield base, log, tmp
    finally:
        server.terminate()
        server.wait(timeout=60)


def _log_after(log: Path, marker: str) -> str:
    """The log once the access line of the request with id ``marker`` has been written."""
    for _ in range(100):
        text = log.read_text()
        if any(marker in line and "gunicorn.access" in line for line in text.splitlines()):
            return text
        time.sleep(0.05)
    return log.read_text()


def test_the_access_log_has_no_query_string_and_carries_the_request_id(served):
    base, log, _tmp = served
    status, headers = _get(
        f"{base}/api/v1/pos/members/lookup?phone=0912345678&q=mai%40example.com",
        {"X-Request-ID": "lookup-req-0001"},
    )
    assert status in (401, 403)  # no key: refused, and still logged
    assert headers["X-Request-ID"] == "lookup-req-0001"
    text = _log_after(log, "lookup-req-0001")
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    (access,) = [  # JSON, as LOG_FORMAT defaults to with DEBUG off
        r for r in records if r["logger"] == "gunicorn.access" and "lookup-req-0001" in str(r)
    ]
    assert access["path"] == "/api/v1/pos/members/lookup"
    assert access["status"] == str(status)
    assert access["request_id"] == "lookup-req-0001"
    for secret in ("0912345678", "mai%40example.com", "mai@example.com", "phone=", "q="):
        assert secret not in text
    (denied,) = [r for r in records if r["logger"] == "django.request"]
    assert denied["request"] == "GET /api/v1/pos/members/lookup"
    assert denied["request_id"] == "lookup-req-0001"


def test_tokens_in_paths_are_masked_in_every_log_line(served):
    base, log, _tmp = served
    token = "SeCrEtUnsubToken123"
    _get(f"{base}/unsubscribe/{token}/", {"X-Request-ID": "unsub-req-0002"})
    _get(f"{base}/accounts/password/reset/key/1a-ResetKey987/", {"X-Request-ID": "reset-req-0003"})
    text = _log_after(log, "reset-req-0003")
    assert "unsub-req-0002" in text
    assert token not in text and "ResetKey987" not in text
    assert "/unsubscribe/[redacted]/" in text


def test_metrics_add_up_the_workers(served):
    base, _log, tmp = served
    for _ in range(6):
        _get(f"{base}/health/")
    request = urllib.request.Request(f"{base}/metrics")  # noqa: S310 - a local URL
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        text = response.read().decode()
    health = [
        line
        for line in text.splitlines()
        if line.startswith("django_http_requests_total_by_view_transport_method_total")
        and 'view="health"' in line
    ]
    assert health, text[:2000]
    assert float(health[0].rsplit(" ", 1)[1]) >= 6
    # Multiprocess mode, in the var directory gunicorn.conf.py chose.
    assert list((tmp / "var" / "prometheus" / "web").glob("*.db"))

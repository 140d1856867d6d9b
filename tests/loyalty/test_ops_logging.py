"""Logs: personal data and secrets masked in every record, JSON fields, the request id, the
store's code on POS calls and the task id in tasks (loyalty.logs, loyalty.request_context)."""

from __future__ import annotations

import io
import json
import logging
import subprocess

import pytest
import time_machine

from loyalty import logs, request_context
from loyalty.celery import app
from tests.pos.helpers import NOW, PosClient
from tests.processes import run_python


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("lookup 0912345678", "0912345678"),
        ("lookup 0912 345 678", "0912 345 678"),
        ("lookup 0912.345.678", "0912.345.678"),
        ("lookup +84912345678", "+84912345678"),
        ("lookup +84 912 345 678", "+84 912 345 678"),
        ("lookup 84912345678", "84912345678"),
        ("lookup %2B84912345678", "%2B84912345678"),
        ("E.164 +14155552671", "+14155552671"),
        ("mail mai@example.com", "mai@example.com"),
        ("GET /x?email=mai%40example.com", "mai%40example.com"),
        ("GET /api/v1/pos/members/lookup?q=ABC123", "ABC123"),
        ("GET /x?token=s3cr3t-t0k3n&page=2", "s3cr3t-t0k3n"),
        ("GET /x?key=k3y-value", "k3y-value"),
        ("password=hunter2hunter2", "hunter2hunter2"),
        ("Authorization: Api-Key abcdefgh12345678", "abcdefgh12345678"),
        ('{"Authorization": "Bearer eyJhbGciOi.x.y"}', "eyJhbGciOi"),
        ("Not Found: /unsubscribe/Zm9vYmFy-token/", "Zm9vYmFy-token"),
        ("/accounts/password/reset/key/1a-c5b7e2f4d1/", "c5b7e2f4d1"),
        ("/accounts/confirm-email/MTIz:1abc:xyz/", "MTIz:1abc:xyz"),
        ("GET /api/v1/pos/vouchers/VCH7KQ2M/", "VCH7KQ2M"),
        ("broker redis://user:pa55word@redis:6379/0", "pa55word"),
    ],
)
def test_mask_hides_phones_emails_and_secrets(text, secret):
    masked = logs.mask(text)
    assert secret not in masked
    assert "[" in masked  # a placeholder says something was there


def test_mask_leaves_amounts_card_numbers_dates_and_ids_alone():
    text = "purchase R-000123 card 412345678903 total 1500000 at 2026-03-10 10:00:00,123 id 987"
    assert logs.mask(text) == text


def _capture(level=logging.DEBUG):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.addFilter(logs.MaskFilter())
    handler.setFormatter(logs.json_formatter())
    handler.setLevel(level)
    return stream, handler


@pytest.fixture
def json_lines():
    """Every record the root logger handles during the test, as the JSON it writes."""
    stream, handler = _capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_a_record_is_masked_in_its_arguments_traceback_and_extra(json_lines):
    log = logging.getLogger("tests.ops")
    try:
        raise ValueError("no member with phone 0987654321")
    except ValueError:
        log.exception("lookup of %s by %s failed", "0912345678", "mai@example.com")
    log.info("member contact", extra={"contact": "binh@example.com"})
    out = json.dumps(json_lines())
    for secret in ("0912345678", "0987654321", "mai@example.com", "binh@example.com"):
        assert secret not in out
    first, second = json_lines()
    assert first["message"] == "lookup of [phone] by [email] failed"
    assert "ValueError: no member with phone [phone]" in first["exc_info"]
    assert second["contact"] == "[email]"


def test_json_records_carry_the_context_fields(json_lines):
    logging.getLogger("tests.ops").warning("hello")
    (line,) = json_lines()
    assert {"time", "level", "logger", "message", "request_id", "store", "task_id", "task_name"}
    assert line["level"] == "WARNING" and line["logger"] == "tests.ops"
    assert line["message"] == "hello"
    assert line["request_id"] == line["store"] == line["task_id"] == line["task_name"] == "-"


def test_django_request_logs_the_path_masked(json_lines):
    logging.getLogger("django.request").warning("Not Found: %s", "/unsubscribe/abcDEF123456/")
    (line,) = json_lines()
    assert line["message"] == "Not Found: /unsubscribe/[redacted]/"


@pytest.mark.django_db
def test_the_request_id_comes_back_and_is_on_the_records(client, json_lines):
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="till-7f3a-0001")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "till-7f3a-0001"
    not_found = [line for line in json_lines() if line["logger"] == "django.request"]
    assert not_found and not_found[0]["request_id"] == "till-7f3a-0001"
    # Cleared once the request is over.
    assert request_context.current()["request_id"] is None


@pytest.mark.django_db
@pytest.mark.parametrize("given", ["has space", "x" * 65, "ünicode", 'quote"d', ""])
def test_an_unsafe_request_id_is_replaced(client, given):
    response = client.get("/health/", HTTP_X_REQUEST_ID=given)
    rid = response["X-Request-ID"]
    assert rid != given
    assert len(rid) == 32 and rid.isalnum()


@pytest.mark.django_db
def test_a_pos_call_logs_the_stores_code_and_no_phone(client, store_key, json_lines):
    _row, raw = store_key
    pos = PosClient(client, raw)
    with time_machine.travel(NOW, tick=False):
        response = pos.lookup("0912345678")  # nobody has it: 404, logged by django.request
    assert response.status_code == 404
    lines = [line for line in json_lines() if line["logger"] == "django.request"]
    assert lines, json_lines()
    assert lines[0]["store"] == "HCM01"
    assert lines[0]["request_id"] == response["X-Request-ID"]
    assert "0912345678" not in json.dumps(json_lines())


@app.task(name="tests.ops.logging_task")
def logging_task(phone):
    logging.getLogger("tests.ops.task").info("texting %s", phone)
    return "done"


def test_a_task_logs_its_id_and_name(json_lines, settings):
    result = logging_task.apply(args=["0912345678"])
    assert result.get() == "done"
    (line,) = [line for line in json_lines() if line["logger"] == "tests.ops.task"]
    assert line["task_id"] == result.id
    assert line["task_name"] == "tests.ops.logging_task"
    assert line["message"] == "texting [phone]"
    assert request_context.current()["task_id"] is None  # cleared after the task


@pytest.mark.django_db
def test_the_sms_log_backend_logs_neither_phone_nor_text(caplog):
    from campaigns.channels.sms import LogBackend

    with caplog.at_level(logging.INFO, logger="campaigns.channels.sms"):
        LogBackend().send(key="42", phone="+84912345678", text="Your code is 991177")
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "SMS 42" in logged
    assert "+84912345678" not in logged and "991177" not in logged
    assert "***678" in logged


PROD = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "s" * 60,
    "DJANGO_ALLOWED_HOSTS": "loyalty.example.com",
    "EMAIL_URL": "smtp://127.0.0.1:9",
}
PROBE = (
    "import django, logging; django.setup(); "
    "logging.getLogger('probe').warning('member %s', '0912345678')"
)


def _run(env: dict, tmp_path) -> subprocess.CompletedProcess:
    return run_python(PROBE, env, tmp_path)


def test_production_logs_json_lines_and_log_format_overrides(tmp_path):
    result = _run(PROD, tmp_path)
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "member [phone]"
    assert line["logger"] == "probe" and line["request_id"] == "-"

    plain = _run({**PROD, "LOG_FORMAT": "plain"}, tmp_path)
    assert plain.returncode == 0, plain.stderr
    last = plain.stderr.strip().splitlines()[-1]
    assert "WARNING probe [req=- store=-" in last and last.endswith("member [phone]")

    bad = _run({**PROD, "LOG_FORMAT": "xml"}, tmp_path)
    assert bad.returncode != 0 and "LOG_FORMAT" in bad.stderr

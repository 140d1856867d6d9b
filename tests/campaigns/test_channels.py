"""The SMS backends (the default log, the HTTP provider with retries and an idempotency
key) and the holiday calendar."""

from __future__ import annotations

from datetime import date

import pytest

from campaigns.channels import ChannelError, PermanentChannelError
from campaigns.channels.sms import HttpBackend, LogBackend
from campaigns.models import ProgramDate, SmsLog
from campaigns.observances import holiday_choices, holiday_date, mid_autumn_date
from tests.campaigns.sms_stub import SmsStub


class QuickHttpBackend(HttpBackend):
    backoff_seconds = 0  # no waiting between tries in tests


@pytest.fixture
def sms_settings(settings):
    settings.SMS_HTTP_TOKEN = "secret-token"
    settings.SMS_HTTP_RETRIES = 2
    settings.SMS_SENDER = "BRAND"
    return settings


def test_the_http_backend_sends_the_key_and_retries_server_errors(sms_settings):
    with SmsStub(answers=[503, 500]) as stub:
        QuickHttpBackend(url=stub.url).send(key="42", phone="+84912345678", text="Xin chào")
    assert [r["key"] for r in stub.requests] == ["42", "42", "42"]
    request = stub.requests[-1]
    assert request == {
        "key": "42",
        "auth": "Bearer secret-token",
        "to": "+84912345678",
        "text": "Xin chào",
        "sender": "BRAND",
        "reference": "42",
    }
    assert list(stub.delivered) == ["42"]


def test_the_http_backend_gives_up_after_its_retries_to_be_tried_later(sms_settings):
    with SmsStub(answers=[500, 502, 503, 200]) as stub, pytest.raises(ChannelError) as caught:
        QuickHttpBackend(url=stub.url).send(key="7", phone="+84912345678", text="x")
    assert not isinstance(caught.value, PermanentChannelError)
    assert len(stub.requests) == 3 and stub.delivered == {}


def test_a_refused_message_is_final_and_a_known_key_is_success(sms_settings):
    with SmsStub(answers=[400, 409]) as stub:
        backend = QuickHttpBackend(url=stub.url)
        with pytest.raises(PermanentChannelError):
            backend.send(key="1", phone="+84912345678", text="x")
        backend.send(key="2", phone="+84912345678", text="x")  # 409: already delivered
    assert len(stub.requests) == 2


def test_an_unreachable_provider_is_tried_again_later(sms_settings):
    with SmsStub() as stub:
        url = stub.url
    with pytest.raises(ChannelError):
        QuickHttpBackend(url=url).send(key="1", phone="+84912345678", text="x")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://sms.example.com/", "sms.example.com"])
def test_the_http_backend_only_reaches_http_urls(sms_settings, url):
    with pytest.raises(PermanentChannelError):
        QuickHttpBackend(url=url)


@pytest.mark.django_db
def test_the_log_backend_keeps_one_sms_per_key(caplog):
    backend = LogBackend()
    backend.send(key="9", phone="+84912345678", text="Chào")
    backend.send(key="9", phone="+84912345678", text="Chào")
    assert SmsLog.objects.get().key == "9"
    assert sum("SMS 9" in record.getMessage() for record in caplog.records) == 1


# ---------------------------------------------------------------------------------------------
# The calendar


@pytest.mark.parametrize(
    ("code", "year", "day"),
    [
        ("tet", 2025, date(2025, 1, 29)),
        ("tet", 2026, date(2026, 2, 17)),
        ("tet", 2027, date(2027, 2, 6)),
        ("hung-kings", 2026, date(2026, 4, 26)),
        ("hung-kings", 2027, date(2027, 4, 16)),
        ("mid-autumn", 2025, date(2025, 10, 6)),
        ("mid-autumn", 2026, date(2026, 9, 25)),
        ("new-year", 2027, date(2027, 1, 1)),
        ("national-day", 2026, date(2026, 9, 2)),  # not the day off next to it (1/9)
        ("reunification", 2026, date(2026, 4, 30)),
    ],
)
def test_holidays_of_the_vietnamese_calendar(code, year, day):
    assert holiday_date(code, year) == day


def test_mid_autumn_comes_from_the_lunisolar_calendar_every_year():
    days = [mid_autumn_date(year) for year in range(2025, 2036)]
    assert all(day is not None and day.month in (9, 10) for day in days)


@pytest.mark.django_db
def test_programme_dates_are_seeded_and_editable():
    assert holiday_date("womens-day", 2026) == date(2026, 3, 8)
    assert holiday_date("teachers-day", 2026) == date(2026, 11, 20)
    assert holiday_date("christmas-eve", 2026) == date(2026, 12, 24)
    ProgramDate.objects.create(
        code="brand-day", name="Sinh nhật thương hiệu", month=7, day=15, year=2027
    )
    assert holiday_date("brand-day", 2026) is None
    assert holiday_date("brand-day", 2027) == date(2027, 7, 15)
    ProgramDate.objects.filter(code="womens-day").update(is_active=False)
    assert holiday_date("womens-day", 2026) is None
    codes = [code for code, _label in holiday_choices()]
    assert {"tet", "hung-kings", "mid-autumn", "brand-day"} <= set(codes)
    assert "womens-day" not in codes
    assert holiday_date("no-such-day", 2026) is None

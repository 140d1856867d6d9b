"""A test SMS backend for login codes (``AUTH_SMS_BACKEND``): every SMS lands in ``OUTBOX``
(one list for the process, so a live server thread and the test read the same one)."""

from __future__ import annotations

import re
import threading

import pytest

OUTBOX: list[dict] = []
_LOCK = threading.Lock()
BACKEND = "tests.members.sms_outbox.OutboxBackend"


class OutboxBackend:
    def send(self, *, key: str, phone: str, text: str) -> None:
        with _LOCK:
            OUTBOX.append({"key": key, "phone": phone, "text": text})


def last_code(phone: str | None = None) -> str:
    """The six-digit code of the last SMS (to ``phone``, when given)."""
    for sms in reversed(OUTBOX):
        if phone is None or sms["phone"] == phone:
            match = re.search(r"\b(\d{6})\b", sms["text"])
            if match:
                return match.group(1)
    raise AssertionError(f"no code sent (outbox: {len(OUTBOX)} SMS)")


@pytest.fixture
def sms_outbox(settings):
    """Login SMS go to ``OUTBOX``; allauth's rate-limit counters (in the cache) start at zero."""
    from django.core.cache import cache

    settings.AUTH_SMS_BACKEND = BACKEND
    cache.clear()
    OUTBOX.clear()
    yield OUTBOX
    OUTBOX.clear()
    cache.clear()

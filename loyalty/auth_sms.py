"""SMS that log people in (one-time codes): sent straight through the SMS provider, never
through the marketing machinery, never kept in a table.

Marketing SMS go through ``campaigns`` (consent, quiet hours, the send log). A login code is
none of that: it is asked for by the person, needs no consent, must arrive now, and must not
sit readable in the SMS log staff can open. So ``auth_sms_send`` calls the backend named by
``AUTH_SMS_BACKEND`` directly, with a fresh idempotency key per message.

``AUTH_SMS_BACKEND`` defaults to ``SMS_BACKEND`` unless that is the log backend (it keeps the
text in the SMS log); then ``ConsoleBackend`` is used: with DEBUG on it writes the text, code
included, to the server log (development: read the code from ``make run``'s output); with
DEBUG off it writes only that an SMS could not be delivered, never the text.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.utils.module_loading import import_string

from loyalty.logs import mask_phone

logger = logging.getLogger(__name__)

_KEEPS_TEXT = {"campaigns.channels.sms.LogBackend"}
CONSOLE_BACKEND = "loyalty.auth_sms.ConsoleBackend"


class ConsoleBackend:
    """No SMS provider: development shows the message in the server log (DEBUG on only)."""

    def send(self, *, key: str, phone: str, text: str) -> None:
        if settings.DEBUG:
            # Development only: the text holds the code, which is the point here. The phone
            # is masked to its last digits (the log filter masks whole numbers anyway).
            logger.warning("Login SMS to %s (DEBUG, not sent): %s", mask_phone(phone), text)
        else:
            logger.error(
                "Login SMS %s to %s not delivered: no SMS provider (set SMS_BACKEND or "
                "AUTH_SMS_BACKEND to an HTTP backend)",
                key,
                mask_phone(phone),
            )


def auth_sms_backend_path() -> str:
    path = getattr(settings, "AUTH_SMS_BACKEND", None)
    if path:
        return path
    return CONSOLE_BACKEND if settings.SMS_BACKEND in _KEEPS_TEXT else settings.SMS_BACKEND


def auth_sms_send(*, phone: str, text: str) -> None:
    """Send one SMS now. A provider failure is logged (phone masked, no text) and swallowed:
    the person sees the usual "code sent" page and may ask for another."""
    key = f"auth-{uuid.uuid4().hex}"
    try:
        import_string(auth_sms_backend_path())().send(key=key, phone=phone, text=text)
    except Exception:  # a provider error must not turn a login page into a 500
        logger.exception("Login SMS %s to %s failed", key, mask_phone(phone))

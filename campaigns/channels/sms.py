"""SMS: the channel, and the backends behind ``SMS_BACKEND`` (a dotted path).

- ``LogBackend`` (default): keeps each SMS in the SMS log (admin), once per idempotency
  key, and logs that it did (the phone masked, not the text).
- ``HttpBackend``: posts ``{"to", "text", "sender", "reference"}`` as JSON to
  ``SMS_HTTP_URL`` with ``Authorization: Bearer SMS_HTTP_TOKEN`` and an
  ``Idempotency-Key`` header (the send's id), retrying connection errors, timeouts, 429 and
  5xx with back-off (``SMS_HTTP_RETRIES``); any other 4xx is final, 409 (the key was seen
  already) is success.

A backend is a class with ``send(*, key, phone, text)``; it raises ``ChannelError`` to be
tried again later and ``PermanentChannelError`` never to be.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.utils.module_loading import import_string

from campaigns.channels import Channel, ChannelError, Outgoing, PermanentChannelError
from campaigns.models import SmsLog
from loyalty.logs import mask_phone

logger = logging.getLogger(__name__)


class SmsBackend:
    def send(self, *, key: str, phone: str, text: str) -> None:
        raise NotImplementedError


class LogBackend(SmsBackend):
    """Keeps each SMS in the SMS log (admin). The server log gets the send's key, the phone's
    last three digits and the text's length, never the text (it can hold a code or a link)
    nor the number, with DEBUG on or off: a chain without an SMS provider may run this in
    production, so it is allowed there, and its log lines are safe to ship."""

    def send(self, *, key: str, phone: str, text: str) -> None:
        _row, created = SmsLog.objects.get_or_create(
            key=key, defaults={"phone": phone, "text": text}
        )
        if created:
            logger.info(
                "SMS %s to %s kept in the SMS log (%d characters)",
                key,
                mask_phone(phone),
                len(text),
            )


class HttpBackend(SmsBackend):
    backoff_seconds = 0.5  # doubled after each try

    def __init__(self, *, url: str | None = None, token: str | None = None):
        self.url = url or settings.SMS_HTTP_URL
        self.token = settings.SMS_HTTP_TOKEN if token is None else token
        if not self.url:
            raise PermanentChannelError("SMS_HTTP_URL is not set")
        if urllib.parse.urlsplit(self.url).scheme not in ("https", "http"):
            # urlopen would also read file: and ftp: URLs; the provider is reached over HTTP.
            raise PermanentChannelError("SMS_HTTP_URL must be an http(s) URL")

    def _post(self, key: str, body: bytes) -> int:
        request = urllib.request.Request(  # noqa: S310 - the provider's URL from settings
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": key,
                **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.SMS_HTTP_TIMEOUT) as response:  # noqa: S310  # nosec B310  # an http(s) URL: checked in __init__
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def send(self, *, key: str, phone: str, text: str) -> None:
        body = json.dumps(
            {"to": phone, "text": text, "sender": settings.SMS_SENDER, "reference": key}
        ).encode()
        tries = settings.SMS_HTTP_RETRIES + 1
        problem = ""
        for attempt in range(tries):
            if attempt:
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            try:
                status = self._post(key, body)
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                problem = f"SMS provider unreachable: {exc}"
                continue
            if 200 <= status < 300 or status == 409:
                return
            if status == 429 or status >= 500 or status == 408:
                problem = f"SMS provider answered {status}"
                continue
            raise PermanentChannelError(f"SMS provider refused the message ({status})")
        raise ChannelError(problem)


def sms_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()


class SmsChannel(Channel):
    code = "sms"

    def consented(self, member) -> bool:
        return bool(member.sms_consent)

    def address(self, member) -> str:
        return member.phone or ""

    def deliver(self, outgoing: Outgoing) -> None:
        sms_backend().send(key=outgoing.key, phone=outgoing.address, text=outgoing.message.sms)

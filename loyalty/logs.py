"""Logging: personal data and secrets masked in every record, and the request's context.

``settings.LOGGING`` puts two filters on the root handlers:

- ``MaskFilter`` rewrites each record (its message with the arguments merged in, the
  traceback, the stack and any ``extra`` string) so that phone numbers (Vietnamese and E.164
  forms), email addresses, ``Authorization``/``Cookie`` values, bearer tokens, secret query
  parameters (``token=``, ``key=``, ``password=``, the POS lookup's ``q=``...) and the tokens
  that sit in paths (``/unsubscribe/<token>/``, allauth's reset and confirmation keys, voucher
  codes) never reach a log line. Masking happens in the handler, so it covers every logger
  that propagates to the root, Django's ``django.request`` (the path of each 4xx/5xx) too.
- ``ContextFilter`` adds ``request_id``, ``store``, ``task_id`` and ``task_name`` (from
  ``loyalty.request_context``) to every record, for the JSON and the plain formatter.

``mask()`` is the same rewriting for a string, used by gunicorn's access log
(``gunicorn.conf.py``) and anywhere a value is logged on purpose.
"""

from __future__ import annotations

import logging
import re
import traceback

from loyalty import request_context

PHONE = "[phone]"
EMAIL = "[email]"
REDACTED = "[redacted]"

# Query parameters (and ``name=value`` pairs in text) whose value is a secret or personal.
_MASKED_NAMES = (
    r"[\w-]*(?:token|key|password|passwd|pwd|secret|signature|otp|session|csrf)[\w-]*"
    r"|code|q|phone|email|e-mail|uid|uidb36|auth|authorization|cookie"
)
_PAIR = re.compile(
    rf"(?i)(?<![\w-])(?P<name>{_MASKED_NAMES})(?P<sep>=|%3D)(?P<value>[^&\s\"'<>;,]*)"
)
# ``Authorization: Bearer x``, ``"Authorization": "Api-Key x"``, ``Cookie: a=b; c=d``.
_HEADER = re.compile(
    r"(?i)(?P<name>\b(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key)"
    r"[\"']?\s*[:=]\s*[\"']?)(?P<value>[^\"'\r\n]+)"
)
_SCHEME_TOKEN = re.compile(r"(?i)\b(?P<scheme>Bearer|Api-Key|Basic|Token)\s+[\w.~+/=-]{4,}")
# Paths that carry a bearer secret: the unsubscribe token, allauth's keys, voucher codes.
_PATH_SECRET = re.compile(
    r"(?P<prefix>/(?:unsubscribe|password/reset/key|confirm-email|vouchers|login/code"
    r"|password/reset/code|email/verify)/)(?P<value>[^/?#\s\"']+)"
)
# URL credentials: scheme://user:password@host.
_URL_PASSWORD = re.compile(r"(?P<prefix>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+(?=@)")
_EMAIL = re.compile(
    r"[\w.!#$%&'*+/=?^`{|}~-]+(?:@|%40)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
# Vietnamese numbers: 0 or (+)84 then nine digits, single spaces, dots or dashes allowed
# between them (0912 345 678, 0912.345.678, +84 912 345 678, 84912345678, %2B84...);
# E.164: + (or %2B) then 8 to 15 digits. Digits glued to other digits are left alone.
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|%2B)?84|0)(?:[\s.\-]?\d){9}(?!\d)"
    r"|(?<![\w+])(?:\+|%2B)[1-9](?:[\s.\-]?\d){7,14}(?!\d)",
    re.IGNORECASE,
)


def mask(text: str) -> str:
    """``text`` with secrets and personal data replaced by placeholders."""
    if not text:
        return text
    text = _HEADER.sub(lambda m: m["name"] + REDACTED, text)
    text = _SCHEME_TOKEN.sub(lambda m: f"{m['scheme']} {REDACTED}", text)
    text = _URL_PASSWORD.sub(lambda m: m["prefix"] + REDACTED, text)
    text = _PATH_SECRET.sub(lambda m: m["prefix"] + REDACTED, text)
    text = _PAIR.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}" if m["value"] else m[0], text)
    text = _EMAIL.sub(EMAIL, text)
    return _PHONE.sub(PHONE, text)


def mask_phone(phone: str | None) -> str:
    """A phone for a log line: its last three digits only (``***678``)."""
    digits = re.sub(r"\D", "", phone or "")
    return f"***{digits[-3:]}" if len(digits) >= 3 else "***"


# The attributes every LogRecord has; anything else came in through ``extra``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_CONTEXT_FIELDS = ("request_id", "store", "task_id", "task_name")


class MaskFilter(logging.Filter):
    """Masks the record in place (message, arguments, traceback, stack, ``extra`` strings)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: log what we have, masked
            message = f"{record.msg!r} {record.args!r}"
        record.msg = mask(message)
        record.args = None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            record.exc_info = None  # formatters print exc_text, which is masked below
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        for name, value in list(vars(record).items()):
            if name in _STANDARD or name in _CONTEXT_FIELDS:
                continue
            if isinstance(value, str):
                setattr(record, name, mask(value))
            elif hasattr(value, "method") and isinstance(getattr(value, "path", None), str):
                # django.request's ``request``: the method and path, no query string.
                setattr(record, name, f"{value.method} {mask(value.path)}")
            elif not isinstance(value, (int, float, bool, type(None))):
                # django.request's ``request`` (its repr has the query string), any object:
                # the JSON formatter would print it whole.
                setattr(record, name, mask(str(value)))
        return True


class ContextFilter(logging.Filter):
    """Adds the request/task context to the record (``-`` when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in request_context.current().items():
            if not hasattr(record, name) or getattr(record, name) in (None, ""):
                setattr(record, name, value or "-")
        return True


def json_formatter(**kwargs):
    """python-json-logger's formatter with the fields the platform's logs carry."""
    from pythonjsonlogger.json import JsonFormatter

    kwargs.setdefault("datefmt", DATE_FORMAT)
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s "
        "%(request_id)s %(store)s %(task_id)s %(task_name)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        **kwargs,
    )


DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # JSON records' "time", local time with its offset
PLAIN_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s store=%(store)s "
    "task=%(task_name)s:%(task_id)s] %(message)s"
)


def logging_config(*, log_format: str, level: str) -> dict:
    """The ``LOGGING`` dict: one console handler on the root, masked, with context."""
    formatter = (
        {"()": "loyalty.logs.json_formatter"} if log_format == "json" else {"format": PLAIN_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "loyalty.logs.ContextFilter"},
            "mask": {"()": "loyalty.logs.MaskFilter"},
        },
        "formatters": {"default": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["context", "mask"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # Its own handler would print unmasked lines; through the root instead.
            "django.server": {"handlers": [], "propagate": True},
        },
    }

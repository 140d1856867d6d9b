"""The API's error body, the same on every error: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import codecs
import json
import logging
import time
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, parsers, status
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.utils.json import strict_constant
from rest_framework.views import exception_handler as drf_exception_handler

from loyalty.cache_backends import cache_unavailable
from loyalty.errors import DomainError

logger = logging.getLogger(__name__)

# The largest request body the API reads (the contract's 1 MiB); larger is 413.
MAX_BODY_BYTES = 1024 * 1024
# Seconds a client waits before retrying while the database cannot be reached.
RETRY_AFTER_SECONDS = 5


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request body is larger than 1 MiB.")
    default_code = "payload_too_large"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = gettext_lazy("The service is briefly unavailable; nothing was changed.")
    default_code = "service_unavailable"


def check_body_size(request) -> None:
    """413 before anything reads a body over ``MAX_BODY_BYTES`` (by its Content-Length; a
    body without one is not read by Django at all)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise exceptions.ParseError() from None
    if length > MAX_BODY_BYTES:
        raise PayloadTooLarge()


class StrictJSONParser(parsers.JSONParser):
    """JSON with numbers kept exact (a fraction is a ``Decimal``, never a float, so ``1.5``
    is 1.5 and a money field can tell a JSON number from a string), no ``NaN``/``Infinity``,
    and nesting too deep to parse refused as malformed rather than crashing."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            decoded = codecs.getreader(encoding)(stream)
            return json.load(decoded, parse_float=Decimal, parse_constant=strict_constant)
        except (ValueError, RecursionError) as exc:
            raise exceptions.ParseError() from exc


_CODE_BY_EXCEPTION = [
    (exceptions.ValidationError, "validation_error"),
    (exceptions.ParseError, "validation_error"),
    (exceptions.UnsupportedMediaType, "validation_error"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "not_authenticated"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.Throttled, "throttled"),
    (PayloadTooLarge, "payload_too_large"),
    (ServiceUnavailable, "service_unavailable"),
]


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": str(message), "details": details or {}}}


def _own_message(exc: exceptions.APIException) -> str | None:
    """Our (translated) words for DRF's stock messages, which have no Vietnamese."""
    if isinstance(exc, exceptions.NotAuthenticated):
        return _("Send the header “Authorization: Api-Key <key>”.")
    if isinstance(exc, exceptions.MethodNotAllowed):
        return _("This method is not allowed here.")
    if isinstance(exc, exceptions.ParseError):
        return _("The request body is not valid JSON.")
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return _("Send the request body as JSON (Content-Type: application/json).")
    if isinstance(exc, exceptions.Throttled):
        return _("Too many requests; try again in a moment.")
    if isinstance(exc, exceptions.NotFound) and str(exc.detail) == str(
        exceptions.NotFound.default_detail
    ):
        return _("Not found.")
    return None


def _message_and_details(exc: exceptions.APIException) -> tuple[str, dict]:
    own = _own_message(exc)
    if own is not None:
        return own, {}
    detail = exc.detail
    if isinstance(detail, dict):
        return _("Some fields are invalid."), detail
    if isinstance(detail, list):
        return _("The request is invalid."), {"non_field_errors": detail}
    return str(detail), {}


def exception_handler(exc, context):
    """DRF's handler, reshaped into the contract body; unexpected errors become a 500 body."""
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        details = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return Response(
            error_body("validation_error", _("Some fields are invalid."), details),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, OperationalError | InterfaceError):
        # The database is down or the connection broke: the transaction was rolled back, so
        # nothing was written; Django drops the broken connection at the end of the request
        # and the next request connects again.
        logger.warning("database unavailable: %s", type(exc.__cause__ or exc).__name__)
        response = Response(
            error_body("service_unavailable", ServiceUnavailable.default_detail),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(
            error_body("server_error", _("Something went wrong on our side; nothing was changed.")),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    code = next((c for cls, c in _CODE_BY_EXCEPTION if isinstance(exc, cls)), "error")
    message, details = _message_and_details(exc)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        details = {"retry_after": int(exc.wait + 0.999)}
    response.data = error_body(code, message, details)
    return response


def json_error_response(request, code: str, message: str, status_code: int) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)


def throttle_rate_parse(rate: str) -> tuple[int, int]:
    """``"1000/min"`` -> ``(1000, 60)``: the count and the window in seconds (``s``, ``m``,
    ``h``, ``d``, by the period's first letter)."""
    count, _slash, period = rate.partition("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
    return int(count), seconds


class FixedWindowThrottle(BaseThrottle):
    """Requests per client per fixed window, counted with one atomic ``cache.incr``:
    constant work per request, where DRF's sliding-window throttle stores and re-pickles
    every request time of the window. Use a shared cache (``CACHE_URL``) so that every web
    process counts against the same limit.

    Fails open: a cache that cannot be reached lets the request through (logged once a
    minute), so an outage of Redis never stops the clients. A subclass names the setting
    holding its rate, its key's scope, and whom a request counts for (``ident``: None is
    not counted)."""

    rate_setting = ""
    scope = ""

    def ident(self, request) -> object | None:
        raise NotImplementedError

    def allow_request(self, request, view):
        ident = self.ident(request)
        if ident is None:
            return True
        limit, window = throttle_rate_parse(getattr(settings, self.rate_setting))
        now = time.time()
        start = int(now // window) * window
        key = f"throttle:{self.scope}:{ident}:{start}"
        self._wait = start + window - now
        try:
            cache.add(key, 0, timeout=window + 1)
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr: this request opens the window
                cache.set(key, 1, timeout=window + 1)
                count = 1
        except Exception as exc:  # any cache failure: fail open
            cache_unavailable(f"{self.scope} throttle", exc)
            return True
        return count <= limit

    def wait(self):
        return self._wait

"""How the app authenticates: allauth's headless session token, ``X-Session-Token``.

The app logs in with ``POST /_allauth/app/v1/auth/login`` (allauth: its login methods, rate
limits and the MFA stage) and gets ``meta.session_token``; every call under /api/v1/me/ sends
it. No other credential is taken there: a portal cookie is not one (no CSRF to think about),
nor is a POS key.
"""

from __future__ import annotations

import time

from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from django.conf import settings
from django.core.cache import cache
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.throttling import BaseThrottle

from loyalty.cache_backends import cache_unavailable

HEADER = "X-Session-Token"


class MemberSessionTokenAuthentication(XSessionTokenAuthentication):
    """allauth's ``X-Session-Token`` authentication; a missing, unknown or expired token (or
    one whose login is still waiting for its second factor) authenticates nobody, and the
    view answers the contract's 401 naming the header (``authenticate_header``)."""

    def authenticate(self, request):
        token = self.get_session_token(request)
        if not token or len(token) > 256 or not token.isascii():
            return None
        return super().authenticate(request)

    def authenticate_header(self, request):
        return HEADER


class SessionTokenScheme(OpenApiAuthenticationExtension):
    target_class = "member_api.authentication.MemberSessionTokenAuthentication"
    name = "SessionToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": HEADER,
            "description": (
                "A member's session token: `POST /_allauth/app/v1/auth/login` with "
                '`{"email": ..., "password": ...}` (or the other login methods of '
                "`GET /_allauth/app/v1/config`) answers it in `meta.session_token`. "
                "`DELETE /_allauth/app/v1/auth/session` logs out."
            ),
        }


def _parse_rate(rate: str) -> tuple[int, int]:
    count, _slash, period = rate.partition("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
    return int(count), seconds


class MemberThrottle(BaseThrottle):
    """Requests per logged-in user per window (``MEMBER_API_THROTTLE_RATE``, default
    120/min): a fixed window counted with one ``cache.incr``, as the POS key's throttle.
    Fails open: a cache that cannot be reached lets the request through (logged once a
    minute), so a Redis outage never locks members out of their card."""

    scope = "member_api"

    def allow_request(self, request, view):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return True
        limit, window = _parse_rate(settings.MEMBER_API_THROTTLE_RATE)
        now = time.time()
        start = int(now // window) * window
        key = f"throttle:{self.scope}:{user.pk}:{start}"
        self._wait = start + window - now
        try:
            cache.add(key, 0, timeout=window + 1)
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr: this request opens the window
                cache.set(key, 1, timeout=window + 1)
                count = 1
        except Exception as exc:  # any cache failure: fail open
            cache_unavailable("member api throttle", exc)
            return True
        return count <= limit

    def wait(self):
        return self._wait

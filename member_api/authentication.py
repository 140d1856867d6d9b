"""How the app authenticates: allauth's headless session token, ``X-Session-Token``.

The app logs in with ``POST /_allauth/app/v1/auth/login`` (allauth: its login methods, rate
limits and the MFA stage) and gets ``meta.session_token``; every call under /api/v1/me/ sends
it. No other credential is taken there: a portal cookie is not one (no CSRF to think about),
nor is a POS key.
"""

from __future__ import annotations

from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from drf_spectacular.extensions import OpenApiAuthenticationExtension

from loyalty.api import FixedWindowThrottle

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


class MemberThrottle(FixedWindowThrottle):
    """Requests per logged-in user per window (``MEMBER_API_THROTTLE_RATE``, default
    120/min), in a fixed window that fails open (``loyalty.api.FixedWindowThrottle``): a
    Redis outage never locks members out of their card."""

    rate_setting = "MEMBER_API_THROTTLE_RATE"
    scope = "member_api"

    def ident(self, request):
        user = getattr(request, "user", None)
        return user.pk if user is not None and user.is_authenticated else None

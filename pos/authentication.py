from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from loyalty import request_context
from pos.selectors import api_key_authenticate


class StoreApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Api-Key <key>``. ``request.user`` is None; ``request.auth`` is the
    StoreApiKey (with its store)."""

    keyword = "Api-Key"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _sep, raw = header.partition(" ")
        if keyword != self.keyword or not raw.strip():
            raise exceptions.AuthenticationFailed(
                _("Use the header “Authorization: Api-Key <key>”.")
            )
        api_key = api_key_authenticate(raw.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("The API key is not valid or was revoked."))
        request_context.set_store(api_key.store.code)  # on this request's log records
        now = timezone.now()
        # Touch last_used_at at most once a minute: not a write on every request.
        if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
            type(api_key).objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now  # the row may be the process-cached one
        return (StoreAnonymous(api_key), api_key)

    def authenticate_header(self, request):
        return self.keyword


class StoreAnonymous:
    """What ``request.user`` is for a POS call: not a person; carries the key's store."""

    is_authenticated = True
    is_staff = False
    is_anonymous = False

    def __init__(self, api_key):
        self.api_key = api_key
        self.store = api_key.store
        self.pk = None

    def __str__(self):
        return f"store:{self.store.code}"


class StoreApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "pos.authentication.StoreApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`: a store's key from `manage.py create_api_key CODE`.",
        }

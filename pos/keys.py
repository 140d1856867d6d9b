"""API key format and hashing.

A key is ``lk_<prefix>_<secret>`` with 256 random bits in the secret. Because the secret is
long and random, a fast keyed hash (HMAC-SHA256 under the deployment's SECRET_KEY) is the
right storage: it cannot be brute-forced, and it costs microseconds per request where a
password hasher would cost tens of milliseconds. Keys hashed under a previous secret keep
working while that secret is listed in ``DJANGO_SECRET_KEY_FALLBACKS``.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.utils.crypto import salted_hmac

_SALT = "pos.StoreApiKey"


def key_generate() -> tuple[str, str]:
    """A new (prefix, full key)."""
    prefix = secrets.token_hex(4)
    return prefix, f"lk_{prefix}_{secrets.token_urlsafe(32)}"


def key_hash(raw: str, *, secret: str | None = None) -> str:
    return salted_hmac(
        _SALT, raw, secret=secret or settings.SECRET_KEY, algorithm="sha256"
    ).hexdigest()


def key_hash_candidates(raw: str) -> list[str]:
    """The hash under the current secret first, then under each fallback secret."""
    secrets_in_use = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [key_hash(raw, secret=s) for s in secrets_in_use]

"""Reads of the POS layer."""

from __future__ import annotations

from pos.keys import key_hash_candidates
from pos.models import StoreApiKey


def api_key_authenticate(raw: str) -> StoreApiKey | None:
    """The active key matching ``raw`` (with its store), or None for unknown or revoked."""
    if not raw or not raw.startswith("lk_"):
        return None
    return (
        StoreApiKey.objects.select_related("store")
        .filter(key_hash__in=key_hash_candidates(raw), revoked_at__isnull=True)
        .first()
    )

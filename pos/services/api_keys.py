"""Writes of the POS layer: API keys."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from loyalty.cache import forget
from members.models import AuditEntry, Store, User
from pos.keys import key_generate, key_hash
from pos.models import StoreApiKey


@transaction.atomic
def api_key_create(
    *, store: Store, label: str = "", acting_user: User | None = None
) -> tuple[StoreApiKey, str]:
    """Issue a key for ``store``. Returns the row and the key, which is never stored."""
    prefix, raw = key_generate()
    api_key = StoreApiKey.objects.create(
        store=store, label=label, prefix=prefix, key_hash=key_hash(raw), created_by=acting_user
    )
    AuditEntry.objects.create(
        actor=acting_user,
        actor_label="" if acting_user else "command",
        action="pos.api_key_created",
        data={"store": store.code, "prefix": prefix, "label": label},
    )
    return api_key, raw


@transaction.atomic
def api_key_revoke(*, api_key: StoreApiKey, acting_user: User | None = None) -> StoreApiKey:
    updated = StoreApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    api_key.refresh_from_db()
    forget("apikey:")  # .update() sends no signal
    if updated:
        AuditEntry.objects.create(
            actor=acting_user,
            actor_label="" if acting_user else "command",
            action="pos.api_key_revoked",
            data={"store": api_key.store.code, "prefix": api_key.prefix},
        )
    return api_key

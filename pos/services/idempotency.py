"""Idempotent POS writes: the same ``external_id`` with the same body gives the first
response again and changes nothing; with another body it is a conflict. Holds under
concurrent repeats: the record is inserted first, in the write's own transaction, so a
concurrent repeat waits on the unique index until the first commits (or rolls back)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import DomainError
from members.models import Store
from pos.models import IdempotencyRecord

TABLE = IdempotencyRecord._meta.db_table


def _canonical(value):
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot hash {type(value).__name__}")


def request_hash(payload: dict) -> str:
    """A hash of the validated request: key order, number formatting (``"125000"`` vs
    ``"125000.00"``) and ignored unknown fields do not change it."""
    text = json.dumps(payload, sort_keys=True, default=_canonical, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict
    replayed: bool


def _claim(store_id: int, kind: str, external_id: str, digest: str) -> int | None:
    """Insert the record; None when one already exists (after waiting for its writer)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {TABLE} (store_id, kind, external_id, request_hash, status_code,
                                 response, created_at)
            VALUES (%s, %s, %s, %s, 0, %s, %s)
            ON CONFLICT (store_id, kind, external_id) DO NOTHING
            RETURNING id
            """,
            [
                store_id,
                kind,
                external_id,
                digest,
                "{}",
                connection.ops.adapt_datetimefield_value(timezone.now()),
            ],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def replay(*, store: Store, kind: str, external_id: str, digest: str) -> Outcome | None:
    """The stored outcome of an earlier write with this id (a conflict if its body
    differed), or None when there is none."""
    record = IdempotencyRecord.objects.filter(
        store=store, kind=kind, external_id=external_id
    ).first()
    if record is None:
        return None
    if record.request_hash != digest:
        raise DomainError(
            "idempotency_conflict",
            _("This external_id was already used for a different request."),
            details={"external_id": external_id},
        )
    return Outcome(record.status_code, record.response, replayed=True)


def run_idempotent(
    *,
    store: Store,
    kind: str,
    external_id: str,
    payload: dict,
    action: Callable[[], tuple[int, dict]],
) -> Outcome:
    """Run ``action`` once per (store, kind, external_id); see the module docstring."""
    digest = request_hash(payload)
    with transaction.atomic():
        record_id = _claim(store.pk, kind, external_id, digest)
        if record_id is None:
            record = IdempotencyRecord.objects.get(store=store, kind=kind, external_id=external_id)
            if record.request_hash != digest:
                raise DomainError(
                    "idempotency_conflict",
                    _("This external_id was already used for a different request."),
                    details={"external_id": external_id},
                )
            return Outcome(record.status_code, record.response, replayed=True)
        status, body = action()
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET status_code = %s, response = %s WHERE id = %s",
                [status, json.dumps(body), record_id],
            )
        return Outcome(status, body, replayed=False)

"""Idempotent POS writes: the same ``external_id`` with the same body gives the first
response again and changes nothing; with another body it is a conflict. Holds under
concurrent repeats: the record is inserted first, in the write's own transaction, so a
concurrent repeat waits on the unique index until the first commits (or rolls back).

On PostgreSQL every write of one (store, kind, external_id) first takes a transaction-level
advisory lock on it (``receipt_lock_sql``), before any row lock: the general path here and
the one-statement purchase (``pos.services.purchases_sql.record_earn_only``, which writes the
purchase and the account before its record) lock in one order, so a repeat with another body
waits for the first and gets its 409 instead of a deadlock. ``retry_on_conflict`` is the
second line of defence: a deadlock or serialisation failure that still happens is retried.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TypeVar

from django.db import OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import DomainError
from members.models import Store
from pos.models import IdempotencyRecord

TABLE = IdempotencyRecord._meta.db_table
T = TypeVar("T")


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


def receipt_lock_key(store_id: int, kind: str, external_id: str) -> int:
    """The advisory lock's key (a signed 64-bit integer) of one write's ``external_id``. Two
    ids sharing a key only wait for each other."""
    text = f"idempotency\x1f{store_id}\x1f{kind}\x1f{external_id}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big", signed=True)


def receipt_lock_sql() -> str:
    """A CTE (``WITH`` it, select ``FROM receipt_lock``) that takes the transaction-level
    advisory lock of ``%(receipt_lock)s`` before the statement writes anything; PostgreSQL only."""
    return "receipt_lock AS (SELECT pg_advisory_xact_lock(%(receipt_lock)s) AS locked)"


def _claim(store_id: int, kind: str, external_id: str, digest: str) -> int | None:
    """Insert the record; None when one already exists (after waiting for its writer). On
    PostgreSQL, under the receipt's advisory lock (see the module docstring)."""
    lock, source = (
        "",
        "VALUES (%(store)s, %(kind)s, %(external_id)s, %(hash)s, 0, %(response)s, %(now)s)",
    )
    if connection.vendor == "postgresql":
        lock = f"WITH {receipt_lock_sql()}"
        source = (
            "SELECT %(store)s, %(kind)s, %(external_id)s, %(hash)s, 0, %(response)s, %(now)s "
            "FROM receipt_lock"
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            {lock}
            INSERT INTO {TABLE} (store_id, kind, external_id, request_hash, status_code,
                                 response, created_at)
            {source}
            ON CONFLICT (store_id, kind, external_id) DO NOTHING
            RETURNING id
            """,
            {
                "receipt_lock": receipt_lock_key(store_id, kind, external_id),
                "store": store_id,
                "kind": kind,
                "external_id": external_id,
                "hash": digest,
                "response": "{}",
                "now": connection.ops.adapt_datetimefield_value(timezone.now()),
            },
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
                f"UPDATE {TABLE} SET status_code = %s, response = %s WHERE id = %s",  # nosec B608  # table names from model metadata, values are parameters
                [status, json.dumps(body), record_id],
            )
        return Outcome(status, body, replayed=False)


# PostgreSQL's serialization_failure and deadlock_detected: the transaction was rolled back
# whole, so running it again is safe.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
RETRY_ATTEMPTS = 3


def _retryable(exc: OperationalError) -> bool:
    cause = exc.__cause__
    return getattr(cause, "pgcode", None) in _RETRYABLE_SQLSTATES


def retry_on_conflict(work: Callable[[], T], *, attempts: int = RETRY_ATTEMPTS) -> T:
    """``work()``, run again (up to ``attempts`` times in all) when the database rolled it back
    for a deadlock or a serialisation failure. Only a write that owns its transaction is
    retried; inside an outer ``atomic`` block, or after the last attempt, the error goes up
    (the API answers 503 ``service_unavailable`` with ``Retry-After``: nothing was written)."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except OperationalError as exc:
            if attempt == attempts or connection.in_atomic_block or not _retryable(exc):
                raise
    raise AssertionError("unreachable")

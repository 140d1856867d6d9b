"""Hand-written SQL of the point ledger: the set-based daily jobs and the ledger check.

The statements are plain SQL that PostgreSQL and SQLite (3.33+, for ``UPDATE ... FROM``)
both run, so the same code is tested on both. Work goes in chunks of member ids, each chunk
one transaction that first locks the accounts it will touch (the lock a POS purchase takes
too), so a job and a purchase on the same member never interleave.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import connection, transaction
from django.db.models import Exists, Max, Min, OuterRef

from members.models import PointAccount, PointEntry, PointLot

CHUNK = 20_000

ACCOUNT = PointAccount._meta.db_table
ENTRY = PointEntry._meta.db_table
LOT = PointLot._meta.db_table


def _params(today: date, now: datetime):
    ops = connection.ops
    return ops.adapt_datefield_value(today), ops.adapt_datetimefield_value(now)


def _ranges(lots) -> list[tuple[int, int]]:
    bounds = lots.aggregate(lo=Min("member_id"), hi=Max("member_id"))
    if bounds["lo"] is None:
        return []
    return [
        (lo, min(lo + CHUNK - 1, bounds["hi"]))
        for lo in range(bounds["lo"], bounds["hi"] + 1, CHUNK)
    ]


def _lock_accounts(due_lots, lo: int, hi: int) -> dict[int, int]:
    """Lock the accounts in [lo, hi] that have due lots; returns member_id -> available."""
    due = due_lots.filter(member_id=OuterRef("pk"))
    rows = (
        PointAccount.objects.select_for_update()
        .filter(pk__gte=lo, pk__lte=hi)
        .filter(Exists(due))
        .order_by("pk")
        .values_list("pk", "available")
    )
    return dict(rows)


def mature_due(*, today: date, now: datetime) -> int:
    due_lots = PointLot.objects.filter(status=PointLot.Status.PENDING, matures_on__lte=today)
    matured = 0
    for lo, hi in _ranges(due_lots):
        with transaction.atomic():
            accounts = _lock_accounts(due_lots, lo, hi)
            in_debt = [member_id for member_id, available in accounts.items() if available < 0]
            matured += _mature_members_in_debt(in_debt, today=today, now=now)
            matured += _mature_range(lo, hi, today=today, now=now)
    return matured


def _mature_range(lo: int, hi: int, *, today: date, now: datetime) -> int:
    day, at = _params(today, now)
    due = "status = 'pending' AND matures_on <= %s AND member_id BETWEEN %s AND %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {ENTRY} (member_id, kind, available_delta, pending_delta, lot_id,
                                 idempotency_key, reason, actor_label, created_at)
            SELECT member_id, 'mature', remaining, -remaining, id,
                   'mature:' || id, '', 'daily job', %s
            FROM {LOT} WHERE {due}
            """,  # nosec B608  # table names from model metadata, values are parameters
            [at, day, lo, hi],
        )
        cursor.execute(
            f"""
            UPDATE {ACCOUNT}
            SET pending = pending - due.total, available = available + due.total, updated_at = %s
            FROM (SELECT member_id, SUM(remaining) AS total FROM {LOT} WHERE {due}
                  GROUP BY member_id) AS due
            WHERE {ACCOUNT}.member_id = due.member_id
            """,  # nosec B608  # table names from model metadata, values are parameters
            [at, day, lo, hi],
        )
        cursor.execute(f"UPDATE {LOT} SET status = 'available' WHERE {due}", [day, lo, hi])  # nosec B608  # table names from model metadata, values are parameters
        return cursor.rowcount


def _mature_members_in_debt(member_ids: list[int], *, today: date, now: datetime) -> int:
    """Rare: a member whose balance is negative. Maturing points pay the debt first, so the
    lot keeps only what is left; done lot by lot, under the lock already held."""
    from members.services.points import _apply

    count = 0
    for member_id in member_ids:
        account = PointAccount.objects.get(pk=member_id)
        lots = PointLot.objects.filter(
            member_id=member_id, status=PointLot.Status.PENDING, matures_on__lte=today
        ).order_by("matures_on", "id")
        for lot in lots:
            points = lot.remaining
            paid = min(points, max(0, -account.available))
            lot.remaining, lot.status = points - paid, PointLot.Status.AVAILABLE
            lot.save(update_fields=["remaining", "status"])
            PointEntry.objects.create(
                member_id=member_id,
                kind=PointEntry.Kind.MATURE,
                available_delta=points,
                pending_delta=-points,
                lot=lot,
                idempotency_key=f"mature:{lot.pk}",
                actor_label="daily job",
                created_at=now,
            )
            _apply(account, available=points, pending=-points)
            count += 1
    return count


def expire_due(*, today: date, now: datetime) -> int:
    due_lots = PointLot.objects.filter(status=PointLot.Status.AVAILABLE, expires_on__lt=today)
    expired = 0
    for lo, hi in _ranges(due_lots):
        with transaction.atomic():
            _lock_accounts(due_lots, lo, hi)
            expired += _expire_range(lo, hi, today=today, now=now)
    return expired


def _expire_range(lo: int, hi: int, *, today: date, now: datetime) -> int:
    day, at = _params(today, now)
    due = "status = 'available' AND expires_on < %s AND member_id BETWEEN %s AND %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {ENTRY} (member_id, kind, available_delta, pending_delta, lot_id,
                                 idempotency_key, reason, actor_label, created_at)
            SELECT member_id, 'expire', -remaining, 0, id,
                   'expire:' || id, '', 'daily job', %s
            FROM {LOT} WHERE {due} AND remaining > 0
            """,  # nosec B608  # table names from model metadata, values are parameters
            [at, day, lo, hi],
        )
        expired = cursor.rowcount
        cursor.execute(
            f"""
            UPDATE {ACCOUNT}
            SET available = available - due.total,
                lifetime_expired = lifetime_expired + due.total, updated_at = %s
            FROM (SELECT member_id, SUM(remaining) AS total FROM {LOT}
                  WHERE {due} AND remaining > 0 GROUP BY member_id) AS due
            WHERE {ACCOUNT}.member_id = due.member_id
            """,  # nosec B608  # table names from model metadata, values are parameters
            [at, day, lo, hi],
        )
        # Empty lots past their date close too (no entry: nothing was lost).
        cursor.execute(
            f"UPDATE {LOT} SET remaining = 0, status = 'expired' WHERE {due}",  # nosec B608  # table names from model metadata, values are parameters
            [day, lo, hi],
        )
    return expired


def ledger_discrepancies() -> list[dict]:
    """Accounts whose cached balances disagree with their entries or their lots."""
    sql = f"""
        SELECT a.member_id, a.available, a.pending,
               COALESCE(e.available, 0), COALESCE(e.pending, 0),
               COALESCE(l.available, 0), COALESCE(l.pending, 0)
        FROM {ACCOUNT} a
        LEFT JOIN (SELECT member_id, SUM(available_delta) AS available,
                          SUM(pending_delta) AS pending
                   FROM {ENTRY} GROUP BY member_id) e ON e.member_id = a.member_id
        LEFT JOIN (SELECT member_id,
                          SUM(CASE WHEN status = 'available' THEN remaining ELSE 0 END)
                              AS available,
                          SUM(CASE WHEN status = 'pending' THEN remaining ELSE 0 END) AS pending
                   FROM {LOT} GROUP BY member_id) l ON l.member_id = a.member_id
        WHERE a.available <> COALESCE(e.available, 0)
           OR a.pending <> COALESCE(e.pending, 0)
           OR a.pending <> COALESCE(l.pending, 0)
           OR (a.available >= 0 AND a.available <> COALESCE(l.available, 0))
           OR (a.available < 0 AND COALESCE(l.available, 0) <> 0)
        ORDER BY a.member_id
    """  # nosec B608  # table names from model metadata, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    names = (
        "member_id",
        "available",
        "pending",
        "entries_available",
        "entries_pending",
        "lots_available",
        "lots_pending",
    )
    return [dict(zip(names, row, strict=True)) for row in rows]

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

from members.models import Member, PointAccount, PointEntry, PointLot, Purchase

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
            """,
            [at, day, lo, hi],
        )
        cursor.execute(
            f"""
            UPDATE {ACCOUNT}
            SET pending = pending - due.total, available = available + due.total, updated_at = %s
            FROM (SELECT member_id, SUM(remaining) AS total FROM {LOT} WHERE {due}
                  GROUP BY member_id) AS due
            WHERE {ACCOUNT}.member_id = due.member_id
            """,
            [at, day, lo, hi],
        )
        cursor.execute(f"UPDATE {LOT} SET status = 'available' WHERE {due}", [day, lo, hi])
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
            """,
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
            """,
            [at, day, lo, hi],
        )
        # Empty lots past their date close too (no entry: nothing was lost).
        cursor.execute(
            f"UPDATE {LOT} SET remaining = 0, status = 'expired' WHERE {due}", [day, lo, hi]
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
    """
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


# ------------------------------------------------------------------ the POS hot path
# A purchase that only earns pending points is the most frequent write of the platform.
# These two statements replace five ORM round trips (see bench/pos_earn); PostgreSQL only
# (SQLite has no data-modifying CTEs), the general ORM path does the same everywhere.

PURCHASE = Purchase._meta.db_table
MEMBER = Member._meta.db_table


def member_by_card(card_number: str) -> tuple[int, str, str] | None:
    """(member id, card number, status) for a card, without building a model."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, card_number, status FROM {MEMBER} WHERE card_number = %s",
            [card_number],
        )
        return cursor.fetchone()


def insert_purchase_with_pending_earn(
    *,
    store_id: int,
    member_id: int,
    external_id: str,
    occurred_at: datetime,
    total_amount,
    items: list,
    points: int,
    earned_on: date,
    matures_on: date,
    expires_on: date,
    now: datetime,
) -> tuple[int, int, int] | None:
    """Insert the purchase, its pending lot and earn entry, and move the account's pending
    balance, in one statement. Returns (purchase id, available, pending) after it, or None
    when the store already has a purchase with this receipt id (an import). The
    account row is locked by the UPDATE, so concurrent purchases of one member serialise
    there exactly as the ORM path does."""
    import json

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH p AS (
                INSERT INTO {PURCHASE} (store_id, member_id, external_id, occurred_at,
                    total_amount, voucher_discount, points_redeemed, points_discount,
                    amount_due, points_earned, items, returned_amount, points_reversed,
                    points_refunded, source, created_at)
                VALUES (%(store)s, %(member)s, %(external_id)s, %(occurred_at)s, %(total)s,
                    0, 0, 0, %(total)s, %(points)s, %(items)s, 0, 0, 0, 'pos', %(now)s)
                ON CONFLICT (store_id, external_id) DO NOTHING
                RETURNING id
            ), l AS (
                INSERT INTO {LOT} (member_id, purchase_id, points, remaining, status,
                    earned_on, matures_on, expires_on, created_at)
                SELECT %(member)s, p.id, %(points)s, %(points)s, 'pending', %(earned_on)s,
                    %(matures_on)s, %(expires_on)s, %(now)s
                FROM p WHERE %(points)s > 0
                RETURNING id, purchase_id
            ), e AS (
                INSERT INTO {ENTRY} (member_id, kind, available_delta, pending_delta,
                    purchase_id, lot_id, reason, actor_label, created_at)
                SELECT %(member)s, 'earn', 0, %(points)s, l.purchase_id, l.id, '', '', %(now)s
                FROM l
            ), a AS (
                UPDATE {ACCOUNT}
                SET pending = pending + %(points)s,
                    lifetime_earned = lifetime_earned + %(points)s, updated_at = %(now)s
                WHERE member_id = %(member)s AND EXISTS (SELECT 1 FROM p)
                RETURNING available, pending
            )
            SELECT p.id, a.available, a.pending FROM p, a
            """,
            {
                "store": store_id,
                "member": member_id,
                "external_id": external_id,
                "occurred_at": occurred_at,
                "total": total_amount,
                "points": points,
                "items": json.dumps(items),
                "earned_on": earned_on,
                "matures_on": matures_on,
                "expires_on": expires_on,
                "now": now,
            },
        )
        return cursor.fetchone()

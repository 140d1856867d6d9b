"""Hand-written SQL of the purchase import (``pos.services.imports``).

The file's rows are streamed into a temporary staging table; everything after that is
set-based: resolving members, finding duplicates and earlier imports, inserting purchases,
lots and entries, and moving the cached balances in one ``UPDATE ... FROM (... GROUP BY)``.
The statements are plain SQL that PostgreSQL and SQLite (3.33+, for ``UPDATE ... FROM``;
window functions need 3.25) both run, so the same code is tested on both.

Table names come from model metadata and values are parameters; the only other text put
into a statement is built here from constants.

A staging row is, in order of the checks: rejected (``reason`` set; ``message`` set by the
format checks in Python, ``detail`` by the checks here), already imported (``existing = 1``:
the store has a purchase with this ``external_id``, same member and amount), or new.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime

from django.db import connection, models

from members.models import Member, PointAccount, PointEntry, PointLot, Purchase

STAGING = "pos_import_rows"
MEMBER = Member._meta.db_table
PURCHASE = Purchase._meta.db_table
ACCOUNT = PointAccount._meta.db_table
ENTRY = PointEntry._meta.db_table
LOT = PointLot._meta.db_table

# Columns filled while streaming the file, in the order the loader gives them.
LOADED_COLUMNS = (
    "line",
    "external_id",
    "member_raw",
    "occurred_raw",
    "amount_raw",
    "full_name",
    "member_kind",
    "member_key",
    "occurred_at",
    "earned_on",
    "matures_on",
    "expires_on",
    "amount",
    "points",
    "reason",
    "message",
)

# Reasons set here (the format reasons are set by the loader).
DUPLICATE = "duplicate_external_id"
UNKNOWN_MEMBER = "unknown_member"
MISSING_FULL_NAME = "missing_full_name"
CONFLICT = "external_id_conflict"


def _type(field: models.Field) -> str:
    return field.db_type(connection)


def staging_create() -> None:
    text = _type(models.TextField())
    big = _type(models.BigIntegerField())
    columns = [
        # INTEGER PRIMARY KEY is SQLite's rowid (free); on PostgreSQL lines arrive in order,
        # so the index only ever appends.
        "line integer PRIMARY KEY",
        f"external_id {text} NOT NULL",
        f"member_raw {text} NOT NULL",
        f"occurred_raw {text} NOT NULL",
        f"amount_raw {text} NOT NULL",
        f"full_name {text} NOT NULL",
        f"member_kind {text} NULL",
        f"member_key {text} NULL",
        f"occurred_at {_type(models.DateTimeField())} NULL",
        f"earned_on {_type(models.DateField())} NULL",
        f"matures_on {_type(models.DateField())} NULL",
        f"expires_on {_type(models.DateField())} NULL",
        f"amount {Purchase._meta.get_field('total_amount').db_type(connection)} NULL",
        f"points {big} NULL",
        f"reason {text} NULL",
        f"message {text} NULL",
        f"detail {big} NULL",
        f"member_id {big} NULL",
        f"purchase_id {big} NULL",
        f"existing {_type(models.SmallIntegerField())} NOT NULL DEFAULT 0",
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
        cursor.execute(f"CREATE TEMP TABLE {STAGING} ({', '.join(columns)})")


def staging_drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")


# PostgreSQL's COPY text format: tab-separated, \N for NULL, backslash escapes.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_line(row: Sequence) -> str:
    return (
        "\t".join(
            [
                "\\N"
                if value is None
                else value.translate(_COPY_ESCAPES)
                if value.__class__ is str
                else str(value)
                for value in row
            ]
        )
        + "\n"
    )


def staging_insert(rows: Sequence[Sequence]) -> None:
    """Insert a batch of rows (tuples in ``LOADED_COLUMNS`` order, values adapted for the
    backend; text must hold no NUL). PostgreSQL: one COPY (a multi-row INSERT spends most
    of its time adapting and parsing literals); SQLite: one prepared INSERT, many times."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            data = io.StringIO()
            data.writelines(map(_copy_line, rows))
            data.seek(0)
            cursor.copy_expert(f"COPY {STAGING} ({', '.join(LOADED_COLUMNS)}) FROM STDIN", data)
        else:
            cursor.executemany(
                f"INSERT INTO {STAGING} ({', '.join(LOADED_COLUMNS)}) "
                f"VALUES ({', '.join(['%s'] * len(LOADED_COLUMNS))})",
                rows,
            )


def staging_analyze() -> None:
    """Temporary tables get no autovacuum statistics; the planner needs them for the joins."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {STAGING}")


def mark_duplicates() -> None:
    """Every occurrence of an external_id after its first line; ``detail`` = the first."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {STAGING} SET reason = %s, detail = d.first_line
            FROM (SELECT external_id, MIN(line) AS first_line FROM {STAGING}
                  WHERE external_id <> '' GROUP BY external_id HAVING COUNT(*) > 1) AS d
            WHERE {STAGING}.external_id = d.external_id
              AND {STAGING}.line > d.first_line
              AND {STAGING}.reason IS NULL
            """,
            [DUPLICATE],
        )


_MATCH_MEMBER = {
    "card": "m.card_number = {t}.member_key",
    "phone": "m.phone = {t}.member_key",
    # The loader lower-cases emails; LOWER(email) is the unique index member_email_ci_unique.
    "email": "LOWER(m.email) = {t}.member_key",
}


def resolve_members(kinds: Sequence[str] = ("card", "phone", "email")) -> None:
    """Set ``member_id`` of the rows that name an existing member (one join per kind)."""
    with connection.cursor() as cursor:
        for kind in kinds:
            match = _MATCH_MEMBER[kind].format(t=STAGING)
            cursor.execute(
                f"""
                UPDATE {STAGING} SET member_id = m.id
                FROM {MEMBER} m
                WHERE {STAGING}.member_kind = %s AND {match} AND {STAGING}.member_id IS NULL
                """,
                [kind],
            )


def mark_unknown_members(*, create_members: bool) -> None:
    """Rows whose member matches nobody. When creating members, a phone or email may enrol
    someone, but only if some row for it gives a full name; a card number never does."""
    with connection.cursor() as cursor:
        if create_members:
            cursor.execute(
                f"""
                UPDATE {STAGING} SET reason = %s
                WHERE reason IS NULL AND member_id IS NULL AND member_kind IN ('phone', 'email')
                  AND NOT EXISTS (SELECT 1 FROM {STAGING} named
                                  WHERE named.member_kind = {STAGING}.member_kind
                                    AND named.member_key = {STAGING}.member_key
                                    AND named.full_name <> '')
                """,
                [MISSING_FULL_NAME],
            )
            creatable = "AND member_kind = 'card'"
        else:
            creatable = ""
        cursor.execute(
            f"""
            UPDATE {STAGING} SET reason = %s
            WHERE reason IS NULL AND member_id IS NULL {creatable}
            """,
            [UNKNOWN_MEMBER],
        )


def mark_existing(store_id: int) -> None:
    """Rows whose (store, external_id) is already a purchase: already imported when member
    and amount match, else a conflict. A member still to be enrolled never matches."""
    same = f"p.member_id = {STAGING}.member_id AND p.total_amount = {STAGING}.amount"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {STAGING}
            SET existing = CASE WHEN {same} THEN 1 ELSE 0 END,
                reason = CASE WHEN {same} THEN NULL ELSE %s END
            FROM {PURCHASE} p
            WHERE p.store_id = %s AND p.external_id = {STAGING}.external_id
              AND {STAGING}.reason IS NULL
            """,
            [CONFLICT, store_id],
        )


def rejection_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT reason, COUNT(*) FROM {STAGING} WHERE reason IS NOT NULL"
            " GROUP BY reason ORDER BY reason"
        )
        return dict(cursor.fetchall())


REJECTION_COLUMNS = (
    "line",
    "reason",
    "message",
    "detail",
    "external_id",
    "member_raw",
    "occurred_raw",
    "amount_raw",
)


def rejections(*, limit: int | None = None) -> Iterator[tuple]:
    """Rejected rows by line, streamed (a server-side cursor on PostgreSQL)."""
    sql = (
        f"SELECT {', '.join(REJECTION_COLUMNS)} FROM {STAGING}"
        " WHERE reason IS NOT NULL ORDER BY line"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql)
        while chunk := cursor.fetchmany(2000):
            yield from chunk


def members_to_create(kind: str, *, after: str, limit: int) -> list[tuple[str, str, datetime]]:
    """The next ``limit`` distinct unknown ``kind`` keys (phone or email) after ``after``:
    (key, full name from its first row that gives one, its earliest purchase time)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT k.member_key, named.full_name, k.first_at
            FROM (SELECT member_key, MIN(occurred_at) AS first_at,
                         MIN(CASE WHEN full_name <> '' THEN line END) AS name_line
                  FROM {STAGING}
                  WHERE reason IS NULL AND member_id IS NULL AND member_kind = %s
                    AND member_key > %s
                  GROUP BY member_key
                  ORDER BY member_key
                  LIMIT %s) AS k
            JOIN {STAGING} named ON named.line = k.name_line
            ORDER BY k.member_key
            """,
            [kind, after, limit],
        )
        return [(key, name, _datetime(first_at)) for key, name, first_at in cursor.fetchall()]


def _datetime(value) -> datetime:
    """A timestamp read by a raw cursor: PostgreSQL gives it aware, SQLite as UTC text."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def lock_accounts() -> None:
    """Lock, in member order (the order the daily jobs lock in), the accounts the import
    credits. SQLite locks the whole database for a write transaction and needs nothing."""
    if not connection.features.has_select_for_update:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT COUNT(*) FROM (
                SELECT a.member_id FROM {ACCOUNT} a
                WHERE a.member_id IN (SELECT member_id FROM {STAGING}
                                      WHERE existing = 0 AND points > 0)
                ORDER BY a.member_id FOR UPDATE) AS locked
            """
        )


def totals(*, today: date) -> dict[str, int]:
    """Figures of what the import does (after the checks, before writing)."""
    day = connection.ops.adapt_datefield_value(today)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT COUNT(*),
                   COALESCE(SUM(CASE WHEN existing = 0 THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN existing = 0 THEN points ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN existing = 0 AND matures_on > %s
                                     THEN points ELSE 0 END), 0)
            FROM {STAGING}
            """,
            [day],
        )
        rows, new, points, pending = cursor.fetchone()
    return {
        "rows": rows,
        "imported": new,
        "already_imported": rows - new,
        "points": int(points),
        "pending": int(pending),
    }


def insert_purchases(*, store_id: int, now: datetime) -> int:
    items = _type(Purchase._meta.get_field("items"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {PURCHASE} (store_id, member_id, external_id, occurred_at, total_amount,
                                    voucher_discount, points_redeemed, points_discount,
                                    amount_due, points_earned, items, returned_amount,
                                    points_reversed, points_refunded, source, created_at)
            SELECT %s, member_id, external_id, occurred_at, amount, 0, 0, 0, amount, points,
                   CAST('[]' AS {items}), 0, 0, 0, %s, %s
            FROM {STAGING} WHERE existing = 0 ORDER BY line
            """,
            [store_id, Purchase.Source.IMPORT, connection.ops.adapt_datetimefield_value(now)],
        )
        return cursor.rowcount


def attach_purchases(*, store_id: int) -> None:
    """Note on each row that earns the id of the purchase just inserted for it. A scalar
    subquery, so each row is one probe of the (store, external_id) index, whatever the
    planner believes of a table that just grew by a million rows in this transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {STAGING}
            SET purchase_id = (SELECT p.id FROM {PURCHASE} p
                               WHERE p.store_id = %s AND p.external_id = {STAGING}.external_id)
            WHERE existing = 0 AND points > 0
            """,
            [store_id],
        )


def insert_lots(*, today: date, now: datetime) -> int:
    """One lot per new purchase that earns: available when its return window has passed
    by ``today`` (no maturity date, as the POS records it), else pending until then."""
    day = connection.ops.adapt_datefield_value(today)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {LOT} (member_id, purchase_id, points, remaining, status, earned_on,
                               matures_on, expires_on, created_at)
            SELECT member_id, purchase_id, points, points,
                   CASE WHEN matures_on <= %s THEN 'available' ELSE 'pending' END,
                   earned_on,
                   CASE WHEN matures_on <= %s THEN NULL ELSE matures_on END,
                   expires_on, %s
            FROM {STAGING} WHERE purchase_id IS NOT NULL
            ORDER BY line
            """,
            [day, day, connection.ops.adapt_datetimefield_value(now)],
        )
        return cursor.rowcount


def pay_debts(*, today: date) -> None:
    """A member whose balance is negative (a return took back points already spent): new
    available points pay the debt first, oldest purchase first, exactly as crediting them one
    by one would (``credit_available_locked``); each lot keeps what is left after paying.
    Runs before the balances move, while ``available`` still shows the debt."""
    day = connection.ops.adapt_datefield_value(today)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT COUNT(*) FROM {ACCOUNT}
            WHERE available < 0
              AND member_id IN (SELECT member_id FROM {STAGING} WHERE purchase_id IS NOT NULL)
            """
        )
        if not cursor.fetchone()[0]:
            return  # the usual case: nobody owes points
        cursor.execute(
            f"""
            UPDATE {LOT} SET remaining = {LOT}.points - paid.amount
            FROM (
                SELECT x.purchase_id,
                       CASE WHEN x.debt - x.before <= 0 THEN 0
                            WHEN x.debt - x.before >= x.points THEN x.points
                            ELSE x.debt - x.before END AS amount
                FROM (
                    SELECT s.purchase_id, s.points, -a.available AS debt,
                           COALESCE(SUM(s.points) OVER (
                               PARTITION BY s.member_id ORDER BY s.earned_on, s.line
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
                    FROM {STAGING} s JOIN {ACCOUNT} a ON a.member_id = s.member_id
                    WHERE s.purchase_id IS NOT NULL AND s.matures_on <= %s
                      AND a.available < 0
                ) AS x
            ) AS paid
            WHERE {LOT}.purchase_id = paid.purchase_id AND paid.amount > 0
            """,
            [day],
        )


def insert_entries(*, today: date, now: datetime) -> int:
    """The earn entry of each new lot (found by its purchase: one index probe per row)."""
    day = connection.ops.adapt_datefield_value(today)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {ENTRY} (member_id, kind, available_delta, pending_delta, purchase_id,
                                 lot_id, reason, actor_label, created_at)
            SELECT member_id, 'earn',
                   CASE WHEN matures_on <= %s THEN points ELSE 0 END,
                   CASE WHEN matures_on <= %s THEN 0 ELSE points END,
                   purchase_id,
                   (SELECT l.id FROM {LOT} l WHERE l.purchase_id = {STAGING}.purchase_id),
                   '', 'import', %s
            FROM {STAGING} WHERE purchase_id IS NOT NULL
            ORDER BY line
            """,
            [day, day, connection.ops.adapt_datetimefield_value(now)],
        )
        return cursor.rowcount


def update_accounts(*, today: date, now: datetime) -> int:
    """The cached balances, one statement for every member the import credits."""
    day = connection.ops.adapt_datefield_value(today)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {ACCOUNT}
            SET available = {ACCOUNT}.available + t.to_available,
                pending = {ACCOUNT}.pending + t.to_pending,
                lifetime_earned = {ACCOUNT}.lifetime_earned + t.earned, updated_at = %s
            FROM (SELECT member_id,
                         SUM(CASE WHEN matures_on <= %s THEN points ELSE 0 END) AS to_available,
                         SUM(CASE WHEN matures_on <= %s THEN 0 ELSE points END) AS to_pending,
                         SUM(points) AS earned
                  FROM {STAGING} WHERE existing = 0 AND points > 0
                  GROUP BY member_id) AS t
            WHERE {ACCOUNT}.member_id = t.member_id
            """,
            [connection.ops.adapt_datetimefield_value(now), day, day],
        )
        return cursor.rowcount

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

Members that ``--create-members`` enrols are set-based too: their distinct phones and emails
go to a second temporary table (one row per identity, however many purchases name it), which
receives card numbers and referral codes drawn in Python a chunk at a time (``codes_give``
keeps only those no member and no other new member has), then one ``INSERT ... SELECT``
each for the members, their point accounts and their known contacts, and one ``UPDATE`` to
point the staged purchases at them.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from datetime import date, datetime

from django.db import DatabaseError, connection, models, transaction

from members.models import Member, PointAccount, PointEntry, PointLot, Purchase
from promotions.models import KnownContact

STAGING = "pos_import_rows"
NEW_MEMBERS = "pos_import_members"
CODES = "pos_import_codes"
CODES_DRAWN = "pos_import_codes_drawn"
MEMBER = Member._meta.db_table
CONTACT = KnownContact._meta.db_table
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
    "member_contact",
    "occurred_at",
    "earned_on",
    "matures_on",
    "expires_on",
    "amount",
    "points",
    "reason",
    "message",
    "purchase_id",
    "lot_id",
)

# Reasons set here (the format reasons are set by the loader).
DUPLICATE = "duplicate_external_id"
UNKNOWN_MEMBER = "unknown_member"
CONFLICT = "external_id_conflict"

# The staged rows that earn: a new purchase with points (its lot and entry).
EARNS = "existing = 0 AND points > 0"


def _type(field: models.Field) -> str:
    return field.db_type(connection)


def reserves_ids() -> bool:
    """PostgreSQL: the ids of the purchases, lots and members to insert are taken from
    their sequences beforehand (``ids_reserve``, ``new_members_stage``), so that purchases,
    lots and entries are inserted from the staging table alone, with no lookup of the rows
    just inserted nor an ``UPDATE`` of a million staged rows to note their ids. SQLite has
    no sequences: there the rows are found again after each insert."""
    return connection.vendor == "postgresql"


def _nextval(model) -> str:
    return f"nextval(pg_get_serial_sequence('{model._meta.db_table}', 'id'))"


def ids_reserve(count: int) -> list[tuple[int, int]]:
    """``count`` (purchase id, lot id) pairs from the sequences (PostgreSQL). A row that is
    rejected, already imported or earns nothing leaves a gap, as a rolled-back insert does."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_nextval(Purchase)}, {_nextval(PointLot)} FROM generate_series(1, %s)",  # nosec B608  # table names from model metadata, values are parameters
            [count],
        )
        return cursor.fetchall()


# Memory for the import's sorts and hashes (a million rows are grouped by external_id and
# by member; 4 MB, PostgreSQL's default, sends them to disk), and for its temporary tables
# (8 MB by default: the staging table of a million rows is some 300 MB). Ceilings: the
# server takes what the file needs. ``temp_buffers`` can only be set before the session's
# first temporary table: a session that already had one keeps its own.
SESSION_SETTINGS = {"work_mem": "256MB", "temp_buffers": "1GB"}


def session_tune() -> None:
    """For the import's transaction (PostgreSQL): ``SESSION_SETTINGS``, each ``SET LOCAL``."""
    if connection.vendor != "postgresql":
        return
    for name, value in SESSION_SETTINGS.items():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        except DatabaseError:
            pass  # temp_buffers, once this session has used a temporary table


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
        # An email's normalised form (``promotions.contacts``), for a member created from it.
        f"member_contact {text} NULL",
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
        f"lot_id {big} NULL",
        f"existing {_type(models.SmallIntegerField())} NOT NULL DEFAULT 0",
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
        cursor.execute(f"CREATE TEMP TABLE {STAGING} ({', '.join(columns)})")


def staging_drop() -> None:
    with connection.cursor() as cursor:
        for table in (STAGING, NEW_MEMBERS, CODES, CODES_DRAWN):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


# PostgreSQL's COPY text format: tab-separated, \N for NULL, backslash escapes.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_line_escaped(row: Sequence) -> str:
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


def _copy_line(row: Sequence) -> str:
    """One row in COPY's text format. Most rows hold nothing to escape: joined as they are,
    and escaped one by one only when the line shows a tab, backslash or line break of a
    value (one pass of C over the line instead of a ``translate`` per value)."""
    line = "\t".join(
        [
            value if value.__class__ is str else "\\N" if value is None else str(value)
            for value in row
        ]
    )
    if (
        line.count("\t") == len(row) - 1
        and line.count("\\") == row.count(None)  # only the NULLs' backslashes
        and "\n" not in line
        and "\r" not in line
    ):
        return line + "\n"
    return _copy_line_escaped(row)


def _load(table: str, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Insert rows (tuples in ``columns`` order, values adapted for the backend; text must
    hold no NUL). PostgreSQL: one COPY (a multi-row INSERT spends most of its time adapting
    and parsing literals); SQLite: one prepared INSERT, many times."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            data = io.StringIO()
            data.writelines(map(_copy_line, rows))
            data.seek(0)
            cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", data)
        else:
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join(['%s'] * len(columns))})",  # nosec B608  # table names from model metadata, values are parameters
                rows,
            )


def staging_insert(rows: Sequence[Sequence]) -> None:
    """Insert a batch of staged rows (``LOADED_COLUMNS`` order)."""
    _load(STAGING, LOADED_COLUMNS, rows)


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
            """,  # nosec B608  # table names from model metadata, values are parameters
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
                """,  # nosec B608  # table names from model metadata, values are parameters
                [kind],
            )


def mark_unknown_members(*, create_members: bool) -> None:
    """Rows whose member matches nobody. When creating members, a phone or email that
    matches nobody enrols someone (with or without a full name); a card number never does:
    cards are the programme's to hand out."""
    creatable = "AND member_kind = 'card'" if create_members else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {STAGING} SET reason = %s
            WHERE reason IS NULL AND member_id IS NULL {creatable}
            """,  # nosec B608  # table names from model metadata, values are parameters
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
            """,  # nosec B608  # table names from model metadata, values are parameters
            [CONFLICT, store_id],
        )


def rejection_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT reason, COUNT(*) FROM {STAGING} WHERE reason IS NOT NULL"
            " GROUP BY reason ORDER BY reason"  # nosec B608  # table names from model metadata, values are parameters
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
        " WHERE reason IS NOT NULL ORDER BY line"  # nosec B608  # table names from model metadata, values are parameters
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql)
        while chunk := cursor.fetchmany(2000):
            yield from chunk


# ------------------------------------------------------------------------ new members


def new_members_stage() -> int:
    """One row per distinct phone or email that matches nobody (the rows that name it are
    otherwise valid): ``seq`` 1..n, the full name of the first row that gives one (else
    empty: the profile is completed later), the earliest purchase (the member joined then)
    and, on PostgreSQL, the member's id from the sequence. Returns n."""
    text = _type(models.TextField())
    big = _type(models.BigIntegerField())
    member_id = _nextval(Member) if reserves_ids() else "NULL"
    with connection.cursor() as cursor:
        for table in (NEW_MEMBERS, CODES, CODES_DRAWN):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(
            f"""
            CREATE TEMP TABLE {NEW_MEMBERS} (
                seq integer PRIMARY KEY,
                member_kind {text} NOT NULL,
                member_key {text} NOT NULL,
                member_contact {text} NULL,
                full_name {text} NOT NULL,
                first_at {_type(models.DateTimeField())} NOT NULL,
                member_id {big} NULL
            )
            """
        )
        cursor.execute(
            f"""
            INSERT INTO {NEW_MEMBERS} (seq, member_kind, member_key, member_contact, full_name,
                                       first_at, member_id)
            SELECT x.seq, x.member_kind, x.member_key, x.member_contact, x.full_name,
                   x.first_at, {member_id}
            FROM (SELECT ROW_NUMBER() OVER (ORDER BY k.member_kind, k.member_key) AS seq,
                         k.member_kind, k.member_key, k.member_contact,
                         COALESCE(named.full_name, '') AS full_name, k.first_at
                  FROM (SELECT member_kind, member_key, MIN(member_contact) AS member_contact,
                               MIN(occurred_at) AS first_at,
                               MIN(CASE WHEN full_name <> '' THEN line END) AS name_line
                        FROM {STAGING}
                        WHERE reason IS NULL AND member_id IS NULL
                          AND member_kind IN ('phone', 'email')
                        GROUP BY member_kind, member_key) AS k
                  LEFT JOIN {STAGING} named ON named.line = k.name_line) AS x
            ORDER BY x.seq
            """  # nosec B608  # table names from model metadata, values are parameters
        )
        count = cursor.rowcount
        # One member per identity (the staged purchases find theirs through this index).
        cursor.execute(
            f"CREATE UNIQUE INDEX {NEW_MEMBERS}_identity ON {NEW_MEMBERS} (member_kind, member_key)"
        )
        # The codes given so far (one row per new member), unique as the members' will be,
        # and each draw before it is checked.
        cursor.execute(
            f"CREATE TEMP TABLE {CODES} (seq integer PRIMARY KEY, "
            f"card_number {text} NOT NULL UNIQUE, referral_code {text} NOT NULL UNIQUE)"
        )
        cursor.execute(
            f"CREATE TEMP TABLE {CODES_DRAWN} "
            f"(seq integer NOT NULL, card_number {text} NOT NULL, referral_code {text} NOT NULL)"
        )
        cursor.execute(f"ANALYZE {NEW_MEMBERS}")
    return count


def codes_give(rows: Sequence[tuple[int, str, str]]) -> int:
    """Give new members (by ``seq``) the card numbers and referral codes drawn for them, in
    one statement; a pair is dropped when its card number or code is already a member's or
    another new member's (the caller dedupes within ``rows``). Returns how many were given;
    ``codes_missing`` tells who is still without, to draw again for."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CODES_DRAWN}")  # nosec B608  # table names from model metadata, values are parameters
    _load(CODES_DRAWN, ("seq", "card_number", "referral_code"), rows)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {CODES} (seq, card_number, referral_code)
            SELECT d.seq, d.card_number, d.referral_code FROM {CODES_DRAWN} d
            WHERE NOT EXISTS (SELECT 1 FROM {CODES} c WHERE c.seq = d.seq)
              AND NOT EXISTS (SELECT 1 FROM {CODES} c WHERE c.card_number = d.card_number)
              AND NOT EXISTS (SELECT 1 FROM {CODES} c WHERE c.referral_code = d.referral_code)
              AND NOT EXISTS (SELECT 1 FROM {MEMBER} m WHERE m.card_number = d.card_number)
              AND NOT EXISTS (SELECT 1 FROM {MEMBER} m WHERE m.referral_code = d.referral_code)
            ORDER BY d.seq
            """  # nosec B608  # table names from model metadata, values are parameters
        )
        return cursor.rowcount


def codes_missing(first: int, last: int) -> list[int]:
    """The ``seq`` between ``first`` and ``last`` of new members still without codes."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT n.seq FROM {NEW_MEMBERS} n
            WHERE n.seq BETWEEN %s AND %s
              AND NOT EXISTS (SELECT 1 FROM {CODES} c WHERE c.seq = n.seq)
            ORDER BY n.seq
            """,  # nosec B608  # table names from model metadata, values are parameters
            [first, last],
        )
        return [seq for (seq,) in cursor.fetchall()]


def members_insert(*, store_id: int, now: datetime) -> int:
    """The members, as ``member_create`` makes one from a phone or an email alone (enrolled
    by the import at the store, joined at their first purchase, no consent given), then
    their point accounts and their known contacts (what the referral checks read:
    ``promotions.services.referrals.contacts_record``), and the staged purchases pointed
    at them. Returns how many."""
    at = connection.ops.adapt_datetimefield_value(now)
    reserved = reserves_ids()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {MEMBER} ({"id, " if reserved else ""}card_number, referral_code,
                                  full_name, phone, email, birth_date, gender, province,
                                  occupation, language, email_consent, email_consent_at,
                                  sms_consent, sms_consent_at, status, blocked_reason,
                                  joined_at, enrolled_via, enrolled_at_store_id,
                                  referred_by_id, user_id, updated_at)
            SELECT {"n.member_id, " if reserved else ""}c.card_number, c.referral_code,
                   n.full_name,
                   CASE WHEN n.member_kind = 'phone' THEN n.member_key END,
                   CASE WHEN n.member_kind = 'email' THEN n.member_key END,
                   NULL, '', '', '', %s, %s, NULL, %s, NULL, %s, '', n.first_at, %s, %s,
                   NULL, NULL, %s
            FROM {NEW_MEMBERS} n JOIN {CODES} c ON c.seq = n.seq
            ORDER BY n.seq
            """,  # nosec B608  # table names from model metadata, values are parameters
            [
                Member._meta.get_field("language").default,
                False,
                False,
                Member.Status.ACTIVE,
                Member.Channel.IMPORT,
                store_id,
                at,
            ],
        )
        created = cursor.rowcount
        if not reserved:
            cursor.execute(
                f"""
                UPDATE {NEW_MEMBERS}
                SET member_id = (SELECT m.id FROM {MEMBER} m JOIN {CODES} c
                                   ON c.card_number = m.card_number
                                 WHERE c.seq = {NEW_MEMBERS}.seq)
                """  # nosec B608  # table names from model metadata, values are parameters
            )
        cursor.execute(
            f"""
            INSERT INTO {ACCOUNT} (member_id, available, pending, lifetime_earned,
                                   lifetime_spent, lifetime_expired, updated_at)
            SELECT member_id, 0, 0, 0, 0, 0, %s FROM {NEW_MEMBERS} ORDER BY member_id
            """,  # nosec B608  # table names from model metadata, values are parameters
            [at],
        )
        cursor.execute(
            f"""
            INSERT INTO {CONTACT} (kind, value, member_id, seen_at)
            SELECT member_kind, COALESCE(member_contact, member_key), member_id, %s
            FROM {NEW_MEMBERS} ORDER BY member_id
            """,  # nosec B608  # table names from model metadata, values are parameters
            [at],
        )
        # The staged purchases of each new identity now name its member.
        cursor.execute(
            f"""
            UPDATE {STAGING} SET member_id = n.member_id
            FROM {NEW_MEMBERS} n
            WHERE {STAGING}.member_id IS NULL AND {STAGING}.reason IS NULL
              AND {STAGING}.member_kind = n.member_kind AND {STAGING}.member_key = n.member_key
            """  # nosec B608  # table names from model metadata, values are parameters
        )
    return created


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
                WHERE a.member_id IN (SELECT member_id FROM {STAGING} WHERE {EARNS})
                ORDER BY a.member_id FOR UPDATE) AS locked
            """  # nosec B608  # table names from model metadata, values are parameters
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
            """,  # nosec B608  # table names from model metadata, values are parameters
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


def imported_days() -> tuple[date | None, date | None]:
    """The first and last local day of the purchases the import adds (for the overview's
    facts: ``insights.services.import_mark_dirty``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(earned_on), MAX(earned_on) FROM {STAGING} WHERE existing = 0"  # nosec B608  # table name is a constant
        )
        first, last = cursor.fetchone()
    return _day(first), _day(last)


def _day(value) -> date | None:
    """A DATE column's value as a date (SQLite returns text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def insert_purchases(*, store_id: int, now: datetime) -> int:
    items = _type(Purchase._meta.get_field("items"))
    reserved = reserves_ids()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {PURCHASE} ({"id, " if reserved else ""}store_id, member_id,
                                    external_id, occurred_at, total_amount,
                                    voucher_discount, points_redeemed, points_discount,
                                    amount_due, points_earned, items, returned_amount,
                                    points_reversed, points_refunded, source, created_at)
            SELECT {"purchase_id, " if reserved else ""}%s, member_id, external_id,
                   occurred_at, amount, 0, 0, 0, amount, points,
                   CAST('[]' AS {items}), 0, 0, 0, %s, %s
            FROM {STAGING} WHERE existing = 0 ORDER BY line
            """,  # nosec B608  # table names from model metadata, values are parameters
            [store_id, Purchase.Source.IMPORT, connection.ops.adapt_datetimefield_value(now)],
        )
        return cursor.rowcount


def attach_purchases(*, store_id: int) -> None:
    """Note on each row that earns the id of the purchase just inserted for it (SQLite; on
    PostgreSQL it was reserved). A scalar subquery, so each row is one probe of the (store,
    external_id) index, whatever the planner believes of a table that just grew."""
    if reserves_ids():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {STAGING}
            SET purchase_id = (SELECT p.id FROM {PURCHASE} p
                               WHERE p.store_id = %s AND p.external_id = {STAGING}.external_id)
            WHERE {EARNS}
            """,  # nosec B608  # table names from model metadata, values are parameters
            [store_id],
        )


def insert_lots(*, today: date, now: datetime) -> int:
    """One lot per new purchase that earns: available when its return window has passed
    by ``today`` (no maturity date, as the POS records it), else pending until then."""
    day = connection.ops.adapt_datefield_value(today)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {LOT} ({"id, " if reserves_ids() else ""}member_id, purchase_id,
                               points, remaining, status, earned_on, matures_on, expires_on,
                               created_at)
            SELECT {"lot_id, " if reserves_ids() else ""}member_id, purchase_id, points,
                   points, CASE WHEN matures_on <= %s THEN 'available' ELSE 'pending' END,
                   earned_on,
                   CASE WHEN matures_on <= %s THEN NULL ELSE matures_on END,
                   expires_on, %s
            FROM {STAGING} WHERE {EARNS}
            ORDER BY line
            """,  # nosec B608  # table names from model metadata, values are parameters
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
              AND member_id IN (SELECT member_id FROM {STAGING} WHERE {EARNS})
            """  # nosec B608  # table names from model metadata, values are parameters
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
                    WHERE s.existing = 0 AND s.points > 0 AND s.matures_on <= %s
                      AND a.available < 0
                ) AS x
            ) AS paid
            WHERE {LOT}.purchase_id = paid.purchase_id AND paid.amount > 0
            """,  # nosec B608  # table names from model metadata, values are parameters
            [day],
        )


def insert_entries(*, today: date, now: datetime) -> int:
    """The earn entry of each new lot (reserved on PostgreSQL; on SQLite found by its
    purchase: one index probe per row)."""
    day = connection.ops.adapt_datefield_value(today)
    lot = (
        "lot_id"
        if reserves_ids()
        else f"(SELECT l.id FROM {LOT} l WHERE l.purchase_id = {STAGING}.purchase_id)"  # nosec B608  # table names from model metadata, values are parameters
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {ENTRY} (member_id, kind, available_delta, pending_delta, purchase_id,
                                 lot_id, reason, actor_label, created_at)
            SELECT member_id, 'earn',
                   CASE WHEN matures_on <= %s THEN points ELSE 0 END,
                   CASE WHEN matures_on <= %s THEN 0 ELSE points END,
                   purchase_id, {lot}, '', 'import', %s
            FROM {STAGING} WHERE {EARNS}
            ORDER BY line
            """,  # nosec B608  # table names from model metadata, values are parameters
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
                  FROM {STAGING} WHERE {EARNS}
                  GROUP BY member_id) AS t
            WHERE {ACCOUNT}.member_id = t.member_id
            """,  # nosec B608  # table names from model metadata, values are parameters
            [connection.ops.adapt_datetimefield_value(now), day, day],
        )
        return cursor.rowcount

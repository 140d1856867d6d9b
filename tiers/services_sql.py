"""Hand-written SQL of the tiers: the nightly recalculation and the what-if count.

Plain SQL that PostgreSQL and SQLite (3.33+, for ``UPDATE ... FROM``) both run, so the same
code is tested on both. The tier table is passed in as a ``VALUES`` list (a snapshot read
once per run, or the thresholds a what-if proposes), so the whole run compares against the
same thresholds.

The tier window is defined here, once, for everything that counts toward tiers (the
contract's rule): ``tier_window_first_day``, and the two windows built from it,
``tier_job_window`` (the nightly job, the what-if, the downgrade notices) and
``tier_live_window`` (the till's upgrade, the progress page).

The recalculation goes in two steps (see ``bench/tiers`` for the figures):

1. *Decide*, in one statement over every member: the aggregate over the window, the
   qualified tier, the tier held and the rules give each member's new tier into a temporary
   table. Purchases are stored in time order, so any subset of members is spread over the
   whole table: one pass over it, where PostgreSQL can use parallel workers (a ``CREATE
   TABLE ... AS`` may; an ``UPDATE`` may not), is far cheaper than one per chunk of members.
   No row is locked meanwhile: purchases and staff go on changing tiers.
2. *Write* only the changes, in chunks of member ids, one short transaction each. A member's
   tier row is changed only if it still holds what the decision read (tier, kept until,
   locked until); one that a purchase or staff changed since keeps that change (the next
   night decides again). Each history row is written from the row actually changed.
"""

from __future__ import annotations

import calendar
import logging
import time as clock
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from members.models import Member, Purchase
from tiers.models import MemberTier, TierChange, TierPolicy

logger = logging.getLogger(__name__)

CHUNK = 100_000  # member ids per write transaction
WORK_MEM = "256MB"  # PostgreSQL, for the decision: the per-member aggregate stays in memory

MEMBER = Member._meta.db_table
PURCHASE = Purchase._meta.db_table
MEMBER_TIER = MemberTier._meta.db_table
CHANGE = TierChange._meta.db_table
CALC = "tiers_calc"


@dataclass(frozen=True)
class Threshold:
    tier_id: int
    rank: int
    min_spend: object  # Decimal
    min_purchases: int


def tier_window_first_day(day: date, months: int) -> date:
    """The first day of the tier window of ``day``: the same day ``months`` months earlier,
    clamped to the last day of a shorter month (2027-03-31 minus 1 month is 2027-02-28;
    2028-02-29 minus 12 months is 2027-02-28). Purchases made on it (the whole local day)
    count; those of the day before do not."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(day.day, _days_in_month(year, month)))


def tier_job_window(day: date, months: int) -> tuple[datetime, datetime]:
    """What the nightly job of ``day`` counts, as aware datetimes [start, end): purchases made
    from the whole local day ``tier_window_first_day(day)`` up to the end of the day before
    ``day`` (the job of D runs early on D; purchases made on D itself wait for the job of
    D + 1). The what-if and the downgrade notices count the same way."""
    return _local_midnight(tier_window_first_day(day, months)), _local_midnight(day)


def tier_live_window(today: date, months: int) -> tuple[datetime, datetime]:
    """What the till and the progress page count, as aware datetimes [start, end): from the
    same first day as the job of ``today`` up to the purchase itself (the end of ``today``:
    nothing later can exist, a clock skew aside)."""
    return (
        _local_midnight(tier_window_first_day(today, months)),
        _local_midnight(today + timedelta(days=1)),
    )


def _local_midnight(day: date) -> datetime:
    tz = timezone.get_default_timezone()  # the programme's, whatever a request activated
    return datetime.combine(day, time.min, tzinfo=tz)


def _days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _tiers_cte(thresholds: list[Threshold]) -> tuple[str, list]:
    rows = ", ".join(["(%s, %s, CAST(%s AS NUMERIC), CAST(%s AS INTEGER))"] * len(thresholds))
    params: list = []
    for t in thresholds:
        params += [t.tier_id, t.rank, str(t.min_spend), t.min_purchases]
    return f"t (id, rnk, min_spend, min_purchases) AS (VALUES {rows})", params


def _qualified_sql(
    thresholds: list[Threshold], start: datetime, end: datetime, *, lo=None, hi=None
) -> tuple[str, list]:
    """CTEs ``t`` (tiers), ``agg`` (per member: net spend, purchases not fully returned) and
    ``q`` (member_id, q_rank: the highest rank whose thresholds are both met, else the
    entry tier's), over all members or those with ids in [lo, hi]."""
    ops = connection.ops
    tiers, params = _tiers_cte(thresholds)
    entry_rank = min(t.rank for t in thresholds)
    ranged = lo is not None
    purchase_range = "member_id BETWEEN %s AND %s AND " if ranged else ""
    member_range = "WHERE m.id BETWEEN %s AND %s" if ranged else ""
    # The qualified rank as a CASE over the thresholds, highest rank first: an expression
    # per member rather than a subquery over ``t`` per member.
    ranks = sorted(thresholds, key=lambda t: t.rank, reverse=True)
    qualify = " ".join(
        ["WHEN COALESCE(agg.spend, 0) >= CAST(%s AS NUMERIC) AND COALESCE(agg.n, 0) >= %s THEN %s"]
        * len(ranks)
    )
    if connection.vendor == "postgresql":
        # Summed as whole cents in BIGINT (exact: amounts have two decimals): an integer
        # aggregate state is half the size of a NUMERIC one and the hash aggregate over
        # every member's purchases runs faster.
        spend = "SUM(CAST((total_amount - returned_amount) * 100 AS BIGINT)) / 100"
    else:
        spend = "SUM(total_amount - returned_amount)"
    sql = f"""
        {tiers},
        agg AS (
            SELECT member_id, {spend} AS spend,
                   SUM(CASE WHEN returned_amount < total_amount THEN 1 ELSE 0 END) AS n
            FROM {PURCHASE}
            WHERE {purchase_range}occurred_at >= %s AND occurred_at < %s
            GROUP BY member_id
        ),
        q AS (
            SELECT m.id AS member_id, CASE {qualify} ELSE %s END AS q_rank
            FROM {MEMBER} m LEFT JOIN agg ON agg.member_id = m.id
            {member_range}
        )
    """  # nosec B608  # table names from model metadata, values are parameters
    if ranged:
        params += [lo, hi]
    params += [ops.adapt_datetimefield_value(start), ops.adapt_datetimefield_value(end)]
    for t in ranks:
        params += [str(t.min_spend), t.min_purchases, t.rank]
    params.append(entry_rank)
    if ranged:
        params += [lo, hi]
    return sql, params


def qualified_counts(thresholds: list[Threshold], *, start: datetime, end: datetime) -> dict:
    """rank -> number of members whose qualified tier has that rank (one aggregate query)."""
    cte, params = _qualified_sql(thresholds, start, end)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {cte} SELECT q_rank, COUNT(*) FROM q GROUP BY q_rank", params)  # nosec B608  # table names from model metadata, values are parameters
        return {int(rank): count for rank, count in cursor.fetchall()}


_DOWNGRADE_TO = {
    TierPolicy.Downgrade.NONE: "cur.rnk",
    TierPolicy.Downgrade.ONE_LEVEL: "(SELECT MAX(t.rnk) FROM t WHERE t.rnk < cur.rnk)",
    TierPolicy.Downgrade.TO_QUALIFIED: "q.q_rank",
}

_REASON_COUNT = {"initial": "initial", "upgrade": "upgraded", "downgrade": "downgraded"}


def recalculate(
    *,
    thresholds: list[Threshold],
    policy: str,
    today: date,
    retained_until: date,
    start: datetime,
    end: datetime,
    now: datetime,
) -> dict[str, int]:
    counts = {"examined": 0, "initial": 0, "upgraded": 0, "downgraded": 0, "unchanged": 0}
    bounds = Member.objects.aggregate(lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None:
        return counts
    started = clock.perf_counter()
    with transaction.atomic():
        examined, planned = _decide(thresholds, policy, today, start, end)
    decided = clock.perf_counter()
    logger.info(
        "tiers %s: %d members decided, %d to change, in %.1f s",
        today,
        examined,
        planned,
        decided - started,
    )
    counts["examined"] = examined
    if planned:
        for lo in range(bounds["lo"], bounds["hi"] + 1, CHUNK):
            hi = min(lo + CHUNK - 1, bounds["hi"])
            with transaction.atomic():
                written = _write_range(lo, hi, today=today, retained_until=retained_until, now=now)
            for reason, n in written.items():
                counts[_REASON_COUNT[reason]] += n
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {CALC}")
    changed = counts["initial"] + counts["upgraded"] + counts["downgraded"]
    counts["unchanged"] = examined - changed
    logger.info(
        "tiers %s: %d changes written in %.1f s", today, changed, clock.perf_counter() - decided
    )
    return counts


def _decide(
    thresholds: list[Threshold], policy: str, today: date, start: datetime, end: datetime
) -> tuple[int, int]:
    """Fill the temporary table ``CALC``: one row per member with the tier row as read, the
    new tier and why (reason NULL: no change). Returns (members, changes)."""
    day = connection.ops.adapt_datefield_value(today)
    cte, params = _qualified_sql(thresholds, start, end)
    downgrade_to = _DOWNGRADE_TO[policy]
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        cursor.execute(f"DROP TABLE IF EXISTS {CALC}")
        # A lock (today < locked_until) stops downgrades; an upgrade the member qualifies
        # for still happens.
        cursor.execute(
            f"""
            CREATE TEMPORARY TABLE {CALC} AS
            WITH {cte},
            d AS (
                SELECT q.member_id, mt.tier_id AS from_tier_id, cur.rnk AS cur_rank,
                       mt.retained_until AS read_retained_until,
                       mt.locked_until AS read_locked_until,
                       CASE
                           WHEN mt.member_id IS NULL THEN q.q_rank
                           WHEN q.q_rank > cur.rnk THEN q.q_rank
                           WHEN mt.locked_until IS NOT NULL AND %s < mt.locked_until
                               THEN cur.rnk
                           WHEN q.q_rank < cur.rnk AND %s > mt.retained_until
                               THEN {downgrade_to}
                           ELSE cur.rnk
                       END AS new_rank
                FROM q
                LEFT JOIN {MEMBER_TIER} mt ON mt.member_id = q.member_id
                LEFT JOIN t cur ON cur.id = mt.tier_id
            )
            SELECT d.member_id, d.from_tier_id, nt.id AS to_tier_id,
                   d.read_retained_until, d.read_locked_until,
                   CASE
                       WHEN d.from_tier_id IS NULL THEN 'initial'
                       WHEN d.new_rank > d.cur_rank THEN 'upgrade'
                       WHEN d.new_rank < d.cur_rank THEN 'downgrade'
                   END AS reason
            FROM d JOIN t nt ON nt.rnk = d.new_rank
            """,  # nosec B608  # table names from model metadata, values are parameters
            [*params, day, day],
        )
        cursor.execute(
            f"CREATE INDEX {CALC}_changes ON {CALC} (member_id) WHERE reason IS NOT NULL"
        )
        if postgres:
            cursor.execute(f"ANALYZE {CALC}")  # temporary tables get no autovacuum
        cursor.execute(f"SELECT COUNT(*), COUNT(reason) FROM {CALC}")  # nosec B608  # table names from model metadata, values are parameters
        examined, planned = cursor.fetchone()
    return examined, planned


def _write_range(lo: int, hi: int, *, today: date, retained_until: date, now: datetime) -> dict:
    """Apply the changes decided for members with ids in [lo, hi]: the tier rows still as
    read are changed, the missing ones inserted, a history row for each. Returns reason ->
    rows written."""
    ops = connection.ops
    day = ops.adapt_datefield_value(today)
    kept = ops.adapt_datefield_value(retained_until)
    at = ops.adapt_datetimefield_value(now)
    # The row still holds what the decision read.
    as_read = f"""
        {MEMBER_TIER}.member_id = c.member_id AND {MEMBER_TIER}.tier_id = c.from_tier_id
        AND {MEMBER_TIER}.retained_until = c.read_retained_until
        AND ({MEMBER_TIER}.locked_until = c.read_locked_until
             OR ({MEMBER_TIER}.locked_until IS NULL AND c.read_locked_until IS NULL))
    """
    moves = "c.member_id BETWEEN %s AND %s AND c.reason IN ('upgrade', 'downgrade')"
    initial = "c.member_id BETWEEN %s AND %s AND c.reason = 'initial'"
    history = f"{CHANGE} (member_id, from_tier_id, to_tier_id, reason, at, actor_id, note)"
    written: dict[str, int] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement each: the rows changed (locked as they are; a row a concurrent
            # transaction changed is checked again as it now is) give the history rows.
            cursor.execute(
                f"""
                WITH u AS (
                    UPDATE {MEMBER_TIER}
                    SET tier_id = c.to_tier_id, since = %s, retained_until = %s,
                        updated_at = %s
                    FROM {CALC} AS c
                    WHERE {moves} AND {as_read}
                    RETURNING c.member_id, c.from_tier_id, c.to_tier_id, c.reason
                ), h AS (
                    INSERT INTO {history}
                    SELECT member_id, from_tier_id, to_tier_id, reason, %s, NULL, '' FROM u
                    RETURNING reason
                )
                SELECT reason, COUNT(*) FROM h GROUP BY reason
                """,  # nosec B608  # table names from model metadata, values are parameters
                [day, kept, at, lo, hi, at],
            )
            written.update(cursor.fetchall())
            cursor.execute(
                f"""
                WITH i AS (
                    INSERT INTO {MEMBER_TIER} (member_id, tier_id, since, retained_until,
                                               locked_until, updated_at)
                    SELECT c.member_id, c.to_tier_id, %s, %s, NULL, %s
                    FROM {CALC} AS c WHERE {initial}
                    ON CONFLICT (member_id) DO NOTHING
                    RETURNING member_id, tier_id
                )
                INSERT INTO {history}
                SELECT member_id, NULL, tier_id, 'initial', %s, NULL, '' FROM i
                """,  # nosec B608  # table names from model metadata, values are parameters
                [day, kept, at, lo, hi, at],
            )
            written["initial"] = cursor.rowcount
        else:
            # SQLite: one writer at a time, so the rows read stay as read until the commit.
            cursor.execute(
                f"""
                SELECT c.reason, COUNT(*) FROM {CALC} AS c JOIN {MEMBER_TIER} ON {as_read}
                WHERE {moves} GROUP BY c.reason
                """,  # nosec B608  # table names from model metadata, values are parameters
                [lo, hi],
            )
            written.update(cursor.fetchall())
            cursor.execute(
                f"""
                INSERT INTO {history}
                SELECT c.member_id, c.from_tier_id, c.to_tier_id, c.reason, %s, NULL, ''
                FROM {CALC} AS c JOIN {MEMBER_TIER} ON {as_read}
                WHERE {moves}
                """,  # nosec B608  # table names from model metadata, values are parameters
                [at, lo, hi],
            )
            cursor.execute(
                f"""
                UPDATE {MEMBER_TIER}
                SET tier_id = c.to_tier_id, since = %s, retained_until = %s, updated_at = %s
                FROM {CALC} AS c
                WHERE {moves} AND {as_read}
                """,  # nosec B608  # table names from model metadata, values are parameters
                [day, kept, at, lo, hi],
            )
            cursor.execute(
                f"""
                INSERT INTO {history}
                SELECT c.member_id, NULL, c.to_tier_id, 'initial', %s, NULL, ''
                FROM {CALC} AS c
                WHERE {initial}
                  AND NOT EXISTS (SELECT 1 FROM {MEMBER_TIER} WHERE member_id = c.member_id)
                """,  # nosec B608  # table names from model metadata, values are parameters
                [at, lo, hi],
            )
            written["initial"] = cursor.rowcount
            cursor.execute(
                f"""
                INSERT INTO {MEMBER_TIER} (member_id, tier_id, since, retained_until,
                                           locked_until, updated_at)
                SELECT c.member_id, c.to_tier_id, %s, %s, NULL, %s
                FROM {CALC} AS c WHERE {initial}
                ON CONFLICT (member_id) DO NOTHING
                """,  # nosec B608  # table names from model metadata, values are parameters
                [day, kept, at, lo, hi],
            )
    return written

"""Hand-written SQL of the tiers: the nightly recalculation and the what-if count.

Plain SQL that PostgreSQL and SQLite (3.33+, for ``UPDATE ... FROM``) both run, so the same
code is tested on both. The tier table is passed in as a ``VALUES`` list (a snapshot read
once per run, or the thresholds a what-if proposes), so every chunk of a run compares against
the same thresholds.

The recalculation goes in chunks of member ids, one transaction each: the per-member decision
(aggregate over the window, qualified tier, current tier, the rules) is computed once into a
temporary table, where PostgreSQL can use parallel workers; the history rows are inserted from
it, then only the members whose tier changes are updated and the missing rows inserted.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from members.models import Member, Purchase
from tiers.models import MemberTier, TierChange, TierPolicy

CHUNK = 50_000

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


def window_bounds(today: date, months: int) -> tuple[datetime, datetime]:
    """The qualifying window as aware datetimes [start, end): the local days after the same
    day ``months`` months earlier, up to and including ``today``."""
    month_index = today.year * 12 + today.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    day = min(today.day, _days_in_month(year, month))
    first_day = date(year, month, day) + timedelta(days=1)
    tz = timezone.get_default_timezone()  # the programme's, whatever a request activated
    start = datetime.combine(first_day, time.min, tzinfo=tz)
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


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
    sql = f"""
        {tiers},
        agg AS (
            SELECT member_id, SUM(total_amount - returned_amount) AS spend,
                   SUM(CASE WHEN returned_amount < total_amount THEN 1 ELSE 0 END) AS n
            FROM {PURCHASE}
            WHERE {purchase_range}occurred_at >= %s AND occurred_at < %s
            GROUP BY member_id
        ),
        q AS (
            SELECT m.id AS member_id,
                   COALESCE((SELECT t.rnk FROM t
                             WHERE t.min_spend <= COALESCE(agg.spend, 0)
                               AND t.min_purchases <= COALESCE(agg.n, 0)
                             ORDER BY t.rnk DESC LIMIT 1), %s) AS q_rank
            FROM {MEMBER} m LEFT JOIN agg ON agg.member_id = m.id
            {member_range}
        )
    """
    if ranged:
        params += [lo, hi]
    params += [ops.adapt_datetimefield_value(start), ops.adapt_datetimefield_value(end)]
    params.append(entry_rank)
    if ranged:
        params += [lo, hi]
    return sql, params


def qualified_counts(thresholds: list[Threshold], *, start: datetime, end: datetime) -> dict:
    """rank -> number of members whose qualified tier has that rank (one aggregate query)."""
    cte, params = _qualified_sql(thresholds, start, end)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {cte} SELECT q_rank, COUNT(*) FROM q GROUP BY q_rank", params)
        return {int(rank): count for rank, count in cursor.fetchall()}


_DOWNGRADE_TO = {
    TierPolicy.Downgrade.NONE: "cur.rnk",
    TierPolicy.Downgrade.ONE_LEVEL: "(SELECT MAX(t.rnk) FROM t WHERE t.rnk < cur.rnk)",
    TierPolicy.Downgrade.TO_QUALIFIED: "q.q_rank",
}


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
    for lo in range(bounds["lo"], bounds["hi"] + 1, CHUNK):
        hi = min(lo + CHUNK - 1, bounds["hi"])
        with transaction.atomic():
            chunk = _recalculate_range(
                lo,
                hi,
                thresholds=thresholds,
                policy=policy,
                today=today,
                retained_until=retained_until,
                start=start,
                end=end,
                now=now,
            )
        for key, value in chunk.items():
            counts[key] += value
    return counts


_REASON_COUNT = {
    None: "unchanged",
    "initial": "initial",
    "upgrade": "upgraded",
    "downgrade": "downgraded",
}


def _recalculate_range(
    lo: int,
    hi: int,
    *,
    thresholds: list[Threshold],
    policy: str,
    today: date,
    retained_until: date,
    start: datetime,
    end: datetime,
    now: datetime,
) -> dict[str, int]:
    ops = connection.ops
    day = ops.adapt_datefield_value(today)
    kept = ops.adapt_datefield_value(retained_until)
    at = ops.adapt_datetimefield_value(now)
    cte, params = _qualified_sql(thresholds, start, end, lo=lo, hi=hi)
    downgrade_to = _DOWNGRADE_TO[policy]
    with connection.cursor() as cursor:
        if connection.features.has_select_for_update:
            # The rows this chunk may change stay as read until it commits.
            cursor.execute(
                f"SELECT member_id FROM {MEMBER_TIER} WHERE member_id BETWEEN %s AND %s FOR UPDATE",
                [lo, hi],
            )
        cursor.execute(f"DROP TABLE IF EXISTS {CALC}")
        # One row per member of the chunk: the tier it holds, the tier it gets and why
        # (reason NULL: no change). A lock (today < locked_until) stops downgrades;
        # an upgrade the member qualifies for still happens.
        cursor.execute(
            f"""
            CREATE TEMPORARY TABLE {CALC} AS
            WITH {cte},
            d AS (
                SELECT q.member_id, mt.tier_id AS from_tier_id, cur.rnk AS cur_rank,
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
                   CASE
                       WHEN d.from_tier_id IS NULL THEN 'initial'
                       WHEN d.new_rank > d.cur_rank THEN 'upgrade'
                       WHEN d.new_rank < d.cur_rank THEN 'downgrade'
                   END AS reason
            FROM d JOIN t nt ON nt.rnk = d.new_rank
            """,
            [*params, day, day],
        )
        cursor.execute(f"SELECT reason, COUNT(*) FROM {CALC} GROUP BY reason")
        counts = {_REASON_COUNT[reason]: n for reason, n in cursor.fetchall()}
        counts["examined"] = sum(counts.values())
        cursor.execute(
            f"""
            INSERT INTO {CHANGE} (member_id, from_tier_id, to_tier_id, reason, at, actor_id,
                                  note)
            SELECT member_id, from_tier_id, to_tier_id, reason, %s, NULL, ''
            FROM {CALC} WHERE reason IS NOT NULL
            """,
            [at],
        )
        cursor.execute(
            f"""
            UPDATE {MEMBER_TIER}
            SET tier_id = c.to_tier_id, since = %s, retained_until = %s, updated_at = %s
            FROM (SELECT member_id, to_tier_id FROM {CALC}
                  WHERE reason IN ('upgrade', 'downgrade')) AS c
            WHERE {MEMBER_TIER}.member_id = c.member_id
            """,
            [day, kept, at],
        )
        cursor.execute(
            f"""
            INSERT INTO {MEMBER_TIER} (member_id, tier_id, since, retained_until, locked_until,
                                       updated_at)
            SELECT member_id, to_tier_id, %s, %s, NULL, %s
            FROM {CALC} WHERE reason = 'initial'
            ON CONFLICT (member_id) DO NOTHING
            """,
            [day, kept, at],
        )
        cursor.execute(f"DROP TABLE {CALC}")
    return counts

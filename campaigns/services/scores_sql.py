"""Hand-written SQL of the nightly member scores (RFM and lifecycle stage).

Plain SQL that PostgreSQL and SQLite (3.25+ for window functions, 3.24+ for upserts) both
run, so the same code is tested on both. One statement computes every member's figures into a
temporary table (the quintiles need the whole membership at once); the scores table is then
upserted from it in chunks of member ids, one transaction each, and a row is written only
when something in it differs, so a second run the same day writes nothing.

Quintiles are computed with ``RANK()`` rather than ``NTILE(5)``: NTILE splits equal values
across buckets in whatever order the rows come, so two members who bought exactly as often
could get different scores, and from one run to the next. Here a score is
``1 + floor(5 * (members strictly below) / members scored)``: equal values share a score (the
lower one), and with distinct values each score holds a fifth of the members, as with NTILE
(up to where the odd ones fall).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import MemberScore
from members.models import Member, Purchase
from tiers.models import MemberTier

CHUNK = 50_000

MEMBER = Member._meta.db_table
PURCHASE = Purchase._meta.db_table
MEMBER_TIER = MemberTier._meta.db_table
SCORE = MemberScore._meta.db_table
CALC = "campaigns_score_calc"

# Compared with NULL-safety on both databases (IS DISTINCT FROM needs SQLite 3.39).
_COLUMNS = (
    "recency",
    "frequency",
    "monetary",
    "lifecycle",
    "first_purchase_at",
    "last_purchase_at",
    "purchases_12m",
    "spend_12m",
    "computed_on",
)


@dataclass(frozen=True)
class Bounds:
    """The instants the computation compares purchases with (aware datetimes)."""

    window_start: datetime  # the 12-month window: [window_start, end)
    end: datetime  # the end of today: later purchases are not seen
    new_since: datetime  # first purchase at or after: new
    at_risk_before: datetime  # last purchase before: at risk
    lapsed_before: datetime  # last purchase before: lapsed


def _score(column: str) -> str:
    return f"1 + (5 * (RANK() OVER (ORDER BY {column}) - 1)) / COUNT(*) OVER ()"


def _changed(column: str) -> str:
    old, new = f"{SCORE}.{column}", f"excluded.{column}"
    return f"({old} <> {new} OR ({old} IS NULL) <> ({new} IS NULL))"


def compute(
    *, today: date, bounds: Bounds, top_tier_id: int | None, vip_rfm_min: int
) -> dict[str, int]:
    """Compute and store every member's scores for ``today``; returns the counts per stage,
    ``members``, ``scored`` (with RFM scores) and ``written`` (rows inserted or changed)."""
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value
    day = ops.adapt_datefield_value(today)
    last_day, last_day_params = ops.datetime_cast_date_sql(
        "last_12m", (), timezone.get_default_timezone_name()
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {CALC}")
        # Per member: counted purchases (not fully returned) up to the end of today, all time
        # for first/last, the window for the 12-month figures; then the quintiles among the
        # members with a purchase in the window (recency by local day), then the stage.
        cursor.execute(
            f"""
            CREATE TEMPORARY TABLE {CALC} AS
            WITH agg AS (
                SELECT member_id,
                       MIN(occurred_at) AS first_at,
                       MAX(occurred_at) AS last_at,
                       MAX(CASE WHEN occurred_at >= %s THEN occurred_at END) AS last_12m,
                       SUM(CASE WHEN occurred_at >= %s THEN 1 ELSE 0 END) AS n_12m,
                       SUM(CASE WHEN occurred_at >= %s THEN total_amount - returned_amount
                                ELSE 0 END) AS spend_12m
                FROM {PURCHASE}
                WHERE returned_amount < total_amount AND occurred_at < %s
                GROUP BY member_id
            ),
            days AS (
                SELECT member_id, n_12m, spend_12m, {last_day} AS last_day
                FROM agg WHERE n_12m > 0
            ),
            scored AS (
                SELECT member_id,
                       {_score("last_day")} AS r,
                       {_score("n_12m")} AS f,
                       {_score("spend_12m")} AS m
                FROM days
            )
            SELECT m.id AS member_id, s.r, s.f, s.m,
                   agg.first_at, agg.last_at,
                   COALESCE(agg.n_12m, 0) AS n_12m,
                   COALESCE(agg.spend_12m, 0) AS spend_12m,
                   CASE
                       WHEN agg.last_at IS NULL THEN 'potential'
                       WHEN agg.last_at < %s THEN 'lapsed'
                       WHEN agg.last_at < %s THEN 'at_risk'
                       WHEN mt.tier_id = %s OR s.r + s.f + s.m >= %s THEN 'vip'
                       WHEN agg.first_at >= %s THEN 'new'
                       ELSE 'active'
                   END AS lifecycle
            FROM {MEMBER} m
            LEFT JOIN agg ON agg.member_id = m.id
            LEFT JOIN scored s ON s.member_id = m.id
            LEFT JOIN {MEMBER_TIER} mt ON mt.member_id = m.id
            """,  # noqa: S608  # nosec B608  # table names from model metadata, values are parameters
            [
                stamp(bounds.window_start),
                stamp(bounds.window_start),
                stamp(bounds.window_start),
                stamp(bounds.end),
                *last_day_params,
                stamp(bounds.lapsed_before),
                stamp(bounds.at_risk_before),
                top_tier_id,
                vip_rfm_min,
                stamp(bounds.new_since),
            ],
        )
        cursor.execute(f"CREATE INDEX {CALC}_member ON {CALC} (member_id)")
        cursor.execute(
            f"SELECT lifecycle, COUNT(*), COUNT(r), MIN(member_id), MAX(member_id) "  # noqa: S608
            f"FROM {CALC} GROUP BY lifecycle"  # nosec B608  # table names from model metadata, values are parameters
        )
        rows = cursor.fetchall()
        counts = {stage: 0 for stage in MemberScore.Lifecycle.values}
        counts.update({stage: n for stage, n, _scored, _lo, _hi in rows})
        counts["members"] = sum(n for _stage, n, _scored, _lo, _hi in rows)
        counts["scored"] = sum(scored for _stage, _n, scored, _lo, _hi in rows)
        counts["written"] = 0
        if rows:
            lo = min(row[3] for row in rows)
            hi = max(row[4] for row in rows)
            for start in range(lo, hi + 1, CHUNK):
                with transaction.atomic():
                    counts["written"] += _upsert(cursor, start, min(start + CHUNK - 1, hi), day)
        cursor.execute(f"DROP TABLE {CALC}")
    return counts


def _upsert(cursor, lo: int, hi: int, day) -> int:
    """Insert the chunk's new rows and update the changed ones; returns how many."""
    assignments = ",\n".join(f"{column} = excluded.{column}" for column in _COLUMNS)
    changed = "\n OR ".join(_changed(column) for column in _COLUMNS)
    cursor.execute(
        f"""
        INSERT INTO {SCORE} (member_id, recency, frequency, monetary, lifecycle, lifecycle_since,
                             first_purchase_at, last_purchase_at, purchases_12m, spend_12m,
                             computed_on)
        SELECT member_id, r, f, m, lifecycle, %s, first_at, last_at, n_12m, spend_12m, %s
        FROM {CALC} WHERE member_id BETWEEN %s AND %s
        ON CONFLICT (member_id) DO UPDATE SET
            lifecycle_since = CASE WHEN {SCORE}.lifecycle = excluded.lifecycle
                                   THEN {SCORE}.lifecycle_since
                                   ELSE excluded.lifecycle_since END,
            {assignments}
        WHERE {changed}
        """,  # noqa: S608  # nosec B608  # table names from model metadata, values are parameters
        [day, day, lo, hi],
    )
    return max(cursor.rowcount, 0)

"""The POS hot path in SQL (PostgreSQL): a purchase that only earns pending points.

Two statements instead of ten: one reads the member and their tier by card number, one
writes everything (the purchase, its pending lot and earn entry, the account's balance, the
upgrade the purchase earns with its history row, and the idempotency record with the
response). The general ORM path of
``pos.services.purchases`` does the same for everything else, and on SQLite; the test
suite runs both (see bench/pos_earn for why: on this machine kind every statement's
planning costs about a millisecond of database CPU).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection

from members.models import Member, PointAccount, PointEntry, PointLot, Purchase
from pos.models import IdempotencyRecord
from pos.services.idempotency import receipt_lock_key, receipt_lock_sql
from tiers.models import MemberTier, Tier, TierChange

MEMBER = Member._meta.db_table
MEMBER_TIER = MemberTier._meta.db_table
PURCHASE = Purchase._meta.db_table
LOT = PointLot._meta.db_table
ENTRY = PointEntry._meta.db_table
ACCOUNT = PointAccount._meta.db_table
IDEMPOTENCY = IdempotencyRecord._meta.db_table
TIER_CHANGE = TierChange._meta.db_table


@dataclass(frozen=True)
class UpgradeCheck:
    """What the statement needs to move the member up at once: their tier as read (None: no
    tier row yet), the tiers above it, the qualifying window and the new tier's dates."""

    current_tier_id: int | None
    higher: list[Tier]
    window_start: datetime
    window_end: datetime
    today: date
    retained_until: date


def _upgrade_sql(upgrade: UpgradeCheck) -> tuple[str, str, dict]:
    """CTEs that move the member to the highest tier above theirs whose minimums the window's
    purchases meet, counting this one (which the statement's snapshot does not see: its amount
    and count are added), the tier row changed only if it still holds the tier read (a
    concurrent change wins; the nightly job settles the rest); plus the response's tier
    fields. Counted as ``tiers.selectors.member_qualifying_figures`` counts."""
    if not upgrade.higher:
        return "", "", {}
    rows = ", ".join(
        f"(%(t{i}_id)s, %(t{i}_rank)s, CAST(%(t{i}_spend)s AS NUMERIC), %(t{i}_n)s, "
        f"%(t{i}_code)s, %(t{i}_name)s)"
        for i in range(len(upgrade.higher))
    )
    params: dict = {
        "current_tier": upgrade.current_tier_id,
        "w_start": upgrade.window_start,
        "w_end": upgrade.window_end,
        "today": upgrade.today,
        "kept": upgrade.retained_until,
    }
    for i, tier in enumerate(upgrade.higher):
        params |= {
            f"t{i}_id": tier.pk,
            f"t{i}_rank": tier.rank,
            f"t{i}_spend": str(tier.min_spend),
            f"t{i}_n": tier.min_purchases,
            f"t{i}_code": tier.code,
            f"t{i}_name": tier.name,
        }
    ctes = f"""
            , agg AS (
                SELECT COALESCE(SUM(total_amount - returned_amount), 0) + %(total)s AS spend,
                       COUNT(*) FILTER (WHERE returned_amount < total_amount)
                       + CASE WHEN %(total)s > 0 THEN 1 ELSE 0 END AS n
                FROM {PURCHASE}
                WHERE member_id = %(member)s AND occurred_at >= %(w_start)s
                  AND occurred_at < %(w_end)s
            ), up AS (
                SELECT t.id, t.code, t.name
                FROM (VALUES {rows}) AS t (id, rnk, min_spend, min_n, code, name), agg, p
                WHERE t.min_spend <= agg.spend AND t.min_n <= agg.n
                ORDER BY t.rnk DESC LIMIT 1
            ), old AS (
                SELECT since, retained_until FROM {MEMBER_TIER} WHERE member_id = %(member)s
            ), mt AS (
                INSERT INTO {MEMBER_TIER} (member_id, tier_id, since, retained_until,
                    locked_until, updated_at)
                SELECT %(member)s, up.id, %(today)s, %(kept)s, NULL, %(now)s FROM up
                ON CONFLICT (member_id) DO UPDATE
                SET tier_id = EXCLUDED.tier_id, since = EXCLUDED.since,
                    retained_until = EXCLUDED.retained_until, updated_at = EXCLUDED.updated_at
                WHERE {MEMBER_TIER}.tier_id = %(current_tier)s
                RETURNING tier_id
            ), tc AS (
                INSERT INTO {TIER_CHANGE} (member_id, from_tier_id, to_tier_id, reason, at,
                    actor_id, note, purchase_id, previous_since, previous_retained_until)
                SELECT %(member)s, %(current_tier)s, mt.tier_id, 'upgrade', %(now)s, NULL, '',
                    p.id, old.since, old.retained_until
                FROM mt CROSS JOIN p LEFT JOIN old ON TRUE
            )"""  # nosec B608  # table names from model metadata, values are parameters
    response = """,
                        'tier', COALESCE(
                            (SELECT jsonb_build_object('code', up.code, 'name', up.name)
                             FROM up WHERE EXISTS (SELECT 1 FROM mt)),
                            %(body)s::jsonb -> 'tier'),
                        'tier_changed', EXISTS (SELECT 1 FROM mt)"""
    return ctes, response, params


def member_by_card(card_number: str) -> tuple[int, str, str, int | None] | None:
    """(member id, card number, status, tier id or None) for a card."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT m.id, m.card_number, m.status, mt.tier_id
            FROM {MEMBER} m LEFT JOIN {MEMBER_TIER} mt ON mt.member_id = m.id
            WHERE m.card_number = %s
            """,  # nosec B608  # table names from model metadata, values are parameters
            [card_number],
        )
        return cursor.fetchone()


def record_earn_only(
    *,
    upgrade: UpgradeCheck,
    store_id: int,
    external_id: str,
    request_hash: str,
    body: dict,
    member_id: int,
    occurred_at: datetime,
    total_amount,
    items: list,
    payment_fingerprint: str,
    points: int,
    earned_on: date,
    matures_on: date,
    expires_on: date,
    now: datetime,
) -> dict | None:
    """Write the purchase and everything it changes; return the stored response (``body``
    with the purchase id and the balance after it), or None when the store already has
    this receipt (a concurrent or earlier request with the same id, or an import): nothing
    is written then. The receipt's advisory lock is taken first, as the general path's
    ``idempotency._claim`` takes it, so a concurrent request with this id (by either path)
    waits for the first to commit, and the two never deadlock on the rows each locks after
    it. The account row is locked by the UPDATE, so purchases of one member serialise
    there, as on the ORM path."""
    upgrade_ctes, upgrade_response, upgrade_params = _upgrade_sql(upgrade)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH {receipt_lock_sql()}, p AS (
                INSERT INTO {PURCHASE} (store_id, member_id, external_id, occurred_at,
                    total_amount, voucher_discount, points_redeemed, points_discount,
                    amount_due, points_earned, items, returned_amount, points_reversed,
                    points_refunded, source, payment_fingerprint, created_at)
                SELECT %(store)s, %(member)s, %(external_id)s, %(occurred_at)s, %(total)s,
                    0, 0, 0, %(total)s, %(points)s, %(items)s, 0, 0, 0, 'pos', %(fingerprint)s,
                    %(now)s
                FROM receipt_lock
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
            ){upgrade_ctes}, i AS (
                INSERT INTO {IDEMPOTENCY} (store_id, kind, external_id, request_hash,
                    status_code, response, created_at)
                SELECT %(store)s, 'transaction', %(external_id)s, %(hash)s, 201,
                    %(body)s::jsonb || jsonb_build_object(
                        'id', p.id,
                        'balance', jsonb_build_object('available', a.available,
                                                      'pending', a.pending){upgrade_response}),
                    %(now)s
                FROM p, a
                RETURNING response
            )
            SELECT response FROM i
            """,  # nosec B608  # table names from model metadata, values are parameters
            {
                "receipt_lock": receipt_lock_key(store_id, "transaction", external_id),
                "store": store_id,
                "member": member_id,
                "external_id": external_id,
                "occurred_at": occurred_at,
                "total": total_amount,
                "points": points,
                "items": json.dumps(items),
                "fingerprint": payment_fingerprint,
                "earned_on": earned_on,
                "matures_on": matures_on,
                "expires_on": expires_on,
                "now": now,
                "hash": request_hash,
                "body": json.dumps(body),
                **upgrade_params,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    response = row[0]
    return json.loads(response) if isinstance(response, str) else response

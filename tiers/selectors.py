"""Reads about tiers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from loyalty.cache import cached, forget
from members.selectors import program_get
from tiers import services_sql
from tiers.models import MemberTier, Tier


def tiers_ordered() -> list[Tier]:
    """Every tier, entry tier first (kept in process: read on every purchase)."""
    return cached("tiers", lambda: list(Tier.objects.order_by("rank")))


def tier_entry() -> Tier:
    return tiers_ordered()[0]


def _tier_by_id(tier_id: int) -> Tier | None:
    return next((tier for tier in tiers_ordered() if tier.pk == tier_id), None)


def tier_of_member(member_id: int) -> Tier:
    """The member's current tier: their ``MemberTier``'s, or the entry tier until the
    nightly job has given them one. One query (the tier table comes from the process cache).
    """
    tier_id = MemberTier.objects.filter(pk=member_id).values_list("tier_id", flat=True).first()
    return tier_from_id(tier_id)


def tier_from_id(tier_id: int | None) -> Tier:
    """A tier by id from the process cache (the entry tier for None), for callers that
    already read the member's tier id."""
    if tier_id is None:
        return tier_entry()
    tier = _tier_by_id(tier_id)
    if tier is None:  # a tier created since this process cached the table
        forget("tiers")
        tier = _tier_by_id(tier_id) or tier_entry()
    return tier


def tier_whatif(*, thresholds: dict[str, tuple], today: date) -> dict[str, int]:
    """How many members would qualify for each tier (code -> count) if the tiers given in
    ``thresholds`` (code -> (min_spend, min_purchases)) had those minimums; tiers not given
    keep theirs. Counts the qualified tier the nightly job computes, over the same window,
    ignoring retention and locks. One aggregate query; changes nothing."""
    tiers = list(Tier.objects.order_by("rank"))
    unknown = set(thresholds) - {tier.code for tier in tiers}
    if unknown:
        raise ValueError(f"unknown tier codes: {sorted(unknown)}")
    rows = []
    for tier in tiers:
        min_spend, min_purchases = thresholds.get(tier.code, (tier.min_spend, tier.min_purchases))
        rows.append(
            services_sql.Threshold(tier.pk, tier.rank, Decimal(min_spend), int(min_purchases))
        )
    start, end = services_sql.window_bounds(today, program_get().tier_window_months)
    by_rank = services_sql.qualified_counts(rows, start=start, end=end)
    return {tier.code: by_rank.get(tier.rank, 0) for tier in tiers}

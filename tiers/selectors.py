"""Reads about tiers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from loyalty.cache import cached, forget
from members.models import Purchase
from members.selectors import program_get
from tiers import services_sql
from tiers.models import MemberTier, Tier, TierChange, TierPolicy


def tier_policy_get() -> TierPolicy:
    """The tier policy (one row, created by migration; its defaults if the row is gone,
    say after a ``flush``)."""
    return TierPolicy.objects.filter(pk=TierPolicy.SINGLETON_ID).first() or TierPolicy()


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
    keep theirs. Counts the qualified tier the nightly job of ``today`` computes, over the
    same window (``services_sql.tier_job_window``: up to the end of the day before), ignoring
    retention and locks. One aggregate query; changes nothing."""
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
    start, end = services_sql.tier_job_window(today, program_get().tier_window_months)
    by_rank = services_sql.qualified_counts(rows, start=start, end=end)
    return {tier.code: by_rank.get(tier.rank, 0) for tier in tiers}


def member_qualifying_figures(member_id: int, *, today: date) -> tuple[Decimal, int]:
    """(net spend, purchases not fully returned) of one member over the live window of
    ``today`` (``services_sql.tier_live_window``: from the first day the nightly job of
    ``today`` counts up to now), as the till counts them. One query."""
    start, end = services_sql.tier_live_window(today, program_get().tier_window_months)
    figures = Purchase.objects.filter(
        member_id=member_id, occurred_at__gte=start, occurred_at__lt=end
    ).aggregate(
        spend=Sum(F("total_amount") - F("returned_amount")),
        purchases=Count("id", filter=Q(returned_amount__lt=F("total_amount"))),
    )
    return figures["spend"] or Decimal(0), figures["purchases"] or 0


def tier_qualified(spend: Decimal, purchases: int) -> Tier:
    """The highest tier whose two minimums ``spend`` and ``purchases`` both meet (the entry
    tier otherwise), from the process cache of the tier table."""
    met = [t for t in tiers_ordered() if t.min_spend <= spend and t.min_purchases <= purchases]
    return met[-1] if met else tier_entry()


@dataclass(frozen=True)
class TierProgress:
    """Where a member stands: for the portal and the API."""

    tier: Tier
    window_start: date
    window_end: date
    spend: Decimal
    purchases: int
    next_tier: Tier | None
    spend_to_next: Decimal
    purchases_to_next: int
    retained_until: date | None
    spend_to_keep: Decimal
    purchases_to_keep: int


def tier_progress(member_id: int, *, today: date | None = None) -> TierProgress:
    """What the member needs to reach the next tier, and to keep theirs at the review
    after ``retained_until``, counted as the till counts (net spend and purchases not fully
    returned, over the live window: from ``window_start``, the first day the nightly job of
    ``today`` counts, up to now)."""
    today = today or timezone.localdate()
    start, _end = services_sql.tier_live_window(today, program_get().tier_window_months)
    spend, purchases = member_qualifying_figures(member_id, today=today)
    status = MemberTier.objects.filter(pk=member_id).first()
    tier = tier_from_id(status.tier_id if status else None)
    higher = [t for t in tiers_ordered() if t.rank > tier.rank]
    next_tier = higher[0] if higher else None
    return TierProgress(
        tier=tier,
        window_start=timezone.localdate(start),
        window_end=today,
        spend=spend,
        purchases=purchases,
        next_tier=next_tier,
        spend_to_next=max(next_tier.min_spend - spend, Decimal(0)) if next_tier else Decimal(0),
        purchases_to_next=max(next_tier.min_purchases - purchases, 0) if next_tier else 0,
        retained_until=status.retained_until if status else None,
        spend_to_keep=max(tier.min_spend - spend, Decimal(0)),
        purchases_to_keep=max(tier.min_purchases - purchases, 0),
    )


def tier_upgrades_between(start: datetime, end: datetime) -> QuerySet[TierChange]:
    """Upgrades recorded in [start, end): the events the campaigns send "welcome to your
    new tier" for (by the purchase that crossed a threshold, or the nightly job)."""
    return (
        TierChange.objects.filter(reason=TierChange.Reason.UPGRADE, at__gte=start, at__lt=end)
        .select_related("member", "from_tier", "to_tier")
        .order_by("at", "id")
    )


@dataclass(frozen=True)
class DowngradeNotice:
    """A member whose tier comes up for review on ``review_on`` and who, counted today, no
    longer meets it: what they would go down to, and what they need to keep it."""

    member_id: int
    tier: Tier
    to_tier: Tier
    review_on: date
    spend_to_keep: Decimal
    purchases_to_keep: int


def tier_downgrades_due(*, today: date, days_ahead: int = 30) -> list[DowngradeNotice]:
    """Who to tell of a coming downgrade ``days_ahead`` days before their review (the first
    day the nightly job may move them down: the day after ``retained_until``): members not
    locked past it, whose net spend or purchases, counted as the nightly job of ``today``
    counts them (``services_sql.tier_job_window``), fall short of their tier, under a
    downgrade policy other than ``none``. One query; the list holds only the members due
    that day."""
    policy = tier_policy_get().downgrade_policy
    if policy == TierPolicy.Downgrade.NONE:
        return []
    review_on = today + timedelta(days=days_ahead)
    start, end = services_sql.tier_job_window(today, program_get().tier_window_months)
    in_window = Purchase.objects.filter(
        member_id=OuterRef("member_id"), occurred_at__gte=start, occurred_at__lt=end
    ).values("member_id")
    spend = in_window.annotate(s=Sum(F("total_amount") - F("returned_amount"))).values("s")
    count = in_window.annotate(
        n=Count("id", filter=Q(returned_amount__lt=F("total_amount")))
    ).values("n")
    rows = (
        MemberTier.objects.filter(retained_until=review_on - timedelta(days=1))
        .exclude(locked_until__gt=review_on)
        .annotate(
            spend=Coalesce(Subquery(spend), Value(Decimal(0)), output_field=DecimalField()),
            purchases=Coalesce(Subquery(count), Value(0)),
        )
        .filter(Q(spend__lt=F("tier__min_spend")) | Q(purchases__lt=F("tier__min_purchases")))
        .order_by("member_id")
        .values_list("member_id", "tier_id", "spend", "purchases")
    )
    notices = []
    for member_id, tier_id, spent, purchases in rows:
        tier = tier_from_id(tier_id)
        if policy == TierPolicy.Downgrade.ONE_LEVEL:
            lower = [t for t in tiers_ordered() if t.rank < tier.rank]
            to_tier = lower[-1] if lower else tier
        else:
            to_tier = tier_qualified(spent, purchases)
        if to_tier.rank >= tier.rank:
            continue
        notices.append(
            DowngradeNotice(
                member_id=member_id,
                tier=tier,
                to_tier=to_tier,
                review_on=review_on,
                spend_to_keep=max(tier.min_spend - spent, Decimal(0)),
                purchases_to_keep=max(tier.min_purchases - purchases, 0),
            )
        )
    return notices

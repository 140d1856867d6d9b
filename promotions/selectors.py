"""Reads about promotions and referrals: what runs now (kept in process for the POS), the
public body of a promotion, a member's referrals, the referral funnel and top referrers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from loyalty.cache import cached
from loyalty.money import money_text
from members.models import Member, Purchase
from members.selectors import program_cached
from promotions.models import ActivityBonus, Promotion, Referral, ReferralProgram

PROMOTIONS_CACHE_KEY = "promotions:running"


# ---------------------------------------------------------------------------------------------
# Promotions


def _promotions_load() -> list[Promotion]:
    """Active promotions that have not ended, or ended recently enough for a back-dated
    purchase (the programme's ``backdate_days``) to fall inside them, with their store and
    tier restrictions read once (``store_ids``, ``tier_ids``, ``store_codes``,
    ``tier_codes`` set on each instance)."""
    horizon = timezone.now() - timedelta(days=program_cached().backdate_days + 1)
    promotions = list(
        Promotion.objects.filter(is_active=True, ends_at__gt=horizon)
        .prefetch_related("stores", "tiers")
        .order_by("starts_at", "id")
    )
    for promotion in promotions:
        stores = list(promotion.stores.all())
        tiers = sorted(promotion.tiers.all(), key=lambda tier: tier.rank)
        promotion.store_ids = frozenset(store.pk for store in stores)
        promotion.store_codes = sorted(store.code for store in stores)
        promotion.tier_ids = frozenset(tier.pk for tier in tiers)
        promotion.tier_codes = [tier.code for tier in tiers]
        promotion.category_set = frozenset(c.strip().lower() for c in promotion.categories)
        promotion.sku_set = frozenset(s.strip() for s in promotion.skus)
    return promotions


def promotions_running(*, at: datetime) -> list[Promotion]:
    """The active promotions whose period contains ``at`` (``starts_at <= at < ends_at``),
    oldest start first. Days of the week and hours are conditions of each purchase, checked
    by ``promotions_for_purchase``, not here: a weekend promotion runs (and shows) all week.

    Kept in process like the tier table (``loyalty.cache``: cleared when a promotion or its
    stores or tiers are saved in this process, within ``LOYALTY_RULES_CACHE_SECONDS`` in the
    others); no query at all while the cache is warm, and an empty list costs nothing. The
    instances are shared: read them, never change them."""
    return [
        p for p in cached(PROMOTIONS_CACHE_KEY, _promotions_load) if p.starts_at <= at < p.ends_at
    ]


def _hhmm(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value else None


def promotion_public_body(promotion: Promotion) -> dict:
    """A promotion as ``GET /api/v1/pos/program/`` lists it under ``"promotions"`` (money as
    decimal strings, times ISO 8601 in the programme's time zone, days ISO 1 Monday … 7
    Sunday, hours local ``HH:MM`` with the end excluded, ``null`` for no limit). Reads the
    restrictions loaded by ``promotions_running`` (and the database for an instance that
    did not come from there)."""
    if not hasattr(promotion, "store_codes"):
        promotion.store_codes = sorted(promotion.stores.values_list("code", flat=True))
        promotion.tier_codes = list(promotion.tiers.order_by("rank").values_list("code", flat=True))
    hours = None
    if promotion.start_time or promotion.end_time:
        hours = {"from": _hhmm(promotion.start_time), "until": _hhmm(promotion.end_time)}
    return {
        "code": promotion.code,
        "name": promotion.name,
        "name_en": promotion.name_en,
        "description": promotion.description_local,
        "kind": promotion.kind,
        "multiplier": money_text(promotion.multiplier)
        if promotion.multiplier is not None
        else None,
        "bonus_points": promotion.bonus_points,
        "min_amount": money_text(promotion.min_amount),
        "starts_at": timezone.localtime(promotion.starts_at).isoformat(),
        "ends_at": timezone.localtime(promotion.ends_at).isoformat(),
        "days_of_week": sorted(promotion.days_of_week or []),
        "hours": hours,
        "stacking": promotion.stacking,
        "cap_points_per_member": promotion.cap_points_per_member,
        "restrictions": {
            "tiers": list(promotion.tier_codes),
            "stores": list(promotion.store_codes),
            "segment": promotion.segment or None,
            "categories": list(promotion.categories or []),
            "skus": list(promotion.skus or []),
        },
    }


def promotion_awards_body(outcome) -> list[dict]:
    """Which promotions gave how many points on a purchase, for the POS response:
    ``[{"code", "name", "points"}]`` from a ``PromotionOutcome``."""
    return [
        {"code": promotion.code, "name": promotion.name, "points": points}
        for promotion, points in outcome.awards
    ]


# ---------------------------------------------------------------------------------------------
# Referrals


def referral_program_get() -> ReferralProgram:
    """The referral rules (one row, created by migration; its defaults if the row is gone,
    say after a ``flush`` before ``post_migrate``)."""
    return (
        ReferralProgram.objects.select_related("referrer_reward", "referee_reward")
        .filter(pk=ReferralProgram.SINGLETON_ID)
        .first()
        or ReferralProgram()
    )


@dataclass(frozen=True)
class MemberReferrals:
    """A member's referrals (newest first, at most ``limit``), counted by status, and what
    they earned from them as the referrer."""

    referrals: list[Referral]
    counts: dict[str, int]
    points_earned: int
    vouchers_earned: int
    total: int = 0
    own: Referral | None = field(default=None)


def referrals_of_member(member: Member, *, limit: int = 50) -> MemberReferrals:
    """The referrals ``member`` made (with each new member) and totals: two queries, plus
    one for the referral that brought ``member`` in (``own``)."""
    referrals = list(
        Referral.objects.filter(referrer=member)
        .select_related("referee")
        .order_by("-joined_at", "-id")[:limit]
    )
    totals = Referral.objects.filter(referrer=member).aggregate(
        total=Count("id"),
        pending=Count("id", filter=Q(status=Referral.Status.PENDING)),
        held=Count("id", filter=Q(status=Referral.Status.HELD)),
        rewarded=Count("id", filter=Q(status=Referral.Status.REWARDED)),
        refused=Count("id", filter=Q(status=Referral.Status.REFUSED)),
        points=Sum("referrer_points"),
        vouchers=Count("id", filter=Q(referrer_voucher__isnull=False)),
    )
    own = Referral.objects.filter(referee=member).select_related("referrer").first()
    return MemberReferrals(
        referrals=referrals,
        counts={status: totals[status] for status in Referral.Status.values},
        points_earned=totals["points"] or 0,
        vouchers_earned=totals["vouchers"],
        total=totals["total"],
        own=own,
    )


def _local_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in the programme's time zone."""
    tz = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


@dataclass(frozen=True)
class ReferralFunnel:
    joined: int
    first_purchase: int
    rewarded: int
    pending: int
    held: int
    refused: int


def referral_funnel(start: date, end: date) -> ReferralFunnel:
    """The referrals whose new member joined between ``start`` and ``end`` (local dates,
    both included): how many joined, how many of those made a first purchase (any
    purchase), how many were rewarded, and where the others stand. One query."""
    bought = Purchase.objects.filter(member_id=OuterRef("referee_id"))
    row = (
        Referral.objects.filter(joined_on__gte=start, joined_on__lte=end)
        .annotate(bought=Exists(bought))
        .aggregate(
            joined=Count("id"),
            first_purchase=Count("id", filter=Q(bought=True)),
            rewarded=Count("id", filter=Q(status=Referral.Status.REWARDED)),
            pending=Count("id", filter=Q(status=Referral.Status.PENDING)),
            held=Count("id", filter=Q(status=Referral.Status.HELD)),
            refused=Count("id", filter=Q(status=Referral.Status.REFUSED)),
        )
    )
    return ReferralFunnel(**row)


def top_referrers(start: date, end: date, limit: int = 10) -> QuerySet:
    """The members who brought in the most new members between ``start`` and ``end``
    (local join dates, both included), by referrals rewarded, then joined: rows of
    ``referrer_id``, ``name``, ``card_number``, ``joined``, ``rewarded``, ``points``
    (what they earned from them). One query."""
    return (
        Referral.objects.filter(joined_on__gte=start, joined_on__lte=end)
        .values("referrer_id")
        .annotate(
            joined=Count("id"),
            rewarded=Count("id", filter=Q(status=Referral.Status.REWARDED)),
            points=Sum("referrer_points"),
        )
        .values(
            "referrer_id",
            "joined",
            "rewarded",
            "points",
            name=F("referrer__full_name"),
            card_number=F("referrer__card_number"),
        )
        .order_by("-rewarded", "-joined", "referrer_id")[:limit]
    )


# ---------------------------------------------------------------------------------------------
# Activity bonuses


def activity_bonus_points(kind: str) -> int:
    """The points of an active activity bonus (0 when it is off or missing), kept in
    process (cleared when a bonus is saved)."""
    rules = cached(
        "activity_bonuses",
        lambda: {
            bonus.kind: bonus.points for bonus in ActivityBonus.objects.filter(is_active=True)
        },
    )
    return rules.get(kind, 0)


def reviewable_purchases(member: Member, *, today: date | None = None, days: int = 30):
    """The member's purchases of the last ``days`` local days (today included) not fully
    returned, newest first, each with ``reviewed`` (True when already reviewed)."""
    from promotions.models import PurchaseReview

    today = today or timezone.localdate()
    since, _until = _local_bounds(today - timedelta(days=days - 1), today)
    return (
        Purchase.objects.filter(member=member, occurred_at__gte=since)
        .exclude(returned_amount__gte=F("total_amount"))
        .select_related("store")
        .annotate(reviewed=Exists(PurchaseReview.objects.filter(purchase_id=OuterRef("pk"))))
        .order_by("-occurred_at", "-id")
    )

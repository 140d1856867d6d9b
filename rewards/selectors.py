"""Reads about rewards and vouchers. ``reward_availability`` is the one place that decides
whether a member may redeem a reward, and why not; the portal, the staff pages and the POS
all ask it (``rewards_for_member`` asks it for the whole catalogue at once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from loyalty.formatting import date_display, points_display
from loyalty.money import money_text
from members.models import Member, PointAccount
from rewards import segments
from rewards.codes import voucher_code_is_valid, voucher_code_normalize
from rewards.models import PartnerCode, Reward, RewardTierPrice, Voucher
from tiers.models import Tier
from tiers.selectors import tier_from_id, tier_of_member

# Why a reward is unavailable, in the order they are checked (the first that applies is
# the one reported).
REASON_CODES = (
    "member_blocked",
    "inactive",
    "not_started",
    "ended",
    "tier_too_low",
    "segment",
    "out_of_stock",
    "limit_reached",
    "monthly_limit_reached",
    "insufficient_points",
)


@dataclass
class RewardOffer:
    """A reward as one member sees it: what it costs them, and whether they can have it."""

    reward: Reward
    points_cost: int
    available: bool
    reason: str | None = None
    reason_code: str | None = None


@dataclass
class _Facts:
    """What the decision needs about the member, read once for a whole catalogue."""

    member: Member
    tier: Tier
    balance: int
    today: date
    # reward id -> (vouchers redeemed and not cancelled: ever, this calendar month)
    counts: dict[int, tuple[int, int]] = field(default_factory=dict)


def _month_start(today: date) -> datetime:
    return timezone.make_aware(datetime.combine(today.replace(day=1), time.min))


def _redeemed_counts(member_id: int, today: date, reward_ids=None) -> dict[int, tuple[int, int]]:
    """Per reward, how many the member redeemed (cancelled ones given back), in all and
    since the first of ``today``'s month. One query."""
    vouchers = Voucher.objects.filter(member_id=member_id, source=Voucher.Source.REDEEMED).exclude(
        status=Voucher.Status.CANCELLED
    )
    if reward_ids is not None:
        vouchers = vouchers.filter(reward_id__in=reward_ids)
    rows = (
        vouchers.values("reward_id")
        .annotate(
            total=Count("id"), month=Count("id", filter=Q(issued_at__gte=_month_start(today)))
        )
        .order_by()
    )
    return {row["reward_id"]: (row["total"], row["month"]) for row in rows}


def _balance(member_id: int) -> int:
    return (
        PointAccount.objects.filter(pk=member_id).values_list("available", flat=True).first() or 0
    )


def _partner_codes_left_subquery():
    free = (
        PartnerCode.objects.filter(reward=OuterRef("pk"), voucher__isnull=True)
        .order_by()
        .values("reward")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(free, output_field=IntegerField()), Value(0))


def partner_codes_left(reward: Reward) -> int:
    """Codes of the reward's pool not handed out yet (annotated on catalogue rows)."""
    annotated = getattr(reward, "partner_codes_left", None)
    if annotated is not None:
        return annotated
    return PartnerCode.objects.filter(reward=reward, voucher__isnull=True).count()


def tier_label(tier: Tier) -> str:
    return tier.name_local


def reward_points_cost(reward: Reward, tier: Tier) -> int:
    """What the reward costs a member of ``tier``: the lowest of its points cost and the
    prices set for that tier and the tiers below it (a Gold price holds for Diamond too).
    Reads ``reward.tier_prices`` (prefetch it for a list)."""
    cost = reward.points_cost
    for price in reward.tier_prices.all():
        if tier_from_id(price.tier_id).rank <= tier.rank:
            cost = min(cost, price.points_cost)
    return cost


def _decide(reward: Reward, facts: _Facts) -> RewardOffer:
    cost = reward_points_cost(reward, facts.tier)

    def refuse(code: str, text: str) -> RewardOffer:
        return RewardOffer(reward, cost, False, text, code)

    today = facts.today
    if facts.member.is_blocked:
        return refuse("member_blocked", _("Your membership is blocked."))
    if not reward.is_active:
        return refuse("inactive", _("Not offered at the moment."))
    if reward.available_from and today < reward.available_from:
        return refuse(
            "not_started",
            _("Available from %(date)s.") % {"date": date_display(reward.available_from)},
        )
    if reward.available_until and today > reward.available_until:
        return refuse("ended", _("No longer available."))
    if reward.min_tier_id is not None:
        needed = tier_from_id(reward.min_tier_id)
        if facts.tier.rank < needed.rank:
            return refuse("tier_too_low", _("Needs %(tier)s") % {"tier": tier_label(needed)})
    if reward.segment and not segments.member_in_segment(facts.member, reward.segment):
        return refuse("segment", _("Only for selected members."))
    if reward.stock_total is not None and reward.stock_issued >= reward.stock_total:
        return refuse("out_of_stock", _("Out of stock"))
    if reward.kind == Reward.Kind.PARTNER and partner_codes_left(reward) <= 0:
        return refuse("out_of_stock", _("Out of stock"))
    ever, this_month = facts.counts.get(reward.pk, (0, 0))
    if reward.limit_per_member is not None and ever >= reward.limit_per_member:
        return refuse("limit_reached", _("You have already redeemed the most allowed."))
    if reward.limit_per_member_month is not None and this_month >= reward.limit_per_member_month:
        return refuse("monthly_limit_reached", _("You have reached this month's limit."))
    if facts.balance < cost:
        short = cost - facts.balance
        return refuse(
            "insufficient_points",
            ngettext("%(points)s point short", "%(points)s points short", short)
            % {"points": points_display(short)},
        )
    return RewardOffer(reward, cost, True)


def _local_today(today: date | None) -> date:
    return today or timezone.localdate()


def rewards_listed(*, today: date | None = None) -> QuerySet[Reward]:
    """The catalogue on ``today``: active rewards inside their dates, with their tier prices
    and the partner codes left. Two queries."""
    today = _local_today(today)
    return (
        Reward.objects.filter(is_active=True)
        .filter(Q(available_from__isnull=True) | Q(available_from__lte=today))
        .filter(Q(available_until__isnull=True) | Q(available_until__gte=today))
        .annotate(partner_codes_left=_partner_codes_left_subquery())
        .prefetch_related("tier_prices")
        .order_by("points_cost", "id")
    )


def rewards_for_member(member: Member, *, today: date | None = None) -> list[RewardOffer]:
    """The catalogue as ``member`` sees it: each reward with its cost for their tier and
    whether they can redeem it now (and why not); the ones they can redeem first, then by
    cost. Five queries, whatever the size of the catalogue (plus whatever the segment
    checker of campaigns reads)."""
    today = _local_today(today)
    facts = _Facts(
        member=member,
        tier=tier_of_member(member.pk),
        balance=_balance(member.pk),
        today=today,
        counts=_redeemed_counts(member.pk, today),
    )
    offers = [_decide(reward, facts) for reward in rewards_listed(today=today)]
    offers.sort(key=lambda o: (not o.available, o.points_cost, o.reward.name, o.reward.pk))
    return offers


def reward_availability(
    member: Member, reward: Reward, *, today: date | None = None, balance: int | None = None
) -> RewardOffer:
    """Whether ``member`` may redeem ``reward`` now, and what it costs them. ``balance``
    is the locked account's, when the caller holds the lock (redemption)."""
    today = _local_today(today)
    limited = reward.limit_per_member is not None or reward.limit_per_member_month is not None
    facts = _Facts(
        member=member,
        tier=tier_of_member(member.pk),
        balance=_balance(member.pk) if balance is None else balance,
        today=today,
        counts=_redeemed_counts(member.pk, today, [reward.pk]) if limited else {},
    )
    return _decide(reward, facts)


def rewards_with_pool_counts() -> QuerySet[Reward]:
    """Every reward with ``partner_codes_left`` (the staff's list)."""
    return Reward.objects.select_related("min_tier").annotate(
        partner_codes_left=_partner_codes_left_subquery()
    )


def reward_tier_prices(reward: Reward) -> QuerySet[RewardTierPrice]:
    return reward.tier_prices.select_related("tier").order_by("tier__rank")


# ---------------------------------------------------------------------------------------------
# Vouchers


def voucher_find(code: str) -> Voucher | None:
    """The voucher a code means, typed with or without dashes, spaces or lower case. None
    when there is none, or the code's check character is wrong (no query then)."""
    if not voucher_code_is_valid(code):
        return None
    return (
        Voucher.objects.select_related("reward", "member")
        .filter(code=voucher_code_normalize(code))
        .first()
    )


def voucher_of_member(member: Member, code: str) -> Voucher | None:
    """One of ``member``'s vouchers by code (the portal's voucher page), or None."""
    if not voucher_code_is_valid(code):
        return None
    return (
        Voucher.objects.select_related("reward", "used_on")
        .filter(member=member, code=voucher_code_normalize(code))
        .first()
    )


def vouchers_of_member(member: Member) -> QuerySet[Voucher]:
    """The member's vouchers: those ready to use first (soonest to expire first), then the
    rest, newest first."""
    ready_first = Case(When(status=Voucher.Status.ISSUED, then=Value(0)), default=Value(1))
    return (
        Voucher.objects.filter(member=member)
        .select_related("reward")
        .annotate(ready_first=ready_first)
        .order_by("ready_first", "valid_until", "-issued_at", "-id")
    )


def vouchers_expiring_on(day: date) -> QuerySet[Voucher]:
    """Vouchers still to use whose last valid day is ``day``: for the reminder that
    campaigns sends 7 days ahead (``vouchers_expiring_on(today + 7 days)``)."""
    return (
        Voucher.objects.filter(status=Voucher.Status.ISSUED, valid_until=day)
        .select_related("member", "reward")
        .order_by("member_id", "id")
    )


def voucher_discount_body(voucher: Voucher) -> dict:
    """The voucher's discount for the POS, money as decimal strings:
    ``{"kind": "amount", "amount": "50000", "min_spend": "200000"}``,
    ``{"kind": "percent", "percent": "10", "cap": "100000", "min_spend": "0"}``,
    ``{"kind": "product"|"delivery", "amount": "35000"|None, "min_spend": ...}`` (the value
    the till takes off), ``{"kind": "partner", "min_spend": "0"}`` (used at the partner)."""
    body: dict = {"kind": voucher.kind}
    if voucher.kind == Voucher.Kind.PERCENT:
        body["percent"] = money_text(voucher.discount_percent)
        body["cap"] = money_text(voucher.discount_cap) if voucher.discount_cap else None
    elif voucher.kind != Voucher.Kind.PARTNER:
        body["amount"] = (
            money_text(voucher.discount_amount) if voucher.discount_amount is not None else None
        )
    body["min_spend"] = money_text(voucher.min_spend)
    return body

"""What promotions add to a purchase's points (read-only), and recording what they gave.

The purchase flow (``pos``) calls ``promotions_for_purchase`` while it plans a purchase and
``promotion_awards_record`` in the purchase's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from django.db.models import Sum
from django.utils import timezone

from campaigns.selectors import segment_contains
from members.models import Member, Program, Purchase, Store
from members.selectors import earn_category_multipliers
from promotions.models import Promotion, PromotionAward
from promotions.selectors import promotions_running
from tiers.models import Tier

ZERO = Decimal(0)


@dataclass
class PromotionOutcome:
    """``points``: the extra points the promotions add on top of the base points;
    ``awards``: (promotion, points) for each promotion that counts, in evaluation order;
    ``touches_member_state``: True when a promotion with a per-member cap applied, so the
    member's awarded tally was read (record the purchase under the member's account lock).
    """

    points: int = 0
    awards: list[tuple[Promotion, int]] = field(default_factory=list)
    touches_member_state: bool = False


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True)
class _Share:
    """The part of a purchase a promotion applies to: ``amount`` of what was paid in money,
    and ``points`` of the base points (not rounded)."""

    amount: Decimal
    points: Decimal


def _item_matches(promotion: Promotion, item: dict) -> bool:
    category_set = getattr(promotion, "category_set", None)
    if category_set is None:
        category_set = frozenset(c.strip().lower() for c in promotion.categories)
        sku_set = frozenset(s.strip() for s in promotion.skus)
    else:
        sku_set = promotion.sku_set
    return (
        str(item.get("sku") or "") in sku_set
        or (item.get("category") or "").strip().lower() in category_set
    )


def _share(
    promotion: Promotion,
    *,
    items: list[dict],
    amount_due: Decimal,
    total_amount: Decimal,
    base_points: int,
    weights: dict[str, Decimal],
) -> _Share | None:
    """Which part of the purchase the promotion applies to, or None for no part.

    Items in a category that earns nothing (an ``EarnCategoryRule`` at 0, e.g. gift cards)
    never count. Without an item restriction the promotion applies to the whole purchase:
    ``amount_due`` (less the share of items that earn nothing) and all ``base_points``.
    With one, to the matching items (SKU listed, or category listed): their value over
    ``total_amount`` times ``amount_due``, as ``earn_points`` shares what was paid; and
    their part of ``base_points`` by earning weight (value times category multiplier), so
    that a promotion matching every item gets exactly ``base_points``."""
    if amount_due <= 0 or total_amount <= 0:
        return None
    restricted = promotion.has_item_restriction
    if not items:
        return None if restricted else _Share(amount_due, Decimal(base_points))

    def weight(item: dict) -> Decimal:
        return weights.get((item.get("category") or "").strip().lower(), Decimal(1))

    def value(item: dict) -> Decimal:
        return Decimal(item["quantity"]) * Decimal(item["unit_price"])

    earning = [item for item in items if weight(item) > 0]
    chosen = [item for item in earning if _item_matches(promotion, item)] if restricted else earning
    if not chosen:
        return None
    amount = sum((value(i) for i in chosen), ZERO) * amount_due / total_amount
    weighted_all = sum((value(i) * weight(i) for i in earning), ZERO)
    weighted_chosen = sum((value(i) * weight(i) for i in chosen), ZERO)
    points = Decimal(base_points) * weighted_chosen / weighted_all if weighted_all else ZERO
    return _Share(amount, points)


def _in_time(promotion: Promotion, at: datetime) -> bool:
    if not (promotion.starts_at <= at < promotion.ends_at):
        return False
    local = timezone.localtime(at)
    if promotion.days_of_week and local.isoweekday() not in promotion.days_of_week:
        return False
    clock = local.time()
    if promotion.start_time and clock < promotion.start_time:
        return False
    return not (promotion.end_time and clock >= promotion.end_time)


def _restriction_ids(promotion: Promotion, name: str) -> frozenset:
    ids = getattr(promotion, f"{name}_ids", None)
    if ids is None:  # an instance that did not come from promotions_running
        ids = frozenset(getattr(promotion, f"{name}s").values_list("pk", flat=True))
        setattr(promotion, f"{name}_ids", ids)
    return ids


def promotions_for_purchase(
    *,
    member: Member,
    tier: Tier,
    store: Store | None,
    items: list[dict],
    amount_due: Decimal,
    total_amount: Decimal,
    occurred_at: datetime,
    base_points: int,
    program: Program,
    running: list[Promotion] | None = None,
) -> PromotionOutcome:
    """The extra points promotions give a purchase. Reads only.

    ``base_points`` is what the purchase earns without promotions (``earn_points``: the
    programme's rate, category rules and the tier multiplier, rounded down). ``running``
    defaults to ``promotions_running(at=occurred_at)``; each is checked again at
    ``occurred_at``. A promotion applies when, in the programme's time zone, ``occurred_at``
    is in its period, on one of its days and in its hours, the store and the member's tier
    are among its stores and tiers (when it lists any), its item restriction matches some
    items (``_share``), the part it applies to reaches ``min_amount`` (and is above 0), and
    the member is in its segment (checked last: one query).

    Its points, each rounded down on its own:

    - multiplier: ``floor(share of base_points x (multiplier - 1))``, so double points
      doubles what the member would have earned, tier multiplier included;
    - fixed bonus: ``bonus_points``.

    A promotion with ``cap_points_per_member`` gives at most the cap minus what it already
    gave the member (``PromotionAward``s, one query for all capped promotions; returns do
    not give cap back), and nothing once the cap is reached.

    Several: every ``stacks`` promotion adds its points; of the ``exclusive_best`` ones only
    the one giving the most points (after caps) counts, the earliest created on a tie.
    Stacked multipliers add their extras on the same base (double + triple = 4x, not 6x).
    """
    if running is None:
        running = promotions_running(at=occurred_at)
    outcome = PromotionOutcome()
    if not running:
        return outcome
    weights = earn_category_multipliers() if items else {}
    candidates: list[tuple[Promotion, int]] = []
    for promotion in running:
        if not promotion.is_active or not _in_time(promotion, occurred_at):
            continue
        store_ids = _restriction_ids(promotion, "store")
        if store_ids and (store is None or store.pk not in store_ids):
            continue
        tier_ids = _restriction_ids(promotion, "tier")
        if tier_ids and (tier is None or tier.pk not in tier_ids):
            continue
        share = _share(
            promotion,
            items=items,
            amount_due=amount_due,
            total_amount=total_amount,
            base_points=base_points,
            weights=weights,
        )
        if share is None or share.amount <= 0 or share.amount < promotion.min_amount:
            continue
        if promotion.kind == Promotion.Kind.MULTIPLIER:
            points = _floor(share.points * promotion.extra_multiplier)
        else:
            points = promotion.bonus_points or 0
        if points <= 0:
            continue
        if promotion.segment and not segment_contains(member, promotion.segment):
            continue
        candidates.append((promotion, points))
    capped = [p for p, _points in candidates if p.cap_points_per_member]
    if capped:
        outcome.touches_member_state = True
        given = dict(
            PromotionAward.objects.filter(member_id=member.pk, promotion__in=capped)
            .values("promotion_id")
            .annotate(total=Sum("points"))
            .values_list("promotion_id", "total")
        )
        candidates = [
            (p, min(points, p.cap_points_per_member - given.get(p.pk, 0)))
            if p.cap_points_per_member
            else (p, points)
            for p, points in candidates
        ]
        candidates = [(p, points) for p, points in candidates if points > 0]
    stacking = [(p, points) for p, points in candidates if p.stacking == Promotion.Stacking.STACKS]
    exclusive = [(p, points) for p, points in candidates if p.stacking != Promotion.Stacking.STACKS]
    if exclusive:
        best = max(exclusive, key=lambda pair: (pair[1], -pair[0].pk))
        stacking.append(best)
    order = {p.pk: n for n, (p, _points) in enumerate(candidates)}
    outcome.awards = sorted(stacking, key=lambda pair: order[pair[0].pk])
    outcome.points = sum(points for _p, points in outcome.awards)
    return outcome


def promotion_awards_record(*, purchase: Purchase, outcome: PromotionOutcome) -> None:
    """Write what each promotion gave on ``purchase``, in the caller's transaction (the
    purchase's; the caller holds the member's point account lock, which serialises the
    per-member caps). A promotion gives once per purchase (unique constraint)."""
    if not outcome.awards:
        return
    PromotionAward.objects.bulk_create(
        [
            PromotionAward(
                promotion=promotion,
                member_id=purchase.member_id,
                purchase=purchase,
                points=points,
            )
            for promotion, points in outcome.awards
        ]
    )

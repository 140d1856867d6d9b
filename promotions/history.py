"""What the points history says about promotions and activity bonuses (found by
``members.selectors``' autodiscovery): the promotions whose points a purchase's points
include, and the purchase a review bonus was paid for. At most one query each per page."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from members.models import PointEntry
from members.selectors import history_describer_register
from promotions.models import PromotionAward, PurchaseReview


def describe(entries: list[PointEntry]) -> dict[int, dict]:
    words: dict[int, dict] = {}
    earns = {e.purchase_id: e for e in entries if e.kind == PointEntry.Kind.EARN and e.purchase_id}
    if earns:
        awards = (
            PromotionAward.objects.filter(purchase_id__in=earns)
            .select_related("promotion")
            .order_by("purchase_id", "id")
        )
        for award in awards:
            entry = earns[award.purchase_id]
            more = words.setdefault(entry.pk, {"more": []})["more"]
            more.append(
                ngettext(
                    "%(points)s point from %(promotion)s",
                    "%(points)s points from %(promotion)s",
                    award.points,
                )
                % {"points": award.points, "promotion": award.promotion.localised("name")}
            )
    reviews = {
        e.pk
        for e in entries
        if e.kind == PointEntry.Kind.BONUS
        and (e.idempotency_key or "").startswith("activity:purchase_review:")
    }
    if reviews:
        for review in PurchaseReview.objects.filter(bonus_entry_id__in=reviews).select_related(
            "purchase__store"
        ):
            words.setdefault(review.bonus_entry_id, {})["detail"] = _(
                "Receipt %(receipt)s at %(store)s"
            ) % {"receipt": review.purchase.external_id, "store": review.purchase.store.name}
    return words


history_describer_register(describe)

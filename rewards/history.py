"""What the points history says about rewards (``members.selectors.history_items`` finds
this module by autodiscovery): the reward a spend paid for, where it was redeemed, and the
reward whose cancelled voucher gave the points back. One query per page, on the voucher's
(member, ...) index."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from members.models import PointEntry
from members.selectors import history_describer_register
from rewards.models import Voucher


def describe(entries: list[PointEntry]) -> dict[int, dict]:
    spends = {e.pk for e in entries if e.kind == PointEntry.Kind.SPEND and not e.purchase_id}
    refunds = {
        e.pk for e in entries if e.kind == PointEntry.Kind.REFUND and not e.purchase_return_id
    }
    if not spends and not refunds:
        return {}
    vouchers = (
        Voucher.objects.filter(member_id__in={e.member_id for e in entries})
        .filter(Q(spend_entry_id__in=spends) | Q(refund_entry_id__in=refunds))
        .select_related("reward", "issued_at_store")
    )
    words: dict[int, dict] = {}
    for voucher in vouchers:
        reward = voucher.reward.localised("name")
        if voucher.spend_entry_id in spends:
            store = voucher.issued_at_store
            words[voucher.spend_entry_id] = {
                "title": _("Reward: %(reward)s") % {"reward": reward},
                "detail": _("Redeemed at %(store)s") % {"store": store.name} if store else "",
            }
        if voucher.refund_entry_id in refunds:
            words[voucher.refund_entry_id] = {
                "title": _("Points given back: voucher cancelled"),
                "detail": _("Reward: %(reward)s") % {"reward": reward},
            }
    return words


history_describer_register(describe)

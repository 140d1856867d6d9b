"""Rewards' part of a member's erasure (``members.signals.member_erasing``)."""

from __future__ import annotations

from rewards.models import Voucher


def vouchers_cancel_for_erasure(*, member, now) -> int:
    """Cancel the member's unused vouchers. No points come back, whatever paid for them:
    the member who could spend the points is gone, and a refund would only move a figure
    on an account nobody can use (the ledger keeps the spend, as any closed account would).
    The reward's stock is not given back either: a partner code already shown may still be
    used at the partner. Returns how many were cancelled."""
    return Voucher.objects.filter(member_id=member.pk, status=Voucher.Status.ISSUED).update(
        status=Voucher.Status.CANCELLED, cancelled_at=now
    )


def on_member_erasing(sender, member, now, **kwargs):
    vouchers_cancel_for_erasure(member=member, now=now)

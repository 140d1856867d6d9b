"""The member API's part of a member's erasure (``members.signals.member_erasing``): the
answers kept for replaying redemptions hold voucher codes and balances of the member; the
login they were for is gone, so no repeat can come, and they are deleted."""

from __future__ import annotations

from member_api.models import MemberIdempotencyRecord


def on_member_erasing(sender, member, now, **kwargs):
    MemberIdempotencyRecord.objects.filter(member_id=member.pk).delete()

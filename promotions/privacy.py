"""Promotions' part of a member's erasure (``members.signals.member_erasing``)."""

from __future__ import annotations

from promotions.models import KnownContact, PurchaseReview, Referral


def promotion_data_erase(*, member) -> None:
    """Remove what the referral checks kept about the member (the device id and IP of
    their own enrolment, the phones and emails they have had) and the comments of their
    reviews (the rating stays, as the bonus it earned does). A referral the member made
    keeps the referee's device and IP: those are the referee's, not theirs.

    With the contacts gone, the same phone enrolling again is a new member to the
    referral checks: the law's erasure outweighs that check."""
    Referral.objects.filter(referee_id=member.pk).update(ip=None, device_id="")
    KnownContact.objects.filter(member_id=member.pk).delete()
    PurchaseReview.objects.filter(member_id=member.pk).exclude(comment="").update(comment="")


def on_member_erasing(sender, member, **kwargs):
    promotion_data_erase(member=member)

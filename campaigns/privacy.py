"""Campaigns' part of a member's erasure (``members.signals.member_erasing``)."""

from __future__ import annotations

from campaigns.models import Notification, Send, SmsLog


def campaign_data_erase(*, member, now, phone: str | None) -> None:
    """End the member's queued sends (a send a worker holds is ended by the worker, which
    skips an erased member), blank the texts of their in-app notifications (the rows stay
    for the campaigns' read figures) and drop the SMS log's lines to their phone."""
    Send.objects.filter(member_id=member.pk, status=Send.Status.QUEUED).update(
        status=Send.Status.SKIPPED,
        skip_reason=Send.SkipReason.NO_CONTACT,
        finished_at=now,
        claim_token="",  # nosec B106  # a worker's claim on the send, cleared: no password
    )
    Notification.objects.filter(member_id=member.pk).update(title="", body="")
    if phone:
        SmsLog.objects.filter(phone=phone).delete()


def on_member_erasing(sender, member, now, phone=None, **kwargs):
    campaign_data_erase(member=member, now=now, phone=phone)

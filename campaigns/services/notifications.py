"""The member reads their in-app notifications."""

from __future__ import annotations

from django.utils import timezone

from campaigns.models import Notification
from members.models import Member


def notification_mark_read(*, member: Member, notification_id: int) -> bool:
    """Mark one of the member's notifications read (once: the first time stays); False when
    it is not theirs."""
    mine = Notification.objects.filter(pk=notification_id, member=member)
    if not mine.exists():
        return False
    mine.filter(read_at__isnull=True).update(read_at=timezone.now())
    return True


def notifications_mark_all_read(*, member: Member) -> int:
    return Notification.objects.filter(member=member, read_at__isnull=True).update(
        read_at=timezone.now()
    )

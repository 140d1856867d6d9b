"""In-app: a notification the portal shows (``/me/messages/``). Needs no marketing consent
(it is read inside the member's own account); at most one per send (unique), so a repeat
writes nothing."""

from __future__ import annotations

from campaigns.channels import Channel, Outgoing
from campaigns.models import Notification


class InAppChannel(Channel):
    code = "in_app"
    transactional = True

    def consented(self, member) -> bool:
        return True

    def address(self, member) -> str:
        return str(member.pk)

    def deliver(self, outgoing: Outgoing) -> None:
        Notification.objects.get_or_create(
            send_id=outgoing.send_id,
            defaults={
                "member_id": outgoing.member_id,
                "title": outgoing.message.subject,
                "body": outgoing.message.body,
            },
        )

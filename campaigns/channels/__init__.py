"""The channels a campaign sends through, behind one interface: ``email`` (Django's mail
backends), ``sms`` (the ``SMS_BACKEND`` setting) and ``in_app`` (a notification the portal
shows).

A channel says whether a member may receive it (consent) and can (an address), and delivers
one ``Outgoing`` message whose ``key`` is the send's id: the idempotency key the provider
deduplicates a repeat with (a send taken over after its worker died is delivered again with
the same key).
"""

from __future__ import annotations

from dataclasses import dataclass

from campaigns.rendering import Rendered


class ChannelError(Exception):
    """Delivery failed for now (provider down, timeout): the send is tried again later."""


class PermanentChannelError(ChannelError):
    """Delivery can never succeed (a number the provider refuses): not tried again."""


@dataclass(frozen=True)
class Outgoing:
    key: str  # the send's id: the provider's idempotency key
    send_id: int
    member_id: int
    address: str  # email address or E.164 phone; empty for in-app
    message: Rendered
    unsubscribe_url: str = ""


class Channel:
    code: str = ""
    # Delivered inside the transaction that marks the send (a database write), or outside
    # any transaction (a provider call: no lock is held while it runs).
    transactional = False

    def consented(self, member) -> bool:
        raise NotImplementedError

    def address(self, member) -> str:
        raise NotImplementedError

    def deliver(self, outgoing: Outgoing) -> None:
        raise NotImplementedError


def channel_get(code: str) -> Channel:
    from campaigns.channels.email import EmailChannel
    from campaigns.channels.in_app import InAppChannel
    from campaigns.channels.sms import SmsChannel

    return {"email": EmailChannel, "sms": SmsChannel, "in_app": InAppChannel}[code]()


__all__ = ["Channel", "ChannelError", "Outgoing", "PermanentChannelError", "channel_get"]

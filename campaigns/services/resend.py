"""Staff send a member's voucher code to them again (the member lost the message, or never
got it), by SMS or email.

A service message the member asked for, not marketing: it goes whatever the marketing
consents say, to the member's own phone or email only (staff cannot type an address), in
the member's language. At most ``RESENDS_PER_DAY`` times a voucher by each channel in 24
hours, so a mistaken or malicious loop cannot flood a member. Delivered first, audited
after it went: a failed delivery records nothing and says so.

In ``campaigns`` because it delivers through the campaigns' channels (rewards may not
import campaigns)."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from campaigns.channels import ChannelError, Outgoing, PermanentChannelError, channel_get
from campaigns.rendering import Rendered
from loyalty.errors import DomainError
from loyalty.localised import localised
from members.models import AuditEntry, User
from rewards.models import Voucher

logger = logging.getLogger(__name__)

CHANNELS = ("sms", "email")
RESENDS_PER_DAY = 3
ACTION = "voucher.resent"


def _message(voucher: Voucher, language: str) -> Rendered:
    with translation.override(language):
        code = voucher.partner_code or voucher.code_display
        reward = localised(voucher.reward, "name", language)
        until = formats.date_format(voucher.valid_until, "SHORT_DATE_FORMAT")
        text = _("Your voucher %(reward)s: code %(code)s, valid until %(until)s.") % {
            "reward": reward,
            "code": code,
            "until": until,
        }
        subject = _("Your voucher %(reward)s") % {"reward": reward}
    return Rendered(language=language, subject=subject, body=text, sms=text, email_text=text)


def voucher_resend(*, voucher: Voucher, channel: str, reason: str, acting_user: User) -> None:
    """Send ``voucher``'s code to its member again by ``channel`` (``sms`` or ``email``).
    Raises ``DomainError``: ``validation_error`` (no reason, an unknown channel),
    ``voucher_not_usable`` (used, expired or cancelled), ``no_address`` (the member has no
    phone or email for it), ``too_many_resends``, ``delivery_failed``."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("validation_error", _("Say why the voucher is sent again."))
    if channel not in CHANNELS:
        raise DomainError("validation_error", _("Choose SMS or email."))
    voucher = Voucher.objects.select_related("member", "reward").get(pk=voucher.pk)
    member = voucher.member
    if voucher.status != Voucher.Status.ISSUED or timezone.localdate() > voucher.valid_until:
        raise DomainError(
            "voucher_not_usable", _("Only a voucher that can still be used is sent again.")
        )
    way = channel_get(channel)
    address = way.address(member)
    if not address:
        raise DomainError(
            "no_address",
            _("The member has no phone number for SMS.")
            if channel == "sms"
            else _("The member has no email address."),
        )
    since = timezone.now() - timedelta(hours=24)
    sent = AuditEntry.objects.filter(
        action=ACTION,
        member=member,
        at__gte=since,
        data__voucher=voucher.pk,
        data__channel=channel,
    ).count()
    if sent >= RESENDS_PER_DAY:
        raise DomainError(
            "too_many_resends",
            _(
                "This voucher was sent again this way %(count)d times in the last 24 hours: "
                "try tomorrow."
            )
            % {"count": sent},
        )
    key = f"voucher-resend-{uuid.uuid4().hex}"
    outgoing = Outgoing(
        key=key,
        send_id=0,  # not a campaign's send
        member_id=member.pk,
        address=address,
        message=_message(voucher, member.language or "vi"),
    )
    try:
        way.deliver(outgoing)
    except PermanentChannelError as exc:
        logger.warning("voucher %s resend by %s refused: %s", voucher.pk, channel, exc)
        raise DomainError("delivery_failed", _("The provider refused the message.")) from exc
    except ChannelError as exc:
        logger.warning("voucher %s resend by %s failed: %s", voucher.pk, channel, exc)
        raise DomainError(
            "delivery_failed", _("The message could not be sent now: try again in a moment.")
        ) from exc
    with transaction.atomic():
        AuditEntry.objects.create(
            actor=acting_user,
            action=ACTION,
            member=member,
            reason=reason,
            data={"voucher": voucher.pk, "channel": channel, "key": key},
        )
    logger.info("voucher %s sent again by %s (%s)", voucher.pk, channel, key)

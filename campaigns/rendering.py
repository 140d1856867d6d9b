"""A campaign's message for one member: the language's text with its placeholders filled,
as an email (subject, text, HTML with the unsubscribe link), an SMS and a notification.

Placeholders are ``{name}``, ``{tier}``, ``{points}``, ``{voucher_code}`` and
``{expiry_date}``; anything else in braces is left as written (and refused when a campaign
is saved: ``placeholders_check``). Numbers and dates are formatted for the language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, CampaignMessage
from loyalty.formatting import date_display, points_display

PLACEHOLDERS = ("name", "tier", "points", "voucher_code", "expiry_date")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_ANY_BRACES = re.compile(r"\{([^{}\s]*)\}")
UNSUBSCRIBE_SALT = "campaigns.unsubscribe"


@dataclass(frozen=True)
class MessageContext:
    """The raw values of the placeholders (formatted per language when rendered)."""

    name: str = ""
    tier_name: str = ""
    tier_name_en: str = ""
    points: int | None = None
    voucher_code: str = ""
    expiry_date: date | None = None


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    body: str  # the filled text: the notification's, and the email's main part
    sms: str
    email_text: str = ""  # the email's text part, with its footer
    email_html: str = ""


def placeholders_check(*texts: str) -> None:
    """Refuse ``{something}`` that is not a placeholder (a typo would reach members)."""
    unknown = sorted(
        {
            match
            for text in texts
            for match in _ANY_BRACES.findall(text or "")
            if match not in PLACEHOLDERS
        }
    )
    if unknown:
        raise ValidationError(
            _("Unknown placeholders: %(unknown)s. Use %(known)s."),
            code="unknown_placeholder",
            params={
                "unknown": ", ".join("{" + name + "}" for name in unknown),
                "known": ", ".join("{" + name + "}" for name in PLACEHOLDERS),
            },
        )


def _values(context: MessageContext, language: str) -> dict[str, str]:
    with translation.override(language):
        tier = context.tier_name_en if language.startswith("en") and context.tier_name_en else ""
        return {
            # A member imported from a phone or email alone has no name yet.
            "name": context.name or str(_("valued member")),
            "tier": tier or context.tier_name,
            # 1.250 / 1,250 and 31/03/2027 / 31 Mar 2027, as on the member's pages.
            "points": points_display(context.points, language=language),
            "voucher_code": context.voucher_code,
            "expiry_date": date_display(context.expiry_date, language=language),
        }


def fill(template: str, context: MessageContext, language: str) -> str:
    values = _values(context, language)
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template or "")


def member_language(member) -> str:
    """The language a member reads: their own choice when the member has one, else the
    programme's (Vietnamese)."""
    chosen = getattr(member, "language", "") or ""
    codes = [code for code, _name in settings.LANGUAGES]
    return chosen if chosen in codes else settings.LANGUAGE_CODE


def message_for(campaign: Campaign, language: str) -> CampaignMessage | None:
    """The campaign's message in ``language``, else in the programme's language, else any."""
    messages = {message.language: message for message in campaign.messages.all()}
    return (
        messages.get(language)
        or messages.get(settings.LANGUAGE_CODE)
        or next(iter(messages.values()), None)
    )


def _signer() -> signing.Signer:
    return signing.Signer(salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(member_id: int, channel: str) -> str:
    """A signed token naming the member and the channel; the same for every message (an
    old email's link keeps working), forged or altered ones are refused."""
    return _signer().sign_object({"m": member_id, "c": channel}, compress=True)


def unsubscribe_read(token: str) -> tuple[int, str] | None:
    """(member id, channel) of a token from an unsubscribe link, or None when forged."""
    try:
        data = _signer().unsign_object(token)
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(data, dict) or data.get("c") not in ("email", "sms"):
        return None
    member_id = data.get("m")
    return (member_id, data["c"]) if isinstance(member_id, int) else None


def unsubscribe_url(member_id: int, channel: str = "email") -> str:
    path = reverse("campaigns_unsubscribe", args=[unsubscribe_token(member_id, channel)])
    return settings.LOYALTY_SITE_URL + path


def render(
    campaign: Campaign,
    *,
    language: str,
    context: MessageContext,
    member_id: int | None = None,
    email: bool = False,
) -> Rendered:
    """The campaign's message in ``language`` (or the fallback) for one member; with
    ``email`` the email's text and HTML parts too, carrying the unsubscribe link of
    ``member_id``."""
    message = message_for(campaign, language)
    if message is None:
        raise ValueError(f"campaign {campaign.pk} has no message")
    language = message.language
    subject = fill(message.subject, context, language)
    body = fill(message.body, context, language)
    sms = fill(message.sms or message.body, context, language)
    email_text = email_html = ""
    if email:
        link = unsubscribe_url(member_id) if member_id is not None else ""
        with translation.override(language):
            email_html = render_to_string(
                "campaigns/email/message.html",
                {
                    "subject": subject,
                    "text": body,
                    "unsubscribe_url": link,
                    "card_url": settings.LOYALTY_SITE_URL + reverse("portal:home"),
                    "LANGUAGE_CODE": language,
                },
            )
            email_text = render_to_string(
                "campaigns/email/message.txt", {"text": body, "unsubscribe_url": link}
            )
    return Rendered(
        language=language,
        subject=subject,
        body=body,
        sms=sms,
        email_text=email_text,
        email_html=email_html,
    )

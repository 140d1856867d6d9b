"""Small display helpers of the promotions pages."""

from __future__ import annotations

from django import template

from promotions.services.referrals import reason_text

register = template.Library()


@register.filter
def short_name(full_name: str) -> str:
    """What a referrer sees of the friend they invited: the given name (last word, in
    Vietnamese order) and the family name's initial: ``Nguyễn Văn An`` -> ``An N.``."""
    words = (full_name or "").split()
    if len(words) < 2:
        return words[0] if words else ""
    return f"{words[-1]} {words[0][0]}."


@register.filter
def has_reason(referral, code: str) -> bool:
    return any(r.get("code") == code for r in referral.reasons or [])


@register.filter
def reason_label(entry: dict) -> str:
    return reason_text(entry.get("code", ""))

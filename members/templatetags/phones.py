"""``{{ phone|phone_display }}``: an E.164 number as people write it (0903 123 456)."""

from __future__ import annotations

from django import template

from members.identifiers import phone_display as _phone_display

register = template.Library()


@register.filter
def phone_display(value: str | None) -> str:
    try:
        return _phone_display(value)
    except Exception:  # not a number (an email address, say): shown as it is
        return value or ""

"""``{% load brand %}{% brand as b %}``: the programme's name, colour and logo (members.brand)
for the portal's header and the messages; ``{% brand absolute=True as b %}`` gives URLs
that start with LOYALTY_SITE_URL (an email has no page to be relative to)."""

from __future__ import annotations

from django import template
from django.conf import settings

from members.brand import brand_get

register = template.Library()


@register.simple_tag
def brand(absolute: bool = False) -> dict:
    info = brand_get()
    if absolute:
        site = settings.LOYALTY_SITE_URL.rstrip("/")
        info = info | {
            "logo_url": site + info["logo_url"] if info["logo_url"] else "",
            "theme_url": site + info["theme_url"],
        }
    return info

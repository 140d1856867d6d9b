"""The programme's brand: its colour (checked for contrast with white text) and its logo
(a small PNG, JPEG or WebP kept in the database, recognised by its bytes, never SVG).

Why the logo lives in the database: the app runs as several containers and whitenoise does
not serve uploaded media, so a file on one container's disk would be missing on the others.
``/brand/logo`` (``members.views_app.brand_logo``) serves the bytes to everyone, with cache
headers and a sandboxing Content-Security-Policy. SVG is refused: an SVG is a document that
can carry script, and a logo does not need to be one.
"""

from __future__ import annotations

import hashlib
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

DEFAULT_COLOUR = "#b3261e"  # the portal's red: 6.5:1 against white text
MIN_CONTRAST = 4.5  # WCAG 2 AA for normal text: the header's white text on the colour
LOGO_MAX_BYTES = 100 * 1024
LOGO_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP"}

_HEX = re.compile(r"#[0-9a-f]{6}")


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_with_white(colour: str) -> float:
    """WCAG 2 contrast ratio of white text on ``colour`` (1 to 21)."""
    return 1.05 / (relative_luminance(colour) + 0.05)


def validate_brand_colour(value: str) -> None:
    """``#rrggbb``, dark enough for the white text of the header and buttons."""
    if not isinstance(value, str) or not _HEX.fullmatch(value.lower()):
        raise ValidationError(
            _("Give the colour as # and six hexadecimal digits, e.g. #b3261e."), code="format"
        )
    ratio = contrast_with_white(value.lower())
    if ratio < MIN_CONTRAST:
        raise ValidationError(
            _(
                "White text on this colour is hard to read (contrast %(ratio).1f:1, at least "
                "%(minimum).1f:1 is needed): choose a darker colour."
            ),
            code="contrast",
            params={"ratio": ratio, "minimum": MIN_CONTRAST},
        )


def logo_type(data: bytes) -> str | None:
    """The image type of ``data`` from its first bytes (PNG, JPEG, WebP), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def validate_logo(data: bytes) -> str:
    """The content type of an uploaded logo, or a ValidationError saying what is wrong."""
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError(
            _("The logo is too large: at most %(kb)d KB."),
            code="too_large",
            params={"kb": LOGO_MAX_BYTES // 1024},
        )
    content_type = logo_type(data)
    if content_type is None:
        raise ValidationError(
            _("Upload the logo as a PNG, JPEG or WebP image (SVG is not accepted)."),
            code="type",
        )
    return content_type


def logo_version(data: bytes) -> str:
    """A short hash of the logo: its URL changes when the logo does (long caching)."""
    return hashlib.sha256(data).hexdigest()[:12]


def brand_get() -> dict:
    """The brand as pages and messages show it: the programme's name in the active language,
    its colour, and the logo's URL (with its version, so it may be cached for long) or ""."""
    from django.urls import reverse

    from members.selectors import program_cached

    program = program_cached()
    localised = getattr(program, "localised", None)
    name = localised("name") if callable(localised) else program.name
    colour = program.brand_colour or DEFAULT_COLOUR
    logo = bytes(program.logo or b"")
    version = logo_version(logo + colour.encode())
    return {
        "name": name,
        "colour": colour,
        "logo_url": f"{reverse('brand_logo')}?v={logo_version(logo)}" if logo else "",
        "theme_url": f"{reverse('brand_theme')}?v={version}",
    }

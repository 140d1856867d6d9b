"""Money, points and dates as people write them in the member's language (CLDR, by Babel).

Vietnamese: ``1.250.000 ₫``, ``03/12/2026``; English: ``₫1,250,000``, ``3 Dec 2026``. The
language is the active one unless given (a message goes out in the member's language).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from django.utils import timezone
from django.utils.translation import get_language

# Babel locale and date pattern per portal language.
_LOCALES = {"vi": ("vi_VN", "dd/MM/yyyy"), "en": ("en_GB", "d MMM y")}


def _locale(language: str | None) -> tuple[str, str]:
    code = (language or get_language() or "vi")[:2]
    return _LOCALES.get(code, _LOCALES["vi"])


def money_display(value, currency: str | None = None, language: str | None = None) -> str:
    """``1.250.000 ₫`` / ``₫1,250,000``: whole units for VND, the currency's minor unit else."""
    if value is None or value == "":
        return ""
    if currency is None:
        from members.selectors import program_cached

        currency = program_cached().currency
    locale, _pattern = _locale(language)
    # en_GB writes foreign currencies with their symbol first: "₫1,250,000".
    return format_currency(Decimal(value), currency, locale=locale)


def points_display(value, language: str | None = None) -> str:
    """A whole number grouped by thousands: ``12.500`` / ``12,500``."""
    if value is None or value == "":
        return ""
    locale, _pattern = _locale(language)
    return format_decimal(int(value), locale=locale)


def date_display(value, language: str | None = None) -> str:
    """``03/12/2026`` / ``3 Dec 2026``; an aware datetime is shown as its local date."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if not isinstance(value, date):
        return str(value)
    locale, pattern = _locale(language)
    return format_date(value, pattern, locale=locale)

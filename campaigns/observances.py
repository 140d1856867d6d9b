"""The calendar of holiday campaigns: Vietnam's public holidays from the ``holidays``
package (lunar ones included: Tết Nguyên Đán, Giỗ Tổ Hùng Vương), Trung Thu from the same
package's Vietnamese lunisolar calendar, and the programme's own dates (``ProgramDate``:
8/3, 20/10, 20/11, Christmas... seeded by migration, editable by staff).

A holiday is named by a stable code (``tet``, ``mid-autumn``, ``womens-day``); its date in a
year comes from here, never from a table typed by hand.
"""

from __future__ import annotations

import functools
from datetime import date

import holidays
from django.utils.translation import gettext_lazy as _

from campaigns.models import ProgramDate

# code -> (the package's English name, as ``holidays.VN(language="en_US")`` has it; label)
PACKAGE_HOLIDAYS = {
    "new-year": ("New Year's Day", _("New Year's Day (1/1)")),
    "tet": ("Lunar New Year", _("Lunar New Year (Tết Nguyên Đán)")),
    "hung-kings": ("Hung Kings' Commemoration Day", _("Hùng Kings' Commemoration (10/3 lunar)")),
    "reunification": ("Liberation Day/Reunification Day", _("Reunification Day (30/4)")),
    "labour-day": ("International Labor Day", _("International Labour Day (1/5)")),
    "national-day": ("National Day", _("National Day (2/9)")),
    "culture-day": ("Vietnam Cultural Day", _("Vietnam Cultural Day (24/11)")),
}
MID_AUTUMN = "mid-autumn"
LUNAR_LABELS = {MID_AUTUMN: _("Mid-Autumn Festival (Trung Thu, 15/8 lunar)")}
BUILT_IN = set(PACKAGE_HOLIDAYS) | set(LUNAR_LABELS)


@functools.lru_cache(maxsize=32)
def _package_year(year: int) -> dict[str, date]:
    """The package's holidays of ``year`` by our code: the day itself (not the days off
    around it, nor a day off in lieu)."""
    vietnam = holidays.country_holidays("VN", years=year, language="en_US", observed=False)
    found = {}
    for code, (name, _label) in PACKAGE_HOLIDAYS.items():
        days = vietnam.get_named(name, lookup="exact")
        if days:
            found[code] = days[0]  # the first added is the holiday (2/9, not the day next to it)
    return found


@functools.lru_cache(maxsize=32)
def mid_autumn_date(year: int) -> date | None:
    """Trung Thu (the 15th of the 8th lunar month) on the Vietnamese lunisolar calendar of
    the ``holidays`` package (the calendar its Tết and Hùng Kings' dates come from)."""
    from holidays.calendars.chinese import VIETNAMESE_CALENDAR, _ChineseLunisolar

    day, _estimated = _ChineseLunisolar(VIETNAMESE_CALENDAR).mid_autumn_date(year)
    return day


def _program_date(code: str, year: int) -> date | None:
    row = ProgramDate.objects.filter(code=code, is_active=True).first()
    if row is None or (row.year is not None and row.year != year):
        return None
    try:
        return date(year, row.month, row.day)
    except ValueError:  # 29/2 outside a leap year
        return None


def holiday_date(code: str, year: int) -> date | None:
    """The day of the holiday ``code`` in ``year``, or None (unknown code, not that year)."""
    if code in PACKAGE_HOLIDAYS:
        return _package_year(year).get(code)
    if code == MID_AUTUMN:
        return mid_autumn_date(year)
    return _program_date(code, year)


def holiday_exists(code: str) -> bool:
    return code in BUILT_IN or ProgramDate.objects.filter(code=code).exists()


def holiday_choices() -> list[tuple[str, str]]:
    """(code, label) of every holiday a campaign can name: the calendar's, then the
    programme's active dates."""
    choices = [(code, str(label)) for code, (_name, label) in PACKAGE_HOLIDAYS.items()]
    choices += [(code, str(label)) for code, label in LUNAR_LABELS.items()]
    choices += [
        (row.code, f"{row.name} ({row.day}/{row.month})")
        for row in ProgramDate.objects.filter(is_active=True).order_by("month", "day")
    ]
    return choices


def holiday_label(code: str) -> str:
    return dict(holiday_choices()).get(code, code)

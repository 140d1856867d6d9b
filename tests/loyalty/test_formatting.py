"""Money, points and dates as people write them, in Vietnamese and in English: the Babel
helpers (``loyalty.formatting``), their template filters, Django's own ``|date`` and number
formats (``loyalty/formats``), and programme content in the member's language
(``loyalty.localised``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import formats, translation

from loyalty.formatting import date_display, money_display, points_display
from loyalty.localised import language_code, localised, localised_value
from tiers.models import Tier

DAY = date(2026, 12, 3)
NBSP = "\u00a0"


def _plain(text: str) -> str:
    return text.replace(NBSP, " ")


@pytest.mark.parametrize(
    "value,currency,vi,en",
    [
        (1250000, "VND", "1.250.000 ₫", "₫1,250,000"),
        (Decimal("1250000.00"), "VND", "1.250.000 ₫", "₫1,250,000"),
        (0, "VND", "0 ₫", "₫0"),
        (-50000, "VND", "-50.000 ₫", "-₫50,000"),
        (1_000_000_000_000, "VND", "1.000.000.000.000 ₫", "₫1,000,000,000,000"),
        ("45000", "VND", "45.000 ₫", "₫45,000"),
        # Another currency keeps its minor unit: cents for USD, none for JPY.
        (Decimal("19.9"), "USD", "19,90 US$", "US$19.90"),
        (Decimal("-0.05"), "USD", "-0,05 US$", "-US$0.05"),
        (1250, "JPY", "1.250 ¥", "JP¥1,250"),
    ],
)
def test_money_in_each_language(value, currency, vi, en):
    assert _plain(money_display(value, currency, language="vi")) == vi
    assert _plain(money_display(value, currency, language="en")) == en


def test_an_amount_never_breaks_across_lines():
    """The space between the number and ₫ is a non-breaking one (a narrow phone column)."""
    assert money_display(1250000, "VND", language="vi") == f"1.250.000{NBSP}₫"


def test_money_follows_the_active_language():
    with translation.override("en"):
        assert money_display(1250000, "VND") == "₫1,250,000"
    with translation.override("vi"):
        assert _plain(money_display(1250000, "VND")) == "1.250.000 ₫"


def test_nothing_is_written_for_no_amount():
    assert money_display(None, "VND") == money_display("", "VND") == ""
    assert points_display(None) == date_display(None) == ""


@pytest.mark.django_db
def test_money_without_a_currency_is_the_programmes():
    assert _plain(money_display(200000, language="vi")) == "200.000 ₫"


@pytest.mark.parametrize(
    "value,vi,en",
    [
        (0, "0", "0"),
        (12500, "12.500", "12,500"),
        (-300, "-300", "-300"),
        (10**9, "1.000.000.000", "1,000,000,000"),
    ],
)
def test_points_in_each_language(value, vi, en):
    assert points_display(value, language="vi") == vi
    assert points_display(value, language="en") == en


def test_dates_in_each_language():
    assert date_display(DAY, language="vi") == "03/12/2026"
    assert date_display(DAY, language="en") == "3 Dec 2026"
    assert date_display(date(2027, 1, 9), language="en") == "9 Jan 2027"


def test_an_aware_time_is_its_local_date():
    # 18:30 UTC on 2 December is 01:30 on 3 December in Ho Chi Minh City.
    late = datetime(2026, 12, 2, 18, 30, tzinfo=UTC)
    assert date_display(late, language="vi") == "03/12/2026"
    assert date_display(late, language="en") == "3 Dec 2026"


@pytest.mark.django_db
def test_the_template_filters():
    template = Template(
        "{% load loyalty_format %}"
        "{{ amount|money }}|{{ amount|money:'USD' }}|{{ n|points }}|{{ d|day }}"
    )
    context = Context({"amount": Decimal("1250000"), "n": 12500, "d": DAY})
    with translation.override("vi"):
        assert _plain(template.render(context)) == "1.250.000 ₫|1.250.000,00 US$|12.500|03/12/2026"
    with translation.override("en"):
        assert _plain(template.render(context)) == "₫1,250,000|US$1,250,000.00|12,500|3 Dec 2026"


def test_djangos_date_and_number_formats_agree_with_the_portal():
    """The admin and any ``|date`` left write dates the same way as the portal's filters."""
    moment = datetime(2026, 12, 3, 14, 5)
    with translation.override("vi"):
        assert formats.date_format(DAY, "SHORT_DATE_FORMAT") == "03/12/2026"
        assert formats.date_format(DAY, "DATE_FORMAT") == "03/12/2026"
        assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == "14:05 03/12/2026"
        assert formats.date_format(moment, "DATETIME_FORMAT") == "14:05 03/12/2026"
        assert formats.number_format(1250000, use_l10n=True, force_grouping=True) == "1.250.000"
        assert Template("{{ d|date:'SHORT_DATE_FORMAT' }}").render(Context({"d": DAY})) == (
            date_display(DAY)
        )
    with translation.override("en"):
        assert formats.date_format(DAY, "SHORT_DATE_FORMAT") == "3 Dec 2026"
        assert formats.date_format(DAY, "DATE_FORMAT") == "3 Dec 2026"
        assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == "3 Dec 2026, 14:05"
        assert formats.number_format(1250000, use_l10n=True, force_grouping=True) == "1,250,000"
        assert Template("{{ d|date:'SHORT_DATE_FORMAT' }}").render(Context({"d": DAY})) == (
            date_display(DAY)
        )


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_typed_day_first_date_is_read_in_both_languages(language):
    from django import forms

    class DayForm(forms.Form):
        day = forms.DateField()

    with translation.override(language):
        for typed in ("2026-12-03", "03/12/2026"):
            form = DayForm({"day": typed})
            assert form.is_valid(), form.errors
            assert form.cleaned_data["day"] == DAY
        # A date input's value stays ISO, which <input type="date"> needs.
        widget = forms.DateInput(attrs={"type": "date"})
        assert 'value="2026-12-03"' in widget.render("day", DAY)


def test_language_code():
    assert language_code("en-gb") == "en"
    assert language_code("vi") == "vi"
    with translation.override("en"):
        assert language_code() == "en"


def test_localised_text_falls_back_to_vietnamese():
    tier = Tier(name="Vàng", name_en="Gold", benefits="Tích điểm x1,5", benefits_en="")
    assert tier.localised("name", language="en") == "Gold"
    assert tier.localised("name", language="vi") == "Vàng"
    # No English text: the Vietnamese, never an empty label.
    assert tier.localised("benefits", language="en") == "Tích điểm x1,5"
    with translation.override("en"):
        assert tier.name_local == "Gold"
        assert tier.benefits_local == "Tích điểm x1,5"
    with translation.override("vi"):
        assert tier.name_local == "Vàng"
    blank = Tier(name="Bạc", name_en="   ")
    assert localised(blank, "name", language="en") == "Bạc"
    assert localised_value({"name": "Bạc", "name_en": "Silver"}, "name", language="en") == "Silver"
    assert localised_value({"name": "Bạc", "name_en": "Silver"}, "name", language="vi") == "Bạc"

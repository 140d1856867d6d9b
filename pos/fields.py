"""The value types of the POS contract (``shared/pos-api.md``, Conventions), checked as
strictly as the contract words them: money as decimal strings no finer than the currency's
minor unit, points as JSON integers, quantities with at most three decimals, receipt ids of
printable characters, times a calendar can hold. Each field documents its own shape in the
OpenAPI schema, so the schema says what the server accepts."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty.money import minor_unit
from members.selectors import program_cached

MONEY_PATTERN = r"^[0-9]{1,16}(\.[0-9]{1,2})?$"
QUANTITY_PATTERN = r"^[0-9]{1,6}(\.[0-9]{1,3})?$"
MAX_POINTS = 10**9
MAX_QUANTITY = Decimal(100_000)
EXTERNAL_ID_MAX = 64
# Years a till can mean: a purchase in year 1 or 9999 is a typing or clock error, and times
# near the calendar's ends cannot be moved between time zones.
YEARS = (2000, 2999)


@extend_schema_field(
    {
        "type": "string",
        "pattern": MONEY_PATTERN,
        "example": "125000",
        "description": "A decimal string, never a JSON number or an exponent; no finer than "
        "the currency's minor unit (VND: whole đồng, `125000.00` is fine, `100000.5` is not).",
    }
)
class MoneyField(serializers.Field):
    """A non-negative amount of the programme's currency, as a decimal string."""

    default_error_messages = {
        "invalid": _("Send money as a decimal string such as “125000”, not a number."),
        "minor_unit": _("{currency} has no amounts finer than {unit}."),
    }

    def to_internal_value(self, data) -> Decimal:
        if not isinstance(data, str) or not re.fullmatch(MONEY_PATTERN, data):
            self.fail("invalid")
        value = Decimal(data)
        currency = program_cached().currency
        places = minor_unit(currency)
        if value != value.quantize(Decimal(1).scaleb(-places)):
            unit = format(Decimal(1).scaleb(-places), "f")
            self.fail("minor_unit", currency=currency, unit=unit)
        return value

    def to_representation(self, value) -> str:
        return str(value)


@extend_schema_field(
    {"type": "integer", "minimum": 0, "maximum": MAX_POINTS, "example": 0},
)
class PointsField(serializers.Field):
    """Points: a JSON integer from 0 to 10^9 (a string such as ``"10"`` is refused)."""

    default_error_messages = {
        "invalid": _("Send points as a whole number, not text."),
        "range": _("Points go from 0 to {max}."),
    }

    def to_internal_value(self, data) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        if not 0 <= data <= MAX_POINTS:
            self.fail("range", max=MAX_POINTS)
        return data

    def to_representation(self, value) -> int:
        return int(value)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 100000},
            {"type": "string", "pattern": QUANTITY_PATTERN},
        ],
        "example": 2,
        "description": "A positive number or decimal string, at most 3 decimals (`1.5` for "
        "goods sold by weight), at most 100,000.",
    }
)
class QuantityField(serializers.Field):
    """A positive quantity with at most three decimals, at most 100,000. Whole quantities
    come back as ``int`` (so a retry of a request made before decimals were allowed hashes
    the same), others as ``Decimal``."""

    default_error_messages = {
        "invalid": _("A quantity is a positive number with at most 3 decimals."),
        "range": _("A quantity is more than 0 and at most {max}."),
    }

    def to_internal_value(self, data) -> int | Decimal:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, str):
            if not re.fullmatch(QUANTITY_PATTERN, data):
                self.fail("invalid")
            value = Decimal(data)
        elif isinstance(data, int):
            value = Decimal(data)
        elif isinstance(data, Decimal):  # a JSON number with a fraction (see the parser)
            value = data
        elif isinstance(data, float):  # a parser that gives floats: read as written
            value = Decimal(repr(data))
        else:
            self.fail("invalid")
        try:
            if not value.is_finite() or value != value.quantize(Decimal("0.001")):
                self.fail("invalid")
        except InvalidOperation:  # far too many digits to hold three decimals
            self.fail("range", max=MAX_QUANTITY)
        if not 0 < value <= MAX_QUANTITY:
            self.fail("range", max=MAX_QUANTITY)
        if value == value.to_integral_value():
            return int(value)
        return value.normalize()

    def to_representation(self, value):
        return value


class ExternalIdField(serializers.CharField):
    """The POS's own id of a write: 1 to 64 printable characters (``HD/2026/0001`` is fine;
    in a path it is percent-encoded)."""

    default_error_messages = {
        "printable": _("Use printable characters only (no control characters)."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", EXTERNAL_ID_MAX)
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> str:
        value = super().to_internal_value(data)
        if not is_printable(value):
            self.fail("printable")
        return value


def is_printable(text: str) -> bool:
    """No control, format or separator characters other than the plain space."""
    return text.isprintable()


class ContractDateTimeField(serializers.DateTimeField):
    """ISO 8601 with offset (a naive time is local), in years a till can mean."""

    default_error_messages = {
        "year": _("The year must be between {first} and {last}."),
    }

    def to_internal_value(self, value) -> datetime:
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = None
            if parsed is not None and not YEARS[0] <= parsed.year <= YEARS[1]:
                self.fail("year", first=YEARS[0], last=YEARS[1])
        try:
            result = super().to_internal_value(value)
        except OverflowError:
            self.fail("year", first=YEARS[0], last=YEARS[1])
        if not YEARS[0] <= result.year <= YEARS[1]:
            self.fail("year", first=YEARS[0], last=YEARS[1])
        return result

"""The strict checker of segment rules: every problem found, each message naming its rule
(numbered as staff see them: 1, 2, 2.1...), translatable."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

MAX_DEPTH = 4  # groups inside groups
MAX_RULES = 50  # conditions and groups in all
MAX_DAYS = 3660
MAX_AGE = 150
MAX_POINTS = 10**12
MAX_AMOUNT = Decimal("1e14")
OPS = ("and", "or")

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Stop(Exception):
    """A condition is invalid: its error is recorded, the checker moves on."""


def _where(number: str | None):
    if number is None:
        return _("The rules")
    return format_lazy(_("Rule {number}"), number=number)


def quoted(values) -> str:
    return ", ".join(f"“{value}”" for value in values)


class Checker:
    def __init__(self, fields: dict):
        self.fields = fields
        self.errors: list[ValidationError] = []
        self.count = 0

    def fail(self, where, message, code, **params):
        self.errors.append(ValidationError(message, code=code, params={"where": where, **params}))
        raise Stop

    # ---- groups

    def group(self, node, number: str | None, depth: int) -> dict:
        where = _where(number)
        if not isinstance(node, dict) or "op" not in node:
            self.fail(
                where,
                _('%(where)s: expected a group {"op": "and" or "or", "rules": [...]}.'),
                "not_group",
            )
        extra = sorted(set(node) - {"op", "rules"})
        if extra:
            self.fail(
                where,
                _("%(where)s: a group has only “op” and “rules”, not %(keys)s."),
                "unknown_key",
                keys=quoted(extra),
            )
        op = node["op"]
        if op not in OPS:
            self.fail(
                where,
                _("%(where)s: unknown operator %(op)s; use “and” or “or”."),
                "unknown_op",
                op=quoted([op]),
            )
        children = node.get("rules")
        if not isinstance(children, list) or (not children and number is not None):
            self.fail(where, _("%(where)s: a group needs a list of rules."), "no_rules")
        if depth > MAX_DEPTH:
            self.fail(
                where,
                _("%(where)s: groups nest at most %(max)s levels deep."),
                "too_deep",
                max=MAX_DEPTH,
            )
        cleaned = []
        for index, child in enumerate(children, start=1):
            self.count += 1
            child_number = f"{number}.{index}" if number else str(index)
            try:
                if isinstance(child, dict) and "op" in child and "field" not in child:
                    cleaned.append(self.group(child, child_number, depth + 1))
                else:
                    cleaned.append(self.condition(child, child_number))
            except Stop:
                continue
        return {"op": op, "rules": cleaned}

    # ---- conditions

    def condition(self, node, number: str) -> dict:
        where = _where(number)
        if not isinstance(node, dict) or not isinstance(node.get("field"), str):
            self.fail(
                where,
                _('%(where)s: expected a condition {"field": ..., ...} or a group {"op": ...}.'),
                "not_condition",
            )
        field = node["field"]
        spec = self.fields.get(field)
        if spec is None:
            self.fail(
                where,
                _("%(where)s: unknown field %(field)s; use one of %(fields)s."),
                "unknown_field",
                field=quoted([field]),
                fields=quoted(self.fields),
            )
        keys = set(node) - {"field"}
        extra = sorted(keys - set(spec.keys))
        if extra:
            self.fail(
                where,
                _("%(where)s: %(keys)s does not apply to the field %(field)s."),
                "unknown_key",
                keys=quoted(extra),
                field=quoted([field]),
            )
        for choice in spec.one_of:
            present = [key for key in choice if key in node]
            if len(present) != 1:
                self.fail(
                    where,
                    _("%(where)s: the field %(field)s needs exactly one of %(keys)s."),
                    "missing_key",
                    field=quoted([field]),
                    keys=quoted(choice),
                )
        return {"field": field, **spec.clean(self, node, where)}

    # ---- values

    def values_in(self, node, where, allowed, *, kind=str) -> list:
        values = node["in"]
        if not isinstance(values, list) or not values:
            self.fail(where, _("%(where)s: “in” must be a non-empty list."), "bad_list")
        if kind is int:
            wrong = [v for v in values if type(v) is not int]
        else:
            wrong = [v for v in values if not isinstance(v, str) or not v.strip()]
        if not wrong and allowed is not None:
            wrong = [v for v in values if v not in allowed]
        if wrong:
            self.fail(
                where,
                _("%(where)s: not valid for %(field)s: %(values)s."),
                "invalid_value",
                field=quoted([node["field"]]),
                values=quoted(wrong),
            )
        return sorted({v.strip() if kind is str else v for v in values})

    def between(self, node, where, parse: Callable) -> list:
        pair = node["between"]
        if not isinstance(pair, list) or len(pair) != 2 or pair == [None, None]:
            self.fail(
                where,
                _("%(where)s: “between” must be [from, to], one of them may be null."),
                "bad_between",
            )
        lo, hi = (None if value is None else parse(value, where) for value in pair)
        if lo is not None and hi is not None and lo > hi:
            self.fail(
                where,
                _("%(where)s: in “between” the first value is after the second."),
                "bad_order",
            )
        return [lo, hi]

    def whole(self, low: int, high: int) -> Callable:
        def parse(value, where):
            if type(value) is not int or not low <= value <= high:
                self.fail(
                    where,
                    _("%(where)s: %(value)s is not a whole number from %(min)s to %(max)s."),
                    "bad_number",
                    value=quoted([value]),
                    min=low,
                    max=high,
                )
            return value

        return parse

    def amount(self, value, where):
        try:
            if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
                raise InvalidOperation
            number = Decimal(str(value).strip())
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or not 0 <= number < MAX_AMOUNT:
            self.fail(
                where,
                _("%(where)s: %(value)s is not an amount (a number, 0 or more)."),
                "bad_amount",
                value=quoted([value]),
            )
        return number.quantize(Decimal("0.01"))

    def day(self, value, where):
        parsed = None
        if isinstance(value, str) and _DATE.match(value):
            try:
                parsed = date.fromisoformat(value)
            except ValueError:
                parsed = None
        if parsed is None:
            self.fail(
                where,
                _("%(where)s: %(value)s is not a date (YYYY-MM-DD)."),
                "bad_date",
                value=quoted([value]),
            )
        return parsed.isoformat()

    def last_days(self, value, where) -> int:
        if type(value) is not int or not 1 <= value <= MAX_DAYS:
            self.fail(
                where,
                _("%(where)s: “last_days” must be a whole number from 1 to %(max)s."),
                "bad_days",
                max=MAX_DAYS,
            )
        return value

    def period(self, spec, where) -> dict:
        """``{"between": [date, date]}`` or ``{"last_days": N}``."""
        if (
            not isinstance(spec, dict)
            or len(spec) != 1
            or not {"between", "last_days"} >= set(spec)
        ):
            self.fail(
                where,
                _('%(where)s: “period” must be {"between": [from, to]} or {"last_days": N}.'),
                "bad_period",
            )
        if "last_days" in spec:
            return {"last_days": self.last_days(spec["last_days"], where)}
        return {"between": self.between(spec, where, self.day)}

    def boolean(self, node, key, where) -> bool:
        if not isinstance(node[key], bool):
            self.fail(
                where,
                _("%(where)s: “%(key)s” must be true or false."),
                "bad_bool",
                key=key,
            )
        return node[key]

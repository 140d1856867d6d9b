"""Segment rules: strict validation, and compilation to one query over members.

Rules are a tree of groups and conditions, stored as JSON on ``Segment.rules``::

    {"op": "and", "rules": [
        {"field": "tier", "in": ["gold", "diamond"]},
        {"op": "or", "rules": [
            {"field": "age", "between": [25, 40]},
            {"field": "spend", "between": [5000000, null], "period": {"last_days": 90}}
        ]}
    ]}

A group is ``{"op": "and" | "or", "rules": [...]}`` with at least one rule (the top-level group
alone may be empty: every member). A condition is ``{"field": ..., ...}``:

=================  ===========================================================================
field              keys
=================  ===========================================================================
tier               ``in``: tier codes (a member the nightly job has not placed yet is in the
                   entry tier)
lifecycle          ``in``: potential, new, active, vip, at_risk, lapsed (``MemberScore``)
recency,           ``between``: [1-5, 1-5] (``MemberScore``; members not scored never match)
frequency,
monetary
age                ``between``: [years, years], on today in the programme's time zone
gender             ``in``: female, male, other
province           ``in``: province codes (``members.provinces``)
birthday_month     ``in``: 1-12
joined             ``between``: [date, date] or ``last_days``: N
last_purchase      ``between``: [date, date], ``last_days``: N, or ``none``: true (never bought)
spend              ``between``: [amount, amount] and ``period``: {``between``: [date, date]} or
                   {``last_days``: N}: net spend (total minus returns) in the period
points_balance     ``between``: [points, points] (available points)
store_visited      ``in``: store codes, optional ``period`` (as for spend)
consent            ``channel``: email or sms, ``granted``: true or false
status             ``in``: active, blocked
=================  ===========================================================================

In ``between`` either bound may be ``null`` (open), not both; bounds are inclusive. Dates are
``YYYY-MM-DD`` local days; ``last_days: N`` is today and the N-1 days before it. Purchases are
live (not the nightly snapshot); a purchase fully returned is no purchase for ``last_purchase``
(as for the nightly scores), while any purchase is a visit for ``store_visited``.

``rules_clean`` checks the shape and every value without touching the database and returns
the rules normalised (lists sorted and without repeats); ``rules_check_references`` also
checks that the tier and store codes exist (one query for each kind used). ``rules_q`` turns
clean rules into one ``Q`` over ``Member``: plain columns, the one-to-one rows (score, point
account) joined, everything else ``EXISTS``/subqueries, so the result is a single SQL query
whatever the nesting, never a loop over members.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.segment_rules.checker import MAX_DEPTH, MAX_RULES, Checker, Stop, quoted
from campaigns.segment_rules.fields import FIELDS, Context
from members.models import Store
from tiers.models import Tier

__all__ = [
    "FIELDS",
    "MAX_DEPTH",
    "MAX_RULES",
    "program_today",
    "rules_check_references",
    "rules_clean",
    "rules_q",
    "rules_validate",
]


def rules_clean(rules) -> dict:
    """The rules checked and normalised, or ``ValidationError`` listing every problem (each
    message names the rule, numbered as staff see them: 1, 2, 2.1...). No database access."""
    checker = Checker(FIELDS)
    try:
        cleaned = checker.group(rules, None, 1)
    except Stop:
        cleaned = None
    if checker.count > MAX_RULES:
        checker.errors.append(
            ValidationError(
                _("The rules: at most %(max)s rules and groups in all."),
                code="too_many",
                params={"max": MAX_RULES},
            )
        )
    if checker.errors:
        raise ValidationError(checker.errors)
    return cleaned


def _conditions(rules: dict):
    for node in rules["rules"]:
        if "op" in node:
            yield from _conditions(node)
        else:
            yield node


def rules_check_references(rules: dict) -> None:
    """Clean ``rules`` must name tiers and stores that exist (one query per kind used)."""
    wanted = {"tier": set(), "store_visited": set()}
    for node in _conditions(rules):
        if node["field"] in wanted:
            wanted[node["field"]].update(node["in"])
    errors = []
    if wanted["tier"]:
        unknown = wanted["tier"] - set(
            Tier.objects.filter(code__in=wanted["tier"]).values_list("code", flat=True)
        )
        if unknown:
            errors.append(
                ValidationError(
                    _("No tier has the code %(codes)s."),
                    code="unknown_tier",
                    params={"codes": quoted(sorted(unknown))},
                )
            )
    if wanted["store_visited"]:
        unknown = wanted["store_visited"] - set(
            Store.objects.filter(code__in=wanted["store_visited"]).values_list("code", flat=True)
        )
        if unknown:
            errors.append(
                ValidationError(
                    _("No store has the code %(codes)s."),
                    code="unknown_store",
                    params={"codes": quoted(sorted(unknown))},
                )
            )
    if errors:
        raise ValidationError(errors)


def rules_validate(rules) -> dict:
    """Everything a save checks: ``rules_clean`` then ``rules_check_references``."""
    cleaned = rules_clean(rules)
    rules_check_references(cleaned)
    return cleaned


def program_today() -> date:
    """Today in the programme's time zone, whatever time zone a request activated."""
    return timezone.localdate(timezone=timezone.get_default_timezone())


def rules_q(rules, *, today: date | None = None) -> Q:
    """One ``Q`` over ``Member`` for ``rules`` (checked with ``rules_clean`` first), with
    relative dates and ages taken on ``today`` (default: today in the programme's zone)."""
    cleaned = rules_clean(rules)
    ctx = Context(today=today or program_today(), tz=timezone.get_default_timezone())
    return _compile_group(cleaned, ctx)


def _compile_group(group: dict, ctx: Context) -> Q:
    parts = [
        _compile_group(node, ctx) if "op" in node else FIELDS[node["field"]].compile(node, ctx)
        for node in group["rules"]
    ]
    if not parts:
        return Q()
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part if group["op"] == "and" else combined | part
    return combined

"""The fields a segment rule may test: how each is checked and compiled to a ``Q`` over
``Member`` (plain columns, the one-to-one score and point account joined, purchases and
tiers as ``EXISTS`` or subqueries)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from django.db.models import DecimalField, Exists, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual
from django.utils.translation import gettext_lazy as _

from campaigns.models import MemberScore
from campaigns.segment_rules.checker import MAX_AGE, MAX_POINTS, Checker, quoted
from members.models import Member, Purchase
from members.provinces import PROVINCE_CHOICES
from members.services import CONSENT_CHANNELS
from tiers.models import MemberTier, Tier

_MONEY = DecimalField(max_digits=18, decimal_places=2)


@dataclass(frozen=True)
class Context:
    today: date
    tz: tzinfo

    def start_of(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.tz)

    def period(self, spec: dict) -> tuple[datetime | None, datetime | None]:
        """[start, end) as aware datetimes: local days, either side open (None)."""
        if "last_days" in spec:
            first = self.today - timedelta(days=spec["last_days"] - 1)
            return self.start_of(first), self.start_of(self.today + timedelta(days=1))
        lo, hi = spec["between"]
        start = self.start_of(date.fromisoformat(lo)) if lo else None
        end = self.start_of(date.fromisoformat(hi) + timedelta(days=1)) if hi else None
        return start, end


def _in_period(start, end, field: str = "occurred_at") -> Q:
    q = Q()
    if start is not None:
        q &= Q(**{f"{field}__gte": start})
    if end is not None:
        q &= Q(**{f"{field}__lt": end})
    return q


def _range(field: str, lo, hi) -> Q:
    q = Q()
    if lo is not None:
        q &= Q(**{f"{field}__gte": lo})
    if hi is not None:
        q &= Q(**{f"{field}__lte": hi})
    return q


def _purchases(*conditions: Q, counted: bool = False):
    rows = Purchase.objects.filter(*conditions, member=OuterRef("pk"))
    if counted:
        rows = rows.filter(returned_amount__lt=F("total_amount"))
    return rows


def _years_before(day: date, years: int) -> date:
    """The same day ``years`` earlier; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


# --------------------------------------------------------------------------- the fields


@dataclass(frozen=True)
class Field:
    keys: tuple[str, ...]
    one_of: tuple[tuple[str, ...], ...]
    clean: Callable[[Checker, dict, object], dict]
    compile: Callable[[dict, Context], Q]


def _choice_field(allowed, compile_, *, kind=str) -> Field:
    return Field(
        keys=("in",),
        one_of=(("in",),),
        clean=lambda c, node, where: {"in": c.values_in(node, where, allowed, kind=kind)},
        compile=compile_,
    )


def _score_field(column: str) -> Field:
    def clean(c: Checker, node, where):
        return {"between": c.between(node, where, c.whole(1, 5))}

    return Field(
        keys=("between",),
        one_of=(("between",),),
        clean=clean,
        compile=lambda node, ctx: _range(f"score__{column}", *node["between"]),
    )


def _compile_tier(node, ctx) -> Q:
    codes = node["in"]
    holds = Exists(MemberTier.objects.filter(member=OuterRef("pk"), tier__code__in=codes))
    # No tier row yet (enrolled since the last nightly run): the entry tier, the lowest rank.
    unplaced = ~Exists(MemberTier.objects.filter(member=OuterRef("pk")))
    lowest = Tier.objects.order_by("rank").values("rank")[:1]
    entry_wanted = Exists(Tier.objects.filter(code__in=codes, rank=Subquery(lowest)))
    return Q(holds) | (Q(unplaced) & Q(entry_wanted))


def _compile_age(node, ctx) -> Q:
    youngest, oldest = node["between"]
    q = Q(birth_date__isnull=False)
    if youngest is not None:  # at least `youngest` years old today
        q &= Q(birth_date__lte=_years_before(ctx.today, youngest))
    if oldest is not None:  # not yet `oldest + 1`
        q &= Q(birth_date__gt=_years_before(ctx.today, oldest + 1))
    return q


def _clean_dates(c: Checker, node, where) -> dict:
    if "last_days" in node:
        return {"last_days": c.last_days(node["last_days"], where)}
    return {"between": c.between(node, where, c.day)}


def _compile_joined(node, ctx) -> Q:
    return _in_period(*ctx.period(node), field="joined_at")


def _clean_last_purchase(c: Checker, node, where) -> dict:
    if "none" in node:
        if node["none"] is not True:
            c.fail(where, _("%(where)s: “none” can only be true."), "bad_bool")
        return {"none": True}
    return _clean_dates(c, node, where)


def _compile_last_purchase(node, ctx) -> Q:
    if node.get("none"):
        return ~Q(Exists(_purchases(counted=True)))
    start, end = ctx.period(node)
    q = Q(Exists(_purchases(_in_period(start, end), counted=True)))
    if end is not None:  # and none after the period
        q &= ~Q(Exists(_purchases(Q(occurred_at__gte=end), counted=True)))
    return q


def _clean_spend(c: Checker, node, where) -> dict:
    if "period" not in node:
        c.fail(
            where,
            _("%(where)s: the field %(field)s needs %(keys)s."),
            "missing_key",
            field=quoted(["spend"]),
            keys=quoted(["period"]),
        )
    amounts = c.between(node, where, c.amount)
    period = c.period(node["period"], where)
    return {"between": [_dump_amount(a) for a in amounts], "period": period}


def _dump_amount(amount: Decimal | None):
    """JSON for an amount: a whole number as a number, else a decimal string."""
    if amount is None:
        return None
    return int(amount) if amount == amount.to_integral_value() else str(amount)


def _compile_spend(node, ctx) -> Q:
    net = (
        _purchases(_in_period(*ctx.period(node["period"])))
        .order_by()
        .values("member")
        .annotate(net=Sum(F("total_amount") - F("returned_amount")))
        .values("net")
    )
    spend = Coalesce(Subquery(net, output_field=_MONEY), Value(Decimal(0)), output_field=_MONEY)
    lo, hi = node["between"]
    q = Q()
    if lo is not None:
        q &= Q(GreaterThanOrEqual(spend, Value(Decimal(lo), output_field=_MONEY)))
    if hi is not None:
        q &= Q(LessThanOrEqual(spend, Value(Decimal(hi), output_field=_MONEY)))
    return q


def _clean_store_visited(c: Checker, node, where) -> dict:
    cleaned = {"in": c.values_in(node, where, None)}
    if "period" in node:
        cleaned["period"] = c.period(node["period"], where)
    return cleaned


def _compile_store_visited(node, ctx) -> Q:
    period = ctx.period(node["period"]) if "period" in node else (None, None)
    return Q(Exists(_purchases(Q(store__code__in=node["in"]), _in_period(*period))))


def _clean_consent(c: Checker, node, where) -> dict:
    channel = node["channel"]
    if channel not in CONSENT_CHANNELS:
        c.fail(
            where,
            _("%(where)s: unknown consent channel %(channel)s; use one of %(channels)s."),
            "invalid_value",
            channel=quoted([channel]),
            channels=quoted(CONSENT_CHANNELS),
        )
    return {"channel": channel, "granted": c.boolean(node, "granted", where)}


def _compile_consent(node, ctx) -> Q:
    return Q(**{f"{node['channel']}_consent": node["granted"]})


FIELDS: dict[str, Field] = {
    "tier": _choice_field(None, _compile_tier),
    "lifecycle": _choice_field(
        MemberScore.Lifecycle.values, lambda node, ctx: Q(score__lifecycle__in=node["in"])
    ),
    "recency": _score_field("recency"),
    "frequency": _score_field("frequency"),
    "monetary": _score_field("monetary"),
    "age": Field(
        keys=("between",),
        one_of=(("between",),),
        clean=lambda c, node, where: {"between": c.between(node, where, c.whole(0, MAX_AGE))},
        compile=_compile_age,
    ),
    "gender": _choice_field(Member.Gender.values, lambda node, ctx: Q(gender__in=node["in"])),
    "province": _choice_field(
        [code for code, _name in PROVINCE_CHOICES], lambda node, ctx: Q(province__in=node["in"])
    ),
    "birthday_month": _choice_field(
        list(range(1, 13)), lambda node, ctx: Q(birth_date__month__in=node["in"]), kind=int
    ),
    "joined": Field(
        keys=("between", "last_days"),
        one_of=(("between", "last_days"),),
        clean=_clean_dates,
        compile=_compile_joined,
    ),
    "last_purchase": Field(
        keys=("between", "last_days", "none"),
        one_of=(("between", "last_days", "none"),),
        clean=_clean_last_purchase,
        compile=_compile_last_purchase,
    ),
    "spend": Field(
        keys=("between", "period"),
        one_of=(("between",),),
        clean=_clean_spend,
        compile=_compile_spend,
    ),
    "points_balance": Field(
        keys=("between",),
        one_of=(("between",),),
        clean=lambda c, node, where: {
            "between": c.between(node, where, c.whole(-MAX_POINTS, MAX_POINTS))
        },
        compile=lambda node, ctx: _range("account__available", *node["between"]),
    ),
    "store_visited": Field(
        keys=("in", "period"),
        one_of=(("in",),),
        clean=_clean_store_visited,
        compile=_compile_store_visited,
    ),
    "consent": Field(
        keys=("channel", "granted"),
        one_of=(("channel",), ("granted",)),
        clean=_clean_consent,
        compile=_compile_consent,
    ),
    "status": _choice_field(Member.Status.values, lambda node, ctx: Q(status__in=node["in"])),
}

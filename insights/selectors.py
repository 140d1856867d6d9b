"""The overview's figures for a period and a set of stores, read from the daily facts.

A period ``[start, end]`` (local days, inclusive) is read in pieces:

- whole months of built days: the month rows (one row per store and tier);
- other built days: the day rows;
- days not built yet (a fresh install before its first nightly build, a day whose build
  failed) and today: computed live from the raw tables by the same ``day_cells`` the build
  uses, over the indexed ``occurred_at`` / ``joined_at`` / ``created_at`` ranges of those
  days only.

So the figures never scan the purchases of the period, and they are exact whatever has been
built: a built day holds what the raw tables held when it was built; a later write to a
closed day (a return, an import) marks it dirty and the build that follows replaces it.

Distinct counts (active members, repeat buyers, cohorts) come from the cells' Roaring
bitmaps; everything else is summed. The closed part of a period is cached, keyed by the
facts' version (every build bumps it), so a warm request costs the live part only.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.cache import cache
from django.db.models import Count, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from pyroaring import BitMap

from insights import bitmaps
from insights.models import BuiltDay, DirtyDay, FactsState, Grain, MemberFact, PointsFact, SalesFact
from insights.services import (
    day_cells,
    day_start,
    first_data_day,
    month_end,
    month_start,
    next_month,
)

ZERO = Decimal(0)
RATE = Decimal("0.0001")
MONEY = Decimal(1)  # VND: whole đồng
DAY_SERIES_MAX = 62  # a period of up to this many days is drawn by day, a longer one by month
MAX_DAYS = 3700  # about ten years: anything longer is a typo
MAX_COHORTS = 24
CACHE_SECONDS = 600
DAY_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
SCALARS = (
    "members_total",
    "members_new",
    "members_active",
    "active_rate",
    "repeat_rate",
    "purchases",
    "revenue",
    "aov",
    "visits_per_active",
    "points_issued",
    "points_redeemed",
    "points_expired",
    "points_reversed",
    "points_outstanding",
    "liability",
    "redemption_rate",
    "breakage_rate",
)


class OverviewError(Exception):
    """Bad parameters of an overview request: ``code`` is the POS contract's error code
    (``validation_error``, ``forbidden``, ``not_found``), ``message`` for people."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


# ---------------------------------------------------------------- parameters


def overview_scope(user, store_code: str | None) -> set[int] | None:
    """The store ids the figures cover for ``user`` asking for ``store_code`` (empty: every
    store they may see). ``None`` means the whole chain (members who enrolled online, point
    movements of no store included). A store manager always gets their stores only."""
    from members.models import Store
    from members.selectors import staff_store_ids

    allowed = staff_store_ids(user)
    if not store_code:
        return None if allowed is None else set(allowed)
    store = Store.objects.filter(code=store_code).only("id").first()
    if store is None or (allowed is not None and store.id not in allowed):
        # A store outside a manager's scope answers as an unknown one: no probing of codes.
        raise OverviewError("not_found", _("No such store."), field="store")
    return {store.id}


def _parse_day(raw: str | None, name: str) -> date | None:
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or not DAY_FORMAT.fullmatch(raw):
        return _bad_day(name)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return _bad_day(name)


def _bad_day(name: str):
    raise OverviewError(
        "validation_error", _("Give the date as YYYY-MM-DD, e.g. 2026-01-31."), field=name
    )


def overview_params(query, user) -> tuple[date, date, set[int] | None, str]:
    """``start``, ``end``, the store ids and the store code of an overview request's GET
    parameters (defaults: the 30 days up to yesterday, every store the user may see)."""
    yesterday = timezone.localdate() - timedelta(days=1)
    start = _parse_day(query.get("start"), "start")
    end = _parse_day(query.get("end"), "end")
    if end is None:
        end = yesterday if start is None or start <= yesterday else start
    if start is None:
        start = end - timedelta(days=29)
    if start > end:
        raise OverviewError("validation_error", _("The start is after the end."), field="start")
    if (end - start).days + 1 > MAX_DAYS:
        raise OverviewError(
            "validation_error", _("Choose a period of at most ten years."), field="start"
        )
    if end > timezone.localdate() + timedelta(days=366) or start.year < 2000:
        raise OverviewError("validation_error", _("Choose a period that can hold data."))
    store_code = (query.get("store") or "").strip()
    if len(store_code) > 64:
        raise OverviewError("not_found", _("No such store."), field="store")
    return start, end, overview_scope(user, store_code), store_code


# ---------------------------------------------------------------- pieces of a period


@dataclass
class Pieces:
    months: list[date] = field(default_factory=list)  # whole built months
    days: list[tuple[date, date]] = field(default_factory=list)  # built day runs
    live: list[tuple[date, date]] = field(default_factory=list)  # unbuilt runs and today


def _runs(days: list[date]) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def period_pieces(start: date, end: date, *, today: date, months: bool) -> Pieces:
    """How ``[start, end]`` is read: whole months (if ``months``), built days, live days.
    Days after today hold nothing and are not read at all."""
    pieces = Pieces()
    last = min(end, today)
    if start > last:
        return pieces
    closed_last = min(last, today - timedelta(days=1))
    built = set()
    if start <= closed_last:
        span = {"day__gte": start, "day__lte": closed_last}
        built = set(BuiltDay.objects.filter(**span).values_list("day", flat=True))
        # A day changed since its build (a return, a late purchase, an import) is read live
        # until it is built again.
        built -= set(DirtyDay.objects.filter(**span).values_list("day", flat=True))
    built_days: list[date] = []
    unbuilt: list[date] = []
    cursor = start
    while cursor <= last:
        if cursor <= closed_last and cursor in built:
            first_of_month = cursor.day == 1
            whole = (
                months
                and first_of_month
                and month_end(cursor) <= closed_last
                and all(
                    cursor + timedelta(days=i) in built
                    for i in range((month_end(cursor) - cursor).days + 1)
                )
            )
            if whole:
                pieces.months.append(cursor)
                cursor = next_month(cursor)
                continue
            built_days.append(cursor)
        else:
            unbuilt.append(cursor)
        cursor += timedelta(days=1)
    pieces.days = _runs(built_days)
    pieces.live = _runs(unbuilt)
    return pieces


# ---------------------------------------------------------------- accumulating cells


@dataclass
class Totals:
    """What a period adds up to; ``bucket`` keys are the series' unit starts."""

    unit: str
    purchases: int = 0
    revenue: Decimal = ZERO
    members_new: int = 0
    active: bitmaps.Repeat = field(default_factory=bitmaps.Repeat)
    joined_by_month: dict = field(default_factory=lambda: defaultdict(BitMap))
    active_by_month: dict = field(default_factory=lambda: defaultdict(BitMap))
    by_tier: dict = field(default_factory=dict)
    buckets: dict = field(default_factory=dict)
    issued: int = 0
    redeemed: int = 0
    expired: int = 0
    reversed: int = 0

    def bucket(self, day: date) -> dict:
        key = day if self.unit == "day" else month_start(day)
        row = self.buckets.get(key)
        if row is None:
            row = self.buckets[key] = {
                "purchases": 0,
                "revenue": ZERO,
                "members_new": 0,
                "active": BitMap(),
                "points_issued": 0,
                "points_redeemed": 0,
                "points_expired": 0,
            }
        return row

    def add_sales(self, day, tier_id, purchases, revenue, returns, active, repeat) -> None:
        net = revenue - returns
        self.purchases += purchases
        self.revenue += net
        self.active.add(active, repeat)
        self.active_by_month[month_start(day)] |= active
        tier = self.by_tier.get(tier_id)
        if tier is None:
            tier = self.by_tier[tier_id] = {"purchases": 0, "revenue": ZERO, "active": BitMap()}
        tier["purchases"] += purchases
        tier["revenue"] += net
        tier["active"] |= active
        row = self.bucket(day)
        row["purchases"] += purchases
        row["revenue"] += net
        row["active"] |= active

    def add_members(self, day, members_new, joined) -> None:
        self.members_new += members_new
        self.joined_by_month[month_start(day)] |= joined
        self.bucket(day)["members_new"] += members_new

    def add_points(self, day, issued, redeemed, expired, reversed_) -> None:
        self.issued += issued
        self.redeemed += redeemed
        self.expired += expired
        self.reversed += reversed_
        row = self.bucket(day)
        row["points_issued"] += issued
        row["points_redeemed"] += redeemed
        row["points_expired"] += expired


def _in_stores(store_id, store_ids: set[int] | None) -> bool:
    return store_ids is None or store_id in store_ids


def _add_fact_rows(totals: Totals, grain: str, filters: dict, store_ids) -> None:
    sales = SalesFact.objects.filter(grain=grain, **filters)
    members = MemberFact.objects.filter(grain=grain, **filters)
    points = PointsFact.objects.filter(grain=grain, **filters)
    if store_ids is not None:
        sales = sales.filter(store_id__in=store_ids)
        members = members.filter(store_id__in=store_ids)
        points = points.filter(store_id__in=store_ids)
    for row in sales.values_list(
        "period", "tier_id", "purchases", "revenue", "returns", "active", "repeat"
    ).iterator(chunk_size=2000):
        period, tier_id, purchases, revenue, returns, active, repeat = row
        totals.add_sales(
            period,
            tier_id,
            purchases,
            revenue,
            returns,
            bitmaps.load(active),
            bitmaps.load(repeat),
        )
    for period, members_new, joined in members.values_list("period", "members_new", "joined"):
        totals.add_members(period, members_new, bitmaps.load(joined))
    for period, issued, redeemed, expired, reversed_ in points.values_list(
        "period", "issued", "redeemed", "expired", "reversed"
    ):
        totals.add_points(period, issued, redeemed, expired, reversed_)


def _add_live(totals: Totals, first: date, last: date, store_ids, until: datetime) -> None:
    cells = day_cells(first, last, until=until)
    for (day, store_id, tier_id), c in cells.sales.items():
        if _in_stores(store_id, store_ids):
            totals.add_sales(day, tier_id, c.purchases, c.revenue, c.returns, c.active, c.repeat)
    for (day, store_id), c in cells.members.items():
        if _in_stores(store_id, store_ids):
            totals.add_members(day, c.members_new, c.joined)
    for (day, store_id), c in cells.points.items():
        if _in_stores(store_id, store_ids):
            totals.add_points(day, c.issued, c.redeemed, c.expired, c.reversed)


def _totals(start: date, end: date, store_ids, *, unit: str, today: date, now) -> Totals:
    totals = Totals(unit=unit)
    pieces = period_pieces(start, end, today=today, months=unit == "month")
    if pieces.months:
        _add_fact_rows(totals, Grain.MONTH, {"period__in": pieces.months}, store_ids)
    for first, last in pieces.days:
        _add_fact_rows(totals, Grain.DAY, {"period__gte": first, "period__lte": last}, store_ids)
    for first, last in pieces.live:
        _add_live(totals, first, last, store_ids, now)
    return totals


def _members_new_between(first: date, last: date, store_ids, *, today: date, now) -> int:
    """Members who joined on the local days ``first``..``last`` (by their enrolling store
    when stores are chosen): month and day rows summed in SQL, unbuilt days and today
    counted from the members table's ``joined_at`` index."""
    from members.models import Member

    pieces = period_pieces(first, last, today=today, months=True)
    facts = MemberFact.objects.all()
    joined = Member.objects.all()
    if store_ids is not None:
        facts = facts.filter(store_id__in=store_ids)
        joined = joined.filter(enrolled_at_store_id__in=store_ids)
    total = 0
    if pieces.months:
        total += (
            facts.filter(grain=Grain.MONTH, period__in=pieces.months).aggregate(
                n=Sum("members_new")
            )["n"]
            or 0
        )
    for lo, hi in pieces.days:
        total += (
            facts.filter(grain=Grain.DAY, period__gte=lo, period__lte=hi).aggregate(
                n=Sum("members_new")
            )["n"]
            or 0
        )
    for lo, hi in pieces.live:
        total += joined.filter(
            joined_at__gte=day_start(lo), joined_at__lt=min(day_start(hi + timedelta(days=1)), now)
        ).count()
    return total


def _members_total(end: date, store_ids, *, today: date, now) -> int:
    """Members who joined on or before ``end``: those before the first built day counted
    from the members table (none, once the facts are built from the first day), the rest
    from the facts."""
    from members.models import Member

    first_built = BuiltDay.objects.order_by("day").values_list("day", flat=True).first()
    joined = Member.objects.all()
    if store_ids is not None:
        joined = joined.filter(enrolled_at_store_id__in=store_ids)
    if first_built is None or first_built > end:
        return joined.filter(joined_at__lt=min(day_start(end + timedelta(days=1)), now)).count()
    before = joined.filter(joined_at__lt=day_start(first_built)).count()
    return before + _members_new_between(first_built, end, store_ids, today=today, now=now)


def _points_outstanding() -> int:
    """Available plus pending over every member, now (the programme's, whatever the store:
    points are spent anywhere in the chain)."""
    from members.models import PointAccount

    row = PointAccount.objects.aggregate(a=Sum("available"), p=Sum("pending"))
    return (row["a"] or 0) + (row["p"] or 0)


def _outstanding_at(end: date, *, today: date, now) -> int:
    """Points outstanding at the end of ``end`` (for the year-earlier column): the net
    change of every point movement up to that day, from the facts where built (month rows,
    day rows) and live from the ledger's ``created_at`` index for the days that are not."""
    from members.models import PointEntry

    if end >= today:
        return _points_outstanding()
    first = first_data_day()
    if first is None or first > end:
        return 0
    pieces = period_pieces(first, end, today=today, months=True)
    total = 0
    if pieces.months:
        total += (
            PointsFact.objects.filter(grain=Grain.MONTH, period__in=pieces.months).aggregate(
                n=Sum("net")
            )["n"]
            or 0
        )
    for lo, hi in pieces.days:
        total += (
            PointsFact.objects.filter(grain=Grain.DAY, period__gte=lo, period__lte=hi).aggregate(
                n=Sum("net")
            )["n"]
            or 0
        )
    for lo, hi in pieces.live:
        row = PointEntry.objects.filter(
            created_at__gte=day_start(lo), created_at__lt=day_start(hi + timedelta(days=1))
        ).aggregate(a=Sum("available_delta"), p=Sum("pending_delta"))
        total += (row["a"] or 0) + (row["p"] or 0)
    return total


# ---------------------------------------------------------------- figures


def _ratio(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATE, rounding=ROUND_HALF_UP)


def _money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(MONEY, rounding=ROUND_HALF_UP)


def _point_value() -> Decimal:
    from members.models import Program

    program = Program.objects.filter(id=Program.SINGLETON_ID).only("point_value").first()
    return program.point_value if program else Decimal(1)


def _scalars(totals: Totals, members_total: int, outstanding: int, point_value) -> dict:
    active = len(totals.active.seen)
    return {
        "members_total": members_total,
        "members_new": totals.members_new,
        "members_active": active,
        "active_rate": _ratio(active, members_total),
        "repeat_rate": _ratio(len(totals.active.repeat), active),
        "purchases": totals.purchases,
        "revenue": _money(totals.revenue),
        "aov": _money(totals.revenue / totals.purchases) if totals.purchases else None,
        "visits_per_active": _ratio(totals.purchases, active),
        "points_issued": totals.issued,
        "points_redeemed": totals.redeemed,
        "points_expired": totals.expired,
        "points_reversed": totals.reversed,
        "points_outstanding": outstanding,
        "liability": _money(outstanding * point_value),
        "redemption_rate": _ratio(totals.redeemed, totals.issued),
        "breakage_rate": _ratio(totals.expired, totals.issued),
    }


def _year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _tier_rows(totals: Totals) -> list[dict]:
    from loyalty.localised import localised
    from tiers.models import Tier

    tiers = {t.id: t for t in Tier.objects.filter(id__in=[k for k in totals.by_tier if k])}
    rows = []
    for tier_id, t in totals.by_tier.items():
        tier = tiers.get(tier_id)
        rows.append(
            {
                "tier": tier.code if tier else None,
                "name": localised(tier, "name") if tier else _("No tier"),
                "rank": tier.rank if tier else -1,
                "members_active": len(t["active"]),
                "purchases": t["purchases"],
                "revenue": _money(t["revenue"]),
                "aov": _money(t["revenue"] / t["purchases"]) if t["purchases"] else None,
            }
        )
    rows.sort(key=lambda r: r["rank"])
    for row in rows:
        del row["rank"]
    return rows


def _cohorts(totals: Totals) -> list[dict]:
    months = sorted(totals.joined_by_month)[-MAX_COHORTS:]
    active_months = sorted(totals.active_by_month)
    rows = []
    for month in months:
        joined = totals.joined_by_month[month]
        if not joined:
            continue
        rows.append(
            {
                "month": month,
                "joined": len(joined),
                "returned": [
                    joined.intersection_cardinality(totals.active_by_month[m])
                    for m in active_months
                    if m >= month
                ],
            }
        )
    return rows


def _series(totals: Totals, start: date, end: date) -> dict:
    rows = []
    cursor = start if totals.unit == "day" else month_start(start)
    while cursor <= end:
        row = totals.buckets.get(cursor)
        rows.append(
            {
                "start": cursor,
                "purchases": row["purchases"] if row else 0,
                "revenue": _money(row["revenue"]) if row else ZERO,
                "members_new": row["members_new"] if row else 0,
                "members_active": len(row["active"]) if row else 0,
                "points_issued": row["points_issued"] if row else 0,
                "points_redeemed": row["points_redeemed"] if row else 0,
                "points_expired": row["points_expired"] if row else 0,
            }
        )
        cursor = cursor + timedelta(days=1) if totals.unit == "day" else next_month(cursor)
    return {"unit": totals.unit, "rows": rows}


def _store_codes(store_ids) -> list[str] | None:
    from members.models import Store

    if store_ids is None:
        return None
    return sorted(Store.objects.filter(id__in=store_ids).values_list("code", flat=True))


def _version() -> int:
    return (
        FactsState.objects.filter(id=FactsState.SINGLETON_ID)
        .values_list("version", flat=True)
        .first()
        or 0
    )


def _dirty_fingerprint(start: date, end: date) -> str:
    """The dirty marks of the days read (the period and its year-earlier one): a write to a
    closed day moves it, so cached figures never outlive the raw rows they were read from."""
    marks = DirtyDay.objects.filter(day__gte=_year_earlier(start), day__lte=end).aggregate(
        n=Count("day"), last=Max("marked_at")
    )
    last = marks["last"].timestamp() if marks["last"] else 0
    return f"{marks['n']}.{last}"


def _cached_figures(start, end, store_ids, today, now) -> dict:
    """The figures of a period ending before today, cached by the facts' version and the
    period's dirty marks."""
    stores = "all" if store_ids is None else ",".join(map(str, sorted(store_ids)))
    dirty = _dirty_fingerprint(start, end)
    key = f"insights:overview:v{_version()}:d{dirty}:{start}:{end}:{stores}:{today}"
    figures = cache.get(key)
    if figures is None:
        figures = _compute(start, end, store_ids, today=today, now=now, outstanding=None)
        cache.set(key, figures, CACHE_SECONDS)
    return figures


def _compute(start, end, store_ids, *, today, now, outstanding) -> dict:
    unit = "day" if (end - start).days + 1 <= DAY_SERIES_MAX else "month"
    totals = _totals(start, end, store_ids, unit=unit, today=today, now=now)
    members_total = _members_total(end, store_ids, today=today, now=now)
    point_value = _point_value()
    scalars = _scalars(totals, members_total, outstanding or 0, point_value)
    prev_start, prev_end = _year_earlier(start), _year_earlier(end)
    prev_totals = _totals(prev_start, prev_end, store_ids, unit="month", today=today, now=now)
    previous = _scalars(
        prev_totals,
        _members_total(prev_end, store_ids, today=today, now=now),
        _outstanding_at(prev_end, today=today, now=now),
        point_value,
    )
    previous.update(start=prev_start, end=prev_end)
    return {
        **scalars,
        "by_tier": _tier_rows(totals),
        "cohorts": _cohorts(totals),
        "series": _series(totals, start, end),
        "previous": previous,
    }


def overview_figures(*, start: date, end: date, store_ids: set[int] | None) -> dict:
    """The overview's figures for the local days ``start``..``end`` at ``store_ids``
    (``None``: the whole chain), with the same period a year earlier under ``previous``.

    Money (``revenue``, ``aov``, ``liability``) as whole-đồng Decimals; rates as Decimals
    of 4 places or ``None`` when their denominator is 0. ``points_outstanding`` and
    ``liability`` are now and programme-wide. See README "The overview's figures"."""
    now = timezone.now()
    today = timezone.localdate(now)
    if end < today:
        figures = dict(_cached_figures(start, end, store_ids, today, now))
    else:
        figures = _compute(start, end, store_ids, today=today, now=now, outstanding=None)
    outstanding = _points_outstanding()
    figures["points_outstanding"] = outstanding
    figures["liability"] = _money(outstanding * _point_value())
    figures.update(start=start, end=end, stores=_store_codes(store_ids), as_of=now)
    return figures

"""Building the daily facts from the raw tables (set-based GROUP BY, chunked by month) and
keeping them up to date: the nightly job, the dirty days, the full rebuild.

A day's cells are computed by ``day_cells(first, last)`` (also used live for today by the
selectors), written by replacing the day's rows, and each month touched is rolled up again
from its day rows (sums, bitmap unions, and the repeat buyers across the days).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import OperationalError, connection, transaction
from django.db.models import Count, F, Min, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from pyroaring import BitMap

from insights import bitmaps
from insights.models import (
    BuiltDay,
    DirtyDay,
    FactsState,
    Grain,
    MemberFact,
    PointsFact,
    SalesFact,
)

logger = logging.getLogger(__name__)

ZERO = Decimal(0)


# ---------------------------------------------------------------- dates


def local_tz():
    return timezone.get_default_timezone()


def day_start(day: date) -> datetime:
    """The first instant of a local day, aware."""
    return datetime.combine(day, time.min, tzinfo=local_tz())


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment, local_tz()).date()


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_end(day: date) -> date:
    return next_month(day) - timedelta(days=1)


def month_chunks(first: date, last: date) -> list[tuple[date, date]]:
    """``[first, last]`` cut at month boundaries."""
    chunks = []
    cursor = first
    while cursor <= last:
        end = min(last, month_end(cursor))
        chunks.append((cursor, end))
        cursor = end + timedelta(days=1)
    return chunks


def _as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else value


# ---------------------------------------------------------------- cells


@dataclass
class SalesCell:
    purchases: int = 0
    revenue: Decimal = ZERO
    returns: Decimal = ZERO
    active: BitMap = field(default_factory=BitMap)
    repeat: BitMap = field(default_factory=BitMap)


@dataclass
class MemberCell:
    members_new: int = 0
    joined: BitMap = field(default_factory=BitMap)


@dataclass
class PointsCell:
    issued: int = 0
    redeemed: int = 0
    expired: int = 0
    reversed: int = 0
    adjusted: int = 0
    net: int = 0


@dataclass
class DayCells:
    sales: dict[tuple[date, int, int | None], SalesCell]
    members: dict[tuple[date, int | None], MemberCell]
    points: dict[tuple[date, int | None], PointsCell]


def _bounds(first: date, last: date, until: datetime | None) -> tuple[datetime, datetime]:
    lo = day_start(first)
    hi = day_start(last + timedelta(days=1))
    if until is not None:
        hi = min(hi, until)
    return lo, hi


def sales_cells(first: date, last: date, *, until: datetime | None = None) -> dict:
    from members.models import Purchase

    lo, hi = _bounds(first, last, until)
    rows = (
        Purchase.objects.filter(occurred_at__gte=lo, occurred_at__lt=hi)
        .annotate(
            day=TruncDate("occurred_at", tzinfo=local_tz()), tier=F("member__tier_status__tier")
        )
        .values_list("day", "store_id", "tier", "member_id")
        .annotate(n=Count("id"), revenue=Sum("total_amount"), returns=Sum("returned_amount"))
        .order_by()
    )
    cells: dict = defaultdict(SalesCell)
    for day, store_id, tier_id, member_id, n, revenue, returns in rows.iterator(chunk_size=20000):
        cell = cells[(_as_date(day), store_id, tier_id)]
        cell.purchases += n
        cell.revenue += revenue
        cell.returns += returns
        cell.active.add(member_id)
        if n >= 2:
            cell.repeat.add(member_id)
    return dict(cells)


def member_cells(first: date, last: date, *, until: datetime | None = None) -> dict:
    from members.models import Member

    lo, hi = _bounds(first, last, until)
    rows = (
        Member.objects.filter(joined_at__gte=lo, joined_at__lt=hi)
        .annotate(day=TruncDate("joined_at", tzinfo=local_tz()))
        .values_list("day", "enrolled_at_store_id", "id")
        .order_by()
    )
    cells: dict = defaultdict(MemberCell)
    for day, store_id, member_id in rows.iterator(chunk_size=20000):
        cell = cells[(_as_date(day), store_id)]
        cell.members_new += 1
        cell.joined.add(member_id)
    return dict(cells)


def points_cells(first: date, last: date, *, until: datetime | None = None) -> dict:
    from members.models import PointEntry

    Kind = PointEntry.Kind
    lo, hi = _bounds(first, last, until)
    rows = (
        PointEntry.objects.filter(created_at__gte=lo, created_at__lt=hi)
        .annotate(day=TruncDate("created_at", tzinfo=local_tz()))
        .values_list("day", "purchase__store_id", "kind")
        .annotate(a=Sum("available_delta"), p=Sum("pending_delta"))
        .order_by()
    )
    cells: dict = defaultdict(PointsCell)
    for day, store_id, kind, a, p in rows:
        cell = cells[(_as_date(day), store_id)]
        both = a + p
        cell.net += both
        if kind in (Kind.EARN, Kind.BONUS):
            cell.issued += both
        elif kind == Kind.SPEND or kind == Kind.REFUND:
            cell.redeemed -= a
        elif kind == Kind.EXPIRE:
            cell.expired -= a
        elif kind == Kind.REVERSE:
            cell.reversed -= both
        elif kind == Kind.ADJUST:
            cell.adjusted += a
    return dict(cells)


def day_cells(first: date, last: date, *, until: datetime | None = None) -> DayCells:
    return DayCells(
        sales=sales_cells(first, last, until=until),
        members=member_cells(first, last, until=until),
        points=points_cells(first, last, until=until),
    )


# ---------------------------------------------------------------- writing


def _write_days(first: date, last: date, cells: DayCells, now: datetime) -> None:
    span = {"grain": Grain.DAY, "period__gte": first, "period__lte": last}
    SalesFact.objects.filter(**span).delete()
    MemberFact.objects.filter(**span).delete()
    PointsFact.objects.filter(**span).delete()
    SalesFact.objects.bulk_create(
        [
            SalesFact(
                grain=Grain.DAY,
                period=day,
                store_id=store_id,
                tier_id=tier_id,
                purchases=c.purchases,
                revenue=c.revenue,
                returns=c.returns,
                active=bitmaps.dump(c.active),
                repeat=bitmaps.dump(c.repeat),
                members_active=len(c.active),
                built_at=now,
            )
            for (day, store_id, tier_id), c in cells.sales.items()
        ],
        batch_size=2000,
    )
    MemberFact.objects.bulk_create(
        [
            MemberFact(
                grain=Grain.DAY,
                period=day,
                store_id=store_id,
                members_new=c.members_new,
                joined=bitmaps.dump(c.joined),
                built_at=now,
            )
            for (day, store_id), c in cells.members.items()
        ],
        batch_size=2000,
    )
    PointsFact.objects.bulk_create(
        [
            PointsFact(
                grain=Grain.DAY,
                period=day,
                store_id=store_id,
                built_at=now,
                **c.__dict__,
            )
            for (day, store_id), c in cells.points.items()
        ],
        batch_size=2000,
    )
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    BuiltDay.objects.filter(day__gte=first, day__lte=last).delete()
    BuiltDay.objects.bulk_create([BuiltDay(day=d, built_at=now) for d in days], batch_size=2000)
    DirtyDay.objects.filter(day__gte=first, day__lte=last, marked_at__lte=now).delete()


def _roll_up_month(month: date, now: datetime) -> None:
    """Month rows from the month's day rows: sums, unions, and repeat buyers across days."""
    last = month_end(month)
    span = {"period__gte": month, "period__lte": last}
    sales: dict = defaultdict(lambda: [SalesCell(), bitmaps.Repeat()])
    for f in SalesFact.objects.filter(grain=Grain.DAY, **span).order_by("period").iterator(2000):
        cell, repeat = sales[(f.store_id, f.tier_id)]
        cell.purchases += f.purchases
        cell.revenue += f.revenue
        cell.returns += f.returns
        repeat.add(bitmaps.load(f.active), bitmaps.load(f.repeat))
    members: dict = defaultdict(MemberCell)
    for f in MemberFact.objects.filter(grain=Grain.DAY, **span).iterator(2000):
        cell = members[f.store_id]
        cell.members_new += f.members_new
        cell.joined |= bitmaps.load(f.joined)
    points = (
        PointsFact.objects.filter(grain=Grain.DAY, **span)
        .values("store_id")
        .annotate(
            s_issued=Sum("issued"),
            s_redeemed=Sum("redeemed"),
            s_expired=Sum("expired"),
            s_reversed=Sum("reversed"),
            s_adjusted=Sum("adjusted"),
            s_net=Sum("net"),
        )
        .order_by()
    )
    month_span = {"grain": Grain.MONTH, "period": month}
    SalesFact.objects.filter(**month_span).delete()
    MemberFact.objects.filter(**month_span).delete()
    PointsFact.objects.filter(**month_span).delete()
    SalesFact.objects.bulk_create(
        [
            SalesFact(
                grain=Grain.MONTH,
                period=month,
                store_id=store_id,
                tier_id=tier_id,
                purchases=c.purchases,
                revenue=c.revenue,
                returns=c.returns,
                active=bitmaps.dump(r.seen),
                repeat=bitmaps.dump(r.repeat),
                members_active=len(r.seen),
                built_at=now,
            )
            for (store_id, tier_id), (c, r) in sales.items()
        ],
        batch_size=2000,
    )
    MemberFact.objects.bulk_create(
        [
            MemberFact(
                grain=Grain.MONTH,
                period=month,
                store_id=store_id,
                members_new=c.members_new,
                joined=bitmaps.dump(c.joined),
                built_at=now,
            )
            for store_id, c in members.items()
        ]
    )
    PointsFact.objects.bulk_create(
        [
            PointsFact(
                grain=Grain.MONTH,
                period=month,
                store_id=row["store_id"],
                issued=row["s_issued"],
                redeemed=row["s_redeemed"],
                expired=row["s_expired"],
                reversed=row["s_reversed"],
                adjusted=row["s_adjusted"],
                net=row["s_net"],
                built_at=now,
            )
            for row in points
        ]
    )


def _bump_version(now: datetime) -> None:
    state, _created = FactsState.objects.get_or_create(id=FactsState.SINGLETON_ID)
    FactsState.objects.filter(id=state.id).update(version=F("version") + 1, built_at=now)


def _snapshot() -> bool:
    """Whether to read the chunk's raw rows and its dirty marks from one snapshot (PostgreSQL's
    REPEATABLE READ; SQLite has one writer, so every transaction is one). The marks the
    build then deletes are exactly those whose writes it read: a return committed while the
    build runs keeps its mark (invisible to the snapshot) and the day is built again. Only
    when the build owns its transaction: inside an outer block (a test) it cannot be set."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def _is_serialization_failure(exc: OperationalError) -> bool:
    return getattr(getattr(exc, "__cause__", None), "pgcode", None) == "40001"


def _build_chunk(chunk_first: date, chunk_last: date) -> None:
    for attempt in range(1, 4):
        try:
            repeatable = _snapshot()
            with transaction.atomic():
                if repeatable:
                    with connection.cursor() as cursor:
                        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                now = timezone.now()
                cells = day_cells(chunk_first, chunk_last)
                _write_days(chunk_first, chunk_last, cells, now)
                _roll_up_month(month_start(chunk_first), now)
                _bump_version(now)
            return
        except OperationalError as exc:
            # A day marked dirty again while this chunk was built: build it from a new
            # snapshot (the mark's writer holds it until it commits).
            if attempt == 3 or not _is_serialization_failure(exc):
                raise


def facts_build_range(first: date, last: date) -> int:
    """Build (or re-build) the facts of the local days ``first``..``last``, one month per
    transaction; returns the number of days built. Days from today on are never stored."""
    yesterday = timezone.localdate() - timedelta(days=1)
    last = min(last, yesterday)
    built = 0
    for chunk_first, chunk_last in month_chunks(first, last):
        _build_chunk(chunk_first, chunk_last)
        built += (chunk_last - chunk_first).days + 1
    return built


def facts_build_days(days: Iterable[date]) -> int:
    """Build the given days (grouped into runs of consecutive days)."""
    ordered = sorted(set(days))
    built = 0
    run_first = run_last = None
    for day in ordered:
        if run_last is not None and day == run_last + timedelta(days=1):
            run_last = day
            continue
        if run_first is not None:
            built += facts_build_range(run_first, run_last)
        run_first = run_last = day
    if run_first is not None:
        built += facts_build_range(run_first, run_last)
    return built


def first_data_day() -> date | None:
    """The earliest local day any raw row falls on (None: nothing recorded yet)."""
    from members.models import Member, PointEntry, Purchase

    candidates = [
        Purchase.objects.aggregate(m=Min("occurred_at"))["m"],
        Member.objects.aggregate(m=Min("joined_at"))["m"],
        PointEntry.objects.order_by("id").values_list("created_at", flat=True).first(),
    ]
    moments = [m for m in candidates if m is not None]
    return local_day(min(moments)) if moments else None


def facts_days_due(*, today: date) -> list[date]:
    """Days before ``today`` to build: never built, within the backdating allowance, dirty."""
    from members.models import Program

    yesterday = today - timedelta(days=1)
    first = first_data_day()
    if first is None or first > yesterday:
        return []
    due: set[date] = set()
    built = set(
        BuiltDay.objects.filter(day__gte=first, day__lte=yesterday).values_list("day", flat=True)
    )
    cursor = first
    while cursor <= yesterday:
        if cursor not in built:
            due.add(cursor)
        cursor += timedelta(days=1)
    program = Program.objects.filter(id=Program.SINGLETON_ID).first()
    window = (program.backdate_days if program else 30) + 1
    for back in range(window):
        day = yesterday - timedelta(days=back)
        if day >= first:
            due.add(day)
    due.update(DirtyDay.objects.filter(day__lt=today).values_list("day", flat=True))
    return sorted(due)


def facts_build_due(*, today: date) -> dict:
    """The daily job: builds every day due (``facts_days_due``)."""
    days = facts_days_due(today=today)
    built = facts_build_days(days)
    return {"days": built}


def facts_rebuild_full() -> int:
    """Drop every fact and build from the first recorded day to yesterday."""
    with transaction.atomic():
        SalesFact.objects.all().delete()
        MemberFact.objects.all().delete()
        PointsFact.objects.all().delete()
        BuiltDay.objects.all().delete()
    first = first_data_day()
    yesterday = timezone.localdate() - timedelta(days=1)
    if first is None or first > yesterday:
        _bump_version(timezone.now())
        return 0
    return facts_build_range(first, yesterday)


# ---------------------------------------------------------------- dirty days


def days_mark_dirty(days: Iterable[date]) -> None:
    """Mark closed days for re-building. Days from today on are live and need no mark.

    An upsert (``marked_at`` moved to now on a day already marked), so a write to a day
    already dirty still changes the marks' fingerprint that keys the overview's cache
    (``insights.selectors``). Called inside the writer's transaction, the mark commits or
    rolls back with the write it stands for."""
    today = timezone.localdate()
    closed = sorted({d for d in days if d < today})
    if closed:
        now = timezone.now()
        DirtyDay.objects.bulk_create(
            [DirtyDay(day=d, marked_at=now) for d in closed],
            update_conflicts=True,
            unique_fields=["day"],
            update_fields=["marked_at"],
        )


def purchase_mark_dirty(occurred_at: datetime) -> None:
    """A write changed a closed day's purchases (a return of one of them, a purchase
    recorded late): mark its day, and build the dirty days once the write commits."""
    day = local_day(occurred_at)
    if day < timezone.localdate():
        days_mark_dirty([day])
        transaction.on_commit(enqueue_dirty_build)


def import_mark_dirty(first: date | None, last: date | None) -> None:
    """An import wrote purchases on the local days ``first``..``last``: mark the closed
    ones and build them once the import commits."""
    if first is None or last is None:
        return
    last = min(last, timezone.localdate() - timedelta(days=1))
    if first > last:
        return
    days_mark_dirty(first + timedelta(days=i) for i in range((last - first).days + 1))
    transaction.on_commit(enqueue_dirty_build)


def facts_build_dirty(*, today: date) -> dict:
    """Build the closed days marked dirty (what a return, a late purchase or an import
    changed since their build). Cheap when there are none."""
    days = list(DirtyDay.objects.filter(day__lt=today).values_list("day", flat=True))
    return {"days": facts_build_days(days)}


DIRTY_BUILD_DELAY = 30  # seconds: the returns of a busy minute are built together


def enqueue_dirty_build() -> None:
    """After a write that marked days dirty has committed. Until the build runs, the
    overview reads those days live (``insights.selectors.period_pieces``), so a late build
    or a lost message costs speed, never a wrong figure; the nightly job builds them too."""
    try:
        from insights.tasks import insights_build_dirty

        insights_build_dirty.apply_async(countdown=DIRTY_BUILD_DELAY)
    except Exception:  # a broker down must not fail a write that already committed
        logger.warning("insights dirty build not enqueued", exc_info=True)

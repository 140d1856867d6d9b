"""The overview's figures (issue #14) against values computed by hand on a small fixture:
two stores, returns, a store manager's view, the year-earlier column; the same figures
whether the days are built into facts, partly built or read live; and kept right by a return
on a closed day, a purchase recorded late and an import.

Every test runs frozen at ``NOW`` (Tuesday 2026-03-10, 10:00 in Hồ Chí Minh City); the
fixture's rows are written at earlier frozen moments."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import transaction

from insights.models import BuiltDay, DirtyDay, SalesFact
from insights.selectors import overview_figures
from insights.services import facts_build_dirty, facts_build_range, facts_rebuild_full
from members.models import Member, Program
from members.services import points as ledger
from pos.services.imports import transactions_import
from pos.services.purchases import ReturnInput, purchase_return_record
from tests.factories import MemberFactory, PurchaseFactory, StoreFactory

pytestmark = pytest.mark.django_db

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=HCM)
FEB = (date(2026, 2, 1), date(2026, 2, 28))


def at(*args) -> datetime:
    return datetime(*args, tzinfo=HCM)


@pytest.fixture(autouse=True)
def frozen():
    cache.clear()
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller
    cache.clear()


def _member(store, joined: datetime, name: str) -> Member:
    member = MemberFactory(full_name=name)
    Member.objects.filter(pk=member.pk).update(joined_at=joined, enrolled_at_store=store)
    member.refresh_from_db()
    return member


@pytest.fixture
def world():
    """Stores A (HCM01) and B (HN01); five members; eight purchases; points granted and
    spent. The hand-computed figures are in the tests below."""
    a = StoreFactory(code="HCM01", name="Quận 1")
    b = StoreFactory(code="HN01", name="Hoàn Kiếm")
    m1 = _member(a, at(2025, 1, 15, 9), "Một")
    m2 = _member(a, at(2026, 2, 3, 9), "Hai")
    m3 = _member(b, at(2026, 2, 20, 9), "Ba")
    m4 = _member(b, at(2026, 3, 10, 8), "Bốn")  # today
    m5 = _member(b, at(2025, 2, 10, 9), "Năm")

    def buy(member, store, moment, amount, external_id):
        return PurchaseFactory(
            member=member,
            store=store,
            occurred_at=moment,
            total_amount=Decimal(amount),
            external_id=external_id,
        )

    p = {
        "p1": buy(m1, a, at(2026, 2, 5, 12), "100000", "R-1"),
        "p2": buy(m1, a, at(2026, 2, 18, 12), "200000", "R-2"),
        "p3": buy(m2, a, at(2026, 2, 10, 12), "300000", "R-3"),
        # 23:30 local on the 28th is 16:30 UTC: February's, not March's.
        "p4": buy(m3, b, at(2026, 2, 28, 23, 30), "400000", "R-4"),
        "p5": buy(m3, b, at(2026, 3, 9, 9), "150000", "R-5"),  # yesterday
        "p6": buy(m4, b, at(2026, 3, 10, 9), "50000", "R-6"),  # today
        "p7": buy(m5, b, at(2025, 2, 14, 12), "80000", "R-7"),  # a year earlier
        "p8": buy(m1, a, at(2025, 2, 20, 12), "120000", "R-8"),  # a year earlier
    }
    program = Program.objects.get()
    with time_machine.travel(at(2026, 2, 3, 10), tick=False):
        ledger.points_grant(
            member=m1, points=1000, idempotency_key="g1", reason="test", program=program
        )
    with time_machine.travel(at(2026, 2, 20, 10), tick=False), transaction.atomic():
        ledger.spend_locked(ledger.account_lock(m1.pk), points=300, purchase=p["p2"])
    with time_machine.travel(at(2026, 3, 9, 10), tick=False):
        ledger.points_grant(
            member=m2, points=500, idempotency_key="g2", reason="test", program=program
        )
    return {"a": a, "b": b, "members": (m1, m2, m3, m4, m5), "purchases": p}


def give_back(world, purchase, amount, external_id="RET-1"):
    """A return recorded today (frozen NOW) at the purchase's store."""
    return purchase_return_record(
        store=purchase.store,
        purchase_external_id=purchase.external_id,
        data=ReturnInput(external_id=external_id, amount=Decimal(amount)),
    )


def picked(figures: dict, *keys) -> dict:
    return {key: figures[key] for key in keys}


KEYS = (
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
    "redemption_rate",
    "breakage_rate",
)

# February 2026, the whole chain, after 50,000 of p3 came back.
FEB_CHAIN = {
    "members_total": 4,  # m1, m2, m3, m5 (m4 joined in March)
    "members_new": 2,  # m2, m3
    "members_active": 3,  # m1, m2, m3
    "active_rate": Decimal("0.7500"),
    "repeat_rate": Decimal("0.3333"),  # m1 bought twice
    "purchases": 4,  # p1..p4
    "revenue": Decimal("950000"),  # 100k + 200k + 300k + 400k - 50k
    "aov": Decimal("237500"),
    "visits_per_active": Decimal("1.3333"),
    "points_issued": 1000,
    "points_redeemed": 300,
    "points_expired": 0,
    "redemption_rate": Decimal("0.3000"),
    "breakage_rate": Decimal("0.0000"),
}
# February 2026 at store A only: members enrolled there, purchases made there, points of
# its purchases (the grant belongs to no store: chain-wide only).
FEB_A = {
    "members_total": 2,  # m1, m2
    "members_new": 1,  # m2
    "members_active": 2,  # m1, m2
    "active_rate": Decimal("1.0000"),
    "repeat_rate": Decimal("0.5000"),
    "purchases": 3,
    "revenue": Decimal("550000"),  # 100k + 200k + 300k - 50k
    "aov": Decimal("183333"),  # 550,000 / 3 = 183,333.33
    "visits_per_active": Decimal("1.5000"),
    "points_issued": 0,
    "points_redeemed": 300,
    "points_expired": 0,
    "redemption_rate": None,  # nothing issued there: no rate
    "breakage_rate": None,
}
# February 2025, the whole chain.
FEB_2025 = {
    "members_total": 2,  # m1, m5
    "members_new": 1,  # m5
    "members_active": 2,
    "purchases": 2,
    "revenue": Decimal("200000"),
    "points_issued": 0,
    "redemption_rate": None,
}


def feb(store_ids=None) -> dict:
    return overview_figures(start=FEB[0], end=FEB[1], store_ids=store_ids)


@pytest.mark.parametrize("built", ["live", "built", "partly"])
def test_february_as_computed_by_hand_however_much_is_built(world, built):
    give_back(world, world["purchases"]["p3"], "50000")
    if built == "built":
        facts_rebuild_full()
        assert BuiltDay.objects.filter(day__gte=FEB[0], day__lte=FEB[1]).count() == 28
    elif built == "partly":
        facts_build_range(date(2026, 2, 8), date(2026, 2, 19))  # a middle slice only
    figures = feb()
    assert picked(figures, *KEYS) == FEB_CHAIN
    previous = figures["previous"]
    assert (previous["start"], previous["end"]) == (date(2025, 2, 1), date(2025, 2, 28))
    assert picked(previous, *FEB_2025) == FEB_2025
    store_a = feb({world["a"].pk})
    assert picked(store_a, *KEYS) == FEB_A
    assert store_a["stores"] == ["HCM01"]
    assert feb()["stores"] is None


def test_points_outstanding_and_liability_are_now_and_programme_wide(world):
    program = Program.objects.get()
    figures = feb({world["b"].pk})
    # m1: 1,000 granted - 300 spent; m2: 500 granted (in March: still counted, it is now).
    assert figures["points_outstanding"] == 1200
    assert figures["liability"] == (1200 * program.point_value).quantize(Decimal(1))
    facts_rebuild_full()
    # A year earlier nothing was outstanding; at the end of February 2026, 700.
    assert feb()["previous"]["points_outstanding"] == 0

    def outstanding_a_year_before(end: date) -> int:
        later = overview_figures(start=end.replace(day=1), end=end, store_ids=None)
        return later["previous"]["points_outstanding"]

    assert outstanding_a_year_before(date(2027, 2, 28)) == 700  # m1's 1,000 - 300
    assert outstanding_a_year_before(date(2027, 3, 9)) == 1200  # m2's 500 on 9 March
    assert outstanding_a_year_before(date(2027, 3, 8)) == 700


def test_a_period_ending_today_counts_todays_purchases_live(world):
    facts_rebuild_full()
    assert not BuiltDay.objects.filter(day=NOW.date()).exists()  # today is never stored
    figures = overview_figures(start=date(2026, 3, 1), end=NOW.date(), store_ids=None)
    assert figures["purchases"] == 2  # p5 yesterday (built), p6 today (live)
    assert figures["revenue"] == Decimal("200000")
    assert figures["members_new"] == 1  # m4, this morning
    assert figures["members_total"] == 5
    assert figures["members_active"] == 2
    assert figures["points_issued"] == 500


def test_a_period_across_a_built_month_built_days_and_today(world):
    """February whole (its month rows), 1..9 March (day rows), today (live)."""
    facts_rebuild_full()
    figures = overview_figures(start=date(2026, 2, 1), end=NOW.date(), store_ids=None)
    assert figures["purchases"] == 6
    assert figures["revenue"] == Decimal("1200000")
    assert figures["members_active"] == 4  # m1, m2, m3, m4
    assert figures["repeat_rate"] == Decimal("0.5000")  # m1 (Feb twice), m3 (Feb and March)
    assert figures["series"]["unit"] == "day"
    rows = {row["start"]: row for row in figures["series"]["rows"]}
    assert len(rows) == 38
    assert rows[date(2026, 2, 28)]["revenue"] == Decimal("400000")
    assert rows[date(2026, 3, 1)]["revenue"] == Decimal("0")
    assert rows[NOW.date()]["purchases"] == 1


def test_a_store_managers_stores_by_tier_and_cohorts(world):
    facts_rebuild_full()
    figures = feb({world["b"].pk})
    assert (figures["purchases"], figures["revenue"], figures["members_active"]) == (
        1,
        Decimal("400000"),
        1,
    )
    # Nobody holds a tier in this fixture: one "no tier" row with all of the store's sales.
    [row] = figures["by_tier"]
    assert row["tier"] is None
    assert (row["purchases"], row["revenue"], row["members_active"]) == (1, Decimal("400000"), 1)
    # A year's cohorts, chain-wide: those who joined in a month, and how many bought in it
    # and in each month after.
    year = overview_figures(start=date(2025, 3, 1), end=date(2026, 2, 28), store_ids=None)
    cohorts = {row["month"]: row for row in year["cohorts"]}
    assert cohorts[date(2026, 2, 1)]["joined"] == 2  # m2, m3
    assert cohorts[date(2026, 2, 1)]["returned"] == [2]  # both bought in February


def test_a_return_on_a_closed_day_counts_at_once_then_is_built(world):
    facts_rebuild_full()
    before = feb()
    assert before["revenue"] == Decimal("1000000")
    give_back(world, world["purchases"]["p3"], "50000")
    assert list(DirtyDay.objects.values_list("day", flat=True)) == [date(2026, 2, 10)]
    after = feb()  # not the cached figures: the mark moved their key, and the day is read live
    assert after["revenue"] == Decimal("950000")
    assert facts_build_dirty(today=NOW.date()) == {"days": 1}
    assert not DirtyDay.objects.exists()
    assert SalesFact.objects.filter(grain="day", period=date(2026, 2, 10)).get().returns == Decimal(
        "50000"
    )
    assert feb()["revenue"] == Decimal("950000")
    # A second return of the same day, once it is clean again: the cache does not hide it.
    give_back(world, world["purchases"]["p3"], "25000", external_id="RET-2")
    assert feb()["revenue"] == Decimal("925000")


def test_a_purchase_recorded_late_marks_its_day(world, client):
    from pos.services import api_key_create
    from tests.pos.helpers import PosClient

    facts_rebuild_full()
    _row, raw = api_key_create(store=world["a"], label="till 1")
    pos = PosClient(client, raw)
    m2 = world["members"][1]
    response = pos.purchase(
        {
            "external_id": "LATE-1",
            "member": m2.card_number,
            "total_amount": "70000",
            "occurred_at": at(2026, 3, 8, 20).isoformat(),
        }
    )
    assert response.status_code == 201, response.content
    assert DirtyDay.objects.filter(day=date(2026, 3, 8)).exists()
    figures = overview_figures(start=date(2026, 3, 8), end=date(2026, 3, 8), store_ids=None)
    assert (figures["purchases"], figures["revenue"]) == (1, Decimal("70000"))
    on_time = pos.purchase({"external_id": "NOW-1", "member": m2.card_number, "total_amount": "1"})
    assert on_time.status_code == 201
    assert DirtyDay.objects.count() == 1  # a purchase of today marks nothing


def test_an_import_marks_its_days(world, tmp_path):
    facts_rebuild_full()
    m5 = world["members"][4]
    path = tmp_path / "history.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["external_id", "member", "occurred_at", "amount"])
        writer.writerow(["H-1", m5.card_number, "2026-02-12T12:00:00+07:00", "60000"])
        writer.writerow(["H-2", m5.card_number, "2026-02-14T12:00:00+07:00", "40000"])
    result = transactions_import(path=path, store=world["b"])
    assert result.ok, result.first_rejections
    assert set(DirtyDay.objects.values_list("day", flat=True)) == {
        date(2026, 2, 12),
        date(2026, 2, 13),
        date(2026, 2, 14),
    }
    figures = feb()
    assert (figures["purchases"], figures["revenue"]) == (6, Decimal("1100000"))
    assert figures["members_active"] == 4  # m5 too
    facts_build_dirty(today=NOW.date())
    assert not DirtyDay.objects.exists()
    assert feb()["revenue"] == Decimal("1100000")


def test_empty_programme_has_no_rates():
    figures = overview_figures(
        start=NOW.date() - timedelta(days=30), end=NOW.date(), store_ids=None
    )
    assert figures["members_total"] == 0
    assert figures["purchases"] == 0
    assert figures["revenue"] == Decimal("0")
    for key in ("active_rate", "repeat_rate", "aov", "redemption_rate", "breakage_rate"):
        assert figures[key] is None

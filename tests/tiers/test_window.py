"""The tier window, at its edges (issue #11; the contract's last bullet): a purchase counts
from the moment it is made until the end of the same calendar day ``tier_window_months``
later (local). The nightly job of day D counts purchases made from the whole day D minus the
window up to the end of D-1; the till and the progress page count from the same first day up
to the purchase itself; the what-if counts as the job of its day. Month ends clamp: 31 March
minus one month is 28 (or 29) February, 29 February minus a year is 28 February.

Every test freezes the clock; every time below is Vietnamese time (the programme's zone).
Silver needs 5,000,000 VND net and 3 purchases: each member has two purchases well inside the
window and a third at the edge under test (or the till's purchase), so silver says whether
the edge purchase counted.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from loyalty import daily
from members.models import Program
from members.selectors import program_get
from members.services.points import points_grant
from pos.services import purchases_sql
from tests.factories import MemberFactory, PurchaseFactory
from tests.pos.helpers import PosClient
from tiers.models import MemberTier
from tiers.selectors import tier_progress, tier_whatif
from tiers.services import tiers_recalculate
from tiers.services_sql import tier_job_window, tier_live_window, tier_window_first_day

pytestmark = pytest.mark.django_db

VN = ZoneInfo("Asia/Ho_Chi_Minh")
LAST_SECOND = time(23, 59, 59)


def d(text: str) -> date:
    return date.fromisoformat(text)


def at(text: str) -> datetime:
    """``"2025-11-23 12:00"`` or ``"... 23:59:59"`` in Vietnamese time."""
    return datetime.fromisoformat(text).replace(tzinfo=VN)


def frozen(when: datetime):
    return time_machine.travel(when, tick=False)


def window_months(months: int) -> None:
    Program.objects.filter(pk=Program.SINGLETON_ID).update(tier_window_months=months)


def bought(member, store, when: datetime, amount: str):
    amount = Decimal(amount)
    return PurchaseFactory(
        member=member, store=store, occurred_at=when, total_amount=amount, amount_due=amount
    )


def member_with_edge_purchase(store, day: date, edge: datetime, *, third: bool = True):
    """A member (made under the frozen clock) with 2,000,000 at ``edge`` and 2,000,000 (and,
    with ``third``, 1,000,000) on the day before ``day``, inside every window of ``day``."""
    member = MemberFactory()
    inside = datetime.combine(day - timedelta(days=1), time(10, 0), tzinfo=VN)
    bought(member, store, edge, "2000000")
    bought(member, store, inside, "2000000")
    if third:
        bought(member, store, inside + timedelta(hours=1), "1000000")
    return member


def tier_code(member) -> str:
    status = MemberTier.objects.filter(member=member).select_related("tier").first()
    return status.tier.code if status else "bronze"


# ---------------------------------------------------------------- the one definition


@pytest.mark.parametrize(
    ("day", "months", "first_day"),
    [
        ("2026-11-23", 12, "2025-11-23"),
        ("2027-01-15", 1, "2026-12-15"),  # across a new year
        ("2027-03-31", 1, "2027-02-28"),
        ("2028-03-31", 1, "2028-02-29"),
        ("2028-03-30", 1, "2028-02-29"),
        ("2027-05-31", 1, "2027-04-30"),
        ("2027-03-31", 13, "2026-02-28"),
        ("2028-02-29", 12, "2027-02-28"),
        ("2029-02-28", 12, "2028-02-28"),
        ("2029-03-01", 12, "2028-03-01"),
        ("2028-02-29", 48, "2024-02-29"),
    ],
)
def test_the_first_day_is_the_same_day_months_earlier_clamped_to_the_months_end(
    day, months, first_day
):
    assert tier_window_first_day(d(day), months) == d(first_day)


def test_the_jobs_window_ends_where_the_day_begins_and_the_tills_at_its_end():
    assert tier_job_window(d("2026-11-23"), 12) == (at("2025-11-23 00:00"), at("2026-11-23 00:00"))
    assert tier_live_window(d("2026-11-23"), 12) == (
        at("2025-11-23 00:00"),
        at("2026-11-24 00:00"),
    )
    # Local midnights: 23 Nov 2025 00:00 in Hồ Chí Minh City is 22 Nov 17:00 UTC.
    start, _end = tier_job_window(d("2026-11-23"), 12)
    assert start.astimezone(ZoneInfo("UTC")) == datetime(
        2025, 11, 22, 17, 0, tzinfo=ZoneInfo("UTC")
    )


# ---------------------------------------------------------------- the nightly job and the what-if

# (job day, window months, the edge purchase, counted by the job of that day?)
JOB_EDGES = [
    # The first day counts, all of it; the day before does not.
    ("2026-11-23", 12, "2025-11-23 00:00", True),
    ("2026-11-23", 12, "2025-11-23 12:00", True),
    ("2026-11-23", 12, "2025-11-23 23:59:59", True),
    ("2026-11-23", 12, "2025-11-22 23:59:59", False),
    # The last day is D-1, to its end; the job's own day waits for the next job.
    ("2026-11-23", 12, "2026-11-22 23:59:59", True),
    ("2026-11-23", 12, "2026-11-23 00:00", False),
    ("2026-11-23", 12, "2026-11-23 00:30", False),
    # Month ends, with a one-month window.
    ("2027-03-31", 1, "2027-02-28 00:00", True),
    ("2027-03-31", 1, "2027-02-27 23:59:59", False),
    ("2028-03-31", 1, "2028-02-29 00:00", True),
    ("2028-03-31", 1, "2028-02-28 23:59:59", False),
    ("2027-05-31", 1, "2027-04-30 00:00", True),
    ("2027-05-31", 1, "2027-04-29 23:59:59", False),
    ("2027-03-01", 1, "2027-02-01 00:00", True),
    ("2027-03-01", 1, "2027-01-31 23:59:59", False),
    ("2027-03-01", 1, "2027-02-28 23:59:59", True),
    ("2027-03-01", 1, "2027-03-01 00:00", False),
    # 29 February, with the default twelve months.
    ("2028-02-29", 12, "2027-02-28 00:00", True),
    ("2028-02-29", 12, "2027-02-27 23:59:59", False),
    ("2028-02-29", 12, "2028-02-29 00:00", False),
    ("2028-03-01", 12, "2028-02-29 23:59:59", True),
    ("2029-02-28", 12, "2028-02-29 12:00", True),
    ("2029-02-28", 12, "2028-02-28 00:00", True),
    ("2029-02-28", 12, "2028-02-27 23:59:59", False),
    ("2029-03-01", 12, "2028-02-29 23:59:59", False),
    ("2029-03-01", 12, "2028-03-01 00:00", True),
]


@pytest.mark.parametrize(("day", "months", "edge", "counted"), JOB_EDGES)
def test_the_nightly_job_of_a_day_counts_from_the_first_day_to_the_end_of_the_day_before(
    store, day, months, edge, counted
):
    window_months(months)
    day = d(day)
    with frozen(datetime.combine(day, time(1, 0), tzinfo=VN)):
        member = member_with_edge_purchase(store, day, at(edge))
        counts = tiers_recalculate(today=day)
    assert tier_code(member) == ("silver" if counted else "bronze")
    assert counts["initial"] == 1


@pytest.mark.parametrize(("day", "months", "edge", "counted"), JOB_EDGES)
def test_the_whatif_counts_as_the_job_of_that_day(store, day, months, edge, counted):
    window_months(months)
    day = d(day)
    with frozen(datetime.combine(day, time(1, 0), tzinfo=VN)):
        member = member_with_edge_purchase(store, day, at(edge))
        whatif = tier_whatif(thresholds={}, today=day)
        assert whatif["silver"] == (1 if counted else 0)
        assert whatif["bronze"] == (0 if counted else 1)
        tiers_recalculate(today=day)
    assert whatif[tier_code(member)] == 1


def test_the_daily_run_at_one_in_the_morning_is_the_job_of_that_local_day(store):
    # 01:00 on 23 Nov in Hồ Chí Minh City is still 22 Nov in UTC: the job is that of 23 Nov,
    # and counts the whole of 23 Nov 2025.
    with frozen(at("2026-11-23 01:00")):
        member = member_with_edge_purchase(store, d("2026-11-23"), at("2025-11-23 00:00"))
        run = daily.run_daily_jobs()
    assert run.today == d("2026-11-23")
    assert [o.name for o in run.outcomes if not o.ok] == []
    assert tier_code(member) == "silver"


# ---------------------------------------------------------------- the progress page (live)

# (today, window months, the edge purchase, counted now, at 15:00 on today?)
LIVE_EDGES = [
    ("2026-11-23", 12, "2025-11-23 00:00", True),
    ("2026-11-23", 12, "2025-11-23 12:00", True),
    ("2026-11-23", 12, "2025-11-23 23:59:59", True),
    ("2026-11-23", 12, "2025-11-22 23:59:59", False),
    ("2026-11-23", 12, "2026-11-23 00:00", True),  # today counts at once, unlike the job
    ("2026-11-23", 12, "2026-11-23 14:59:59", True),
    ("2027-03-31", 1, "2027-02-28 00:00", True),
    ("2027-03-31", 1, "2027-02-27 23:59:59", False),
    ("2028-03-31", 1, "2028-02-29 00:00", True),
    ("2028-03-31", 1, "2028-02-28 23:59:59", False),
    ("2027-05-31", 1, "2027-04-30 00:00", True),
    ("2027-05-31", 1, "2027-04-29 23:59:59", False),
    ("2028-02-29", 12, "2027-02-28 00:00", True),
    ("2028-02-29", 12, "2027-02-27 23:59:59", False),
    ("2029-02-28", 12, "2028-02-29 23:59:59", True),
    ("2029-03-01", 12, "2028-02-29 23:59:59", False),
    ("2029-03-01", 12, "2028-03-01 00:00", True),
]


@pytest.mark.parametrize(("day", "months", "edge", "counted"), LIVE_EDGES)
def test_progress_counts_from_the_jobs_first_day_up_to_now(store, day, months, edge, counted):
    window_months(months)
    day = d(day)
    with frozen(datetime.combine(day, time(15, 0), tzinfo=VN)):
        member = member_with_edge_purchase(store, day, at(edge))
        progress = tier_progress(member.pk)
    assert (progress.window_start, progress.window_end) == (
        tier_window_first_day(day, months),
        day,
    )
    if counted:
        assert (progress.spend, progress.purchases) == (Decimal("5000000"), 3)
        assert (progress.spend_to_next, progress.purchases_to_next) == (Decimal(0), 0)
    else:
        assert (progress.spend, progress.purchases) == (Decimal("3000000"), 2)
        assert (progress.spend_to_next, progress.purchases_to_next) == (Decimal("2000000"), 1)


def test_the_pos_progress_endpoint_shows_the_window_and_counts_its_first_day(
    client, store, store_key
):
    with frozen(at("2026-11-23 15:00")):
        member = member_with_edge_purchase(store, d("2026-11-23"), at("2025-11-23 00:00"))
        bought(member, store, at("2025-11-22 23:59:59"), "7000000")  # the day before: not
        body = PosClient(client, store_key[1]).get(f"/members/{member.card_number}/tier/").json()
    assert (body["window_start"], body["window_end"]) == ("2025-11-23", "2026-11-23")
    assert (body["spend"], body["purchases"]) == ("5000000", 3)


# ---------------------------------------------------------------- the till

# (today, window months, the edge purchase, counted by the till's purchase at 12:00 today?)
TILL_EDGES = [
    ("2026-11-23", 12, "2025-11-23 00:00", True),
    ("2026-11-23", 12, "2025-11-23 12:00", True),
    ("2026-11-23", 12, "2025-11-23 23:59:59", True),
    ("2026-11-23", 12, "2025-11-22 23:59:59", False),
    ("2027-03-31", 1, "2027-02-28 00:00", True),
    ("2027-03-31", 1, "2027-02-27 23:59:59", False),
    ("2027-05-31", 1, "2027-04-30 00:00", True),
    ("2027-05-31", 1, "2027-04-29 23:59:59", False),
    ("2028-02-29", 12, "2027-02-28 00:00", True),
    ("2028-02-29", 12, "2027-02-27 23:59:59", False),
    ("2029-02-28", 12, "2028-02-29 12:00", True),
    ("2029-03-01", 12, "2028-02-29 23:59:59", False),
]


@pytest.fixture
def earn_path_spy(monkeypatch):
    """Records whether a purchase went the one-statement path (``record_earn_only``)."""
    calls = []
    real = purchases_sql.record_earn_only

    def spy(**kwargs):
        calls.append(kwargs["external_id"])
        return real(**kwargs)

    monkeypatch.setattr(purchases_sql, "record_earn_only", spy)
    return calls


@pytest.mark.parametrize("pays_with_points", [False, True], ids=["earn_only", "with_points"])
@pytest.mark.parametrize(("day", "months", "edge", "counted"), TILL_EDGES)
def test_the_tills_purchase_counts_from_the_same_first_day(
    client, store, store_key, earn_path_spy, day, months, edge, counted, pays_with_points
):
    """A plain earn takes the one-statement path on PostgreSQL; one paying with points (and
    every purchase on SQLite) takes the general path. Both count the same window."""
    window_months(months)
    day = d(day)
    with frozen(datetime.combine(day, time(12, 0), tzinfo=VN)):
        member = member_with_edge_purchase(store, day, at(edge), third=False)
        body = {"external_id": "R-EDGE", "member": member.card_number, "total_amount": "1000000"}
        if pays_with_points:
            pay_part_with_points(member, body)
        response = PosClient(client, store_key[1]).purchase(body)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert (answer["tier"]["code"], answer["tier_changed"]) == (
        ("silver", True) if counted else ("bronze", False)
    )
    assert tier_code(member) == ("silver" if counted else "bronze")
    one_statement = connection.vendor == "postgresql" and not pays_with_points
    assert earn_path_spy == (["R-EDGE"] if one_statement else [])


def pay_part_with_points(member, body: dict) -> None:
    """Give the member points and spend some on ``body``: the purchase takes the general path."""
    points_grant(
        member=member, points=50, idempotency_key="gift", reason="test", program=program_get()
    )
    body["redeem_points"] = 10


@pytest.mark.parametrize("pays_with_points", [False, True], ids=["earn_only", "with_points"])
def test_the_job_of_a_day_leaves_that_days_purchases_to_the_next_job_but_the_till_counts_them(
    client, store, store_key, pays_with_points
):
    today = d("2026-11-23")
    with frozen(at("2026-11-23 12:00")):
        member = MemberFactory()
        bought(member, store, at("2026-11-13 10:00"), "2000000")
        bought(member, store, at("2026-11-18 10:00"), "2000000")
        bought(member, store, at("2026-11-23 09:00"), "1000000")  # today, before the till's
        tiers_recalculate(today=today)  # a run of today's job, late: 09:00 is not its
        assert tier_code(member) == "bronze"
        assert tier_progress(member.pk).purchases == 3  # the page counts it, live
        body = {"external_id": "R-TODAY", "member": member.card_number, "total_amount": "10000"}
        if pays_with_points:
            pay_part_with_points(member, body)
        answer = PosClient(client, store_key[1]).purchase(body).json()
    assert (answer["tier"]["code"], answer["tier_changed"]) == ("silver", True)
    with frozen(at("2026-11-24 01:00")):
        counts = tiers_recalculate(today=today + timedelta(days=1))
    assert counts["unchanged"] == 1 and tier_code(member) == "silver"

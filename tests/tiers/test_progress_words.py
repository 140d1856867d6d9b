"""The tier progress as a member reads it (tiers.selectors.tier_progress and
tier_progress_lines), with hand-computed dates.

The default tiers: Silver 5,000,000 VND and 3 purchases, Gold 20,000,000 and 10, Diamond
50,000,000 and 20, over a 12-month window. TODAY is 23/11/2026: its window counts purchases
from 23/11/2025 on (``tier_window_first_day``)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from members.models import Program
from tests.tiers.test_recalculate import TODAY, VN, buy, hold, set_policy
from tiers import services_sql
from tiers.selectors import tier_last_day_counting, tier_progress, tier_progress_lines

pytestmark = pytest.mark.django_db


def frozen(day: date):
    return time_machine.travel(datetime.combine(day, time(15, 0), tzinfo=VN), tick=False)


@pytest.fixture(autouse=True)
def frozen_clock():
    with frozen(TODAY):
        yield


def english(progress) -> list[str]:
    with translation.override("en"):
        return tier_progress_lines(progress)


@pytest.mark.parametrize(
    ("day", "months", "last"),
    [
        (date(2026, 1, 15), 12, date(2027, 1, 15)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),  # April has no 31st
        (date(2026, 3, 30), 1, date(2026, 4, 30)),
        (date(2026, 3, 29), 1, date(2026, 4, 29)),
        (date(2027, 2, 28), 1, date(2027, 3, 31)),  # 29-31 March all start on 28 February
        (date(2027, 2, 28), 12, date(2028, 2, 29)),  # leap day: its window starts 28/02/2027
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 12, 31), 2, date(2027, 2, 28)),
    ],
)
def test_last_day_a_purchase_counts(day, months, last):
    assert tier_last_day_counting(day, months) == last


def test_last_day_counting_agrees_with_the_window_every_day_of_two_years():
    day = date(2026, 1, 1)
    while day < date(2028, 1, 1):
        for months in (1, 6, 12):
            last = tier_last_day_counting(day, months)
            assert services_sql.tier_window_first_day(last, months) <= day
            assert services_sql.tier_window_first_day(last + timedelta(days=1), months) > day
        day += timedelta(days=1)


def test_no_purchases_yet(member):
    progress = tier_progress(member.pk, today=TODAY)
    assert (progress.tier.code, progress.next_tier.code) == ("bronze", "silver")
    assert (progress.spend_needed, progress.purchases_needed) == (5_000_000, 3)
    # Nothing counted can drop out: whatever is bought until 23/11/2027 counts together.
    assert progress.by_date == date(2027, 11, 23)
    assert progress.percent == 0
    assert progress.keep_until is None  # the entry tier cannot be lost
    assert english(progress) == [
        "Spend ₫5,000,000 more and make 3 more purchases by 23 Nov 2027 to reach Silver."
    ]
    with translation.override("vi"):
        line = tier_progress_lines(progress)[0]
    assert "5.000.000\xa0₫" in line and "23/11/2027" in line and "Bạc" in line


def test_spend_met_but_not_the_purchases(member, store):
    buy(member, store, "6000000", on=date(2026, 2, 10))
    progress = tier_progress(member.pk, today=TODAY)
    assert (progress.spend_needed, progress.purchases_needed) == (0, 2)
    # The purchase of 10/02/2026 counts until 10/02/2027: the two more must come by then.
    assert progress.by_date == date(2027, 2, 10)
    assert progress.percent == 66  # spend 100 %, purchases 1 of 3
    assert english(progress) == ["Make 2 more purchases by 10 Feb 2027 to reach Silver."]


def test_one_more_purchase_is_singular(member, store):
    buy(member, store, "1000000", on=date(2026, 2, 10))
    buy(member, store, "1000000", on=date(2026, 5, 10))
    progress = tier_progress(member.pk, today=TODAY)
    assert english(progress) == [
        "Spend ₫3,000,000 more and make 1 more purchase by 10 Feb 2027 to reach Silver."
    ]


def test_both_met_waiting_for_the_nightly_job(member, store):
    hold(member, "bronze", since=date(2025, 1, 1), retained_until=date(2026, 1, 31))
    for day in (date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)):
        buy(member, store, "2000000", on=day)  # imported: no upgrade at the till
    progress = tier_progress(member.pk, today=TODAY)
    assert (progress.spend_needed, progress.purchases_needed) == (0, 0)
    assert progress.upgrade_on == date(2026, 11, 24)
    assert progress.percent == 100
    assert english(progress) == [
        "You qualify for Silver: it is yours from 24 Nov 2026, after the nightly update."
    ]


def test_met_today_but_tomorrows_window_loses_the_oldest_purchase(member, store):
    hold(member, "bronze", since=date(2025, 1, 1), retained_until=date(2026, 1, 31))
    buy(member, store, "2000000", on=date(2025, 11, 23))  # the first day today's window counts
    buy(member, store, "2000000", on=date(2026, 10, 1))
    buy(member, store, "2000000", on=date(2026, 11, 1))
    progress = tier_progress(member.pk, today=TODAY)
    assert progress.upgrade_on is None
    assert progress.by_date == TODAY  # a purchase at the till today still moves them up
    assert english(progress) == ["Make a purchase by 23 Nov 2026 to reach Silver."]


def test_top_tier(member):
    hold(member, "diamond", since=date(2026, 3, 1), retained_until=date(2027, 3, 31))
    progress = tier_progress(member.pk, today=TODAY)
    assert progress.next_tier is None and progress.percent == 100
    assert progress.keep_until == date(2027, 3, 31)
    assert english(progress) == [
        "You are at our highest tier.",
        "You keep Diamond until 31 Mar 2027.",
        "To keep Diamond after 31 Mar 2027, spend ₫50,000,000 more and make 20 more "
        "purchases by then.",
    ]


def test_a_staff_lock_keeps_the_tier_until_the_day_before_it_ends(member):
    hold(
        member,
        "gold",
        since=date(2026, 1, 10),
        retained_until=date(2027, 1, 31),
        locked_until=date(2027, 6, 30),
    )
    progress = tier_progress(member.pk, today=TODAY)
    # The job of 30/06/2027 is the first that may move them down (today < locked_until).
    assert progress.keep_until == date(2027, 6, 29)
    assert english(progress)[1] == "You keep Gold until 29 Jun 2027."


def test_past_its_review_a_tier_is_kept_while_the_purchases_still_meet_it(member, store):
    hold(member, "silver", since=date(2025, 10, 1), retained_until=date(2026, 10, 31))
    buy(member, store, "2000000", on=date(2026, 1, 15))
    buy(member, store, "2000000", on=date(2026, 3, 10))
    buy(member, store, "2000000", on=date(2026, 6, 1))
    progress = tier_progress(member.pk, today=TODAY)
    # All three count until 15/01/2027; the job of 16/01/2027 has 4,000,000 in 2 purchases.
    assert progress.keep_until == date(2027, 1, 15)
    assert (progress.keep_spend_needed, progress.keep_purchases_needed) == (1_000_000, 1)
    assert english(progress) == [
        "Spend ₫14,000,000 more and make 7 more purchases by 15 Jan 2027 to reach Gold.",
        "You keep Silver until 15 Jan 2027.",
        "To keep Silver after 15 Jan 2027, spend ₫1,000,000 more and make 1 more purchase by then.",
    ]


def test_a_tier_that_never_goes_down(member):
    set_policy("none")
    hold(member, "silver", since=date(2026, 3, 1), retained_until=date(2027, 3, 31))
    assert english(tier_progress(member.pk, today=TODAY))[1] == "You keep Silver for good."


def test_month_end_window_boundary(member, store):
    Program.objects.filter(pk=1).update(tier_window_months=1)
    day = date(2027, 3, 31)  # its one-month window starts on 28/02/2027
    with frozen(day):
        buy(member, store, "1000000", on=date(2027, 2, 27))  # before the window
        buy(member, store, "1000000", on=date(2027, 2, 28))
        progress = tier_progress(member.pk, today=day)
    assert (progress.spend, progress.purchases) == (1_000_000, 1)
    assert progress.window_start == date(2027, 2, 28)
    # 28/02 is counted by the windows of 28-31 March and no later one.
    assert progress.by_date == date(2027, 3, 31)
    assert english(progress)[0] == (
        "Spend ₫4,000,000 more and make 2 more purchases by 31 Mar 2027 to reach Silver."
    )


def test_the_page_says_it_in_words_with_a_progress_bar(client, member_user, store):
    member = member_user.member
    hold(member, "silver", since=date(2026, 3, 1), retained_until=date(2027, 3, 31))
    buy(member, store, "3000000", on=date(2026, 4, 2))
    client.force_login(member_user)
    page = client.get(reverse("tiers:my_tier"), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<progress id="tier-bar"' in html and 'max="100"' in html
    assert f'value="{page.context["progress"].percent}"' in html
    assert "within the window" not in html and "at least 0" not in html
    assert "style=" not in html.split("<body", 1)[1]
    for line in page.context["lines"]:
        assert line.replace("'", "&#x27;") in html

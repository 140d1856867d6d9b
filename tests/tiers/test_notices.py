"""The events the campaigns send tier messages from: upgrades, and members due a notice of a
coming downgrade 30 days before their review."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest

from tests.factories import MemberFactory
from tests.tiers.test_recalculate import TODAY, VN, buy, hold, recalc, set_policy
from tiers.models import MemberTier
from tiers.selectors import tier_downgrades_due, tier_upgrades_between

pytestmark = pytest.mark.django_db

# Reviewed on TODAY + 30: kept until the day before.
KEPT_UNTIL = TODAY + timedelta(days=29)


def due(**kwargs):
    return {notice.member_id: notice for notice in tier_downgrades_due(today=TODAY, **kwargs)}


def test_a_member_short_of_their_tier_30_days_before_review_is_due_a_notice(member, store):
    hold(member, "gold", since=date(2025, 11, 1), retained_until=KEPT_UNTIL)
    buy(member, store, "6000000")
    buy(member, store, "1000000")
    buy(member, store, "1000000")  # silver's worth: 8,000,000 in 3

    notice = due()[member.pk]

    assert (notice.tier.code, notice.to_tier.code, notice.review_on) == (
        "gold",
        "silver",
        TODAY + timedelta(days=30),
    )
    assert notice.spend_to_keep == Decimal("12000000")
    assert notice.purchases_to_keep == 7


def test_only_the_members_reviewed_exactly_30_days_ahead_are_due(store):
    on_day, day_before, day_after = MemberFactory.create_batch(3)
    hold(on_day, "silver", since=date(2025, 11, 1), retained_until=KEPT_UNTIL)
    hold(day_before, "silver", since=date(2025, 11, 1), retained_until=KEPT_UNTIL - timedelta(1))
    hold(day_after, "silver", since=date(2025, 11, 1), retained_until=KEPT_UNTIL + timedelta(1))

    assert set(due()) == {on_day.pk}


def test_a_member_who_still_meets_their_tier_is_not_due(member, store):
    hold(member, "silver", since=date(2025, 11, 1), retained_until=KEPT_UNTIL)
    for amount in ("2000000", "2000000", "1000000"):
        buy(member, store, amount)

    assert due() == {}


def test_one_purchase_short_of_keeping_it_is_due(member, store):
    hold(member, "silver", since=date(2025, 11, 1), retained_until=KEPT_UNTIL)
    buy(member, store, "4000000")
    buy(member, store, "1000000")

    notice = due()[member.pk]

    assert (notice.spend_to_keep, notice.purchases_to_keep) == (Decimal(0), 1)


def test_a_lock_past_the_review_means_no_notice_and_one_ending_before_it_does(store):
    locked, lock_ends = MemberFactory.create_batch(2)
    review = TODAY + timedelta(days=30)
    hold(
        locked,
        "gold",
        since=date(2025, 11, 1),
        retained_until=KEPT_UNTIL,
        locked_until=review + timedelta(days=1),
    )
    hold(lock_ends, "gold", since=date(2025, 11, 1), retained_until=KEPT_UNTIL, locked_until=review)

    assert set(due()) == {lock_ends.pk}


def test_the_policy_decides_the_tier_named_in_the_notice(member, store):
    hold(member, "diamond", since=date(2025, 11, 1), retained_until=KEPT_UNTIL)
    buy(member, store, "100000")

    set_policy("one_level")
    assert due()[member.pk].to_tier.code == "gold"
    set_policy("to_qualified")
    assert due()[member.pk].to_tier.code == "bronze"
    set_policy("none")
    assert due() == {}


def test_the_entry_tier_is_never_due(member):
    hold(member, "bronze", since=date(2025, 11, 1), retained_until=KEPT_UNTIL)

    assert due() == {}


def test_the_notice_names_what_the_nightly_job_then_does_on_the_review_day(member, store):
    hold(member, "gold", since=date(2025, 11, 1), retained_until=KEPT_UNTIL)
    buy(member, store, "1000000")
    notice = due()[member.pk]

    recalc(notice.review_on)

    assert MemberTier.objects.get(pk=member.pk).tier == notice.to_tier


def test_upgrades_between_lists_the_upgrade_events_in_order(store):
    first, second = MemberFactory.create_batch(2)
    for who in (first, second):
        for amount in ("2000000", "2000000", "1000000"):
            buy(who, store, amount)
    recalc()  # initial tiers, not upgrades
    for amount in ("10000000", "5000000") + ("1",) * 5:
        buy(second, store, amount)
    recalc(TODAY + timedelta(days=1))

    start = datetime.combine(TODAY, time.min, tzinfo=VN)
    events = list(tier_upgrades_between(start, start + timedelta(days=3)))

    assert [(e.member_id, e.to_tier.code) for e in events] == [(second.pk, "gold")]

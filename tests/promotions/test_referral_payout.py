"""Paying referrals: the return window, the minimum amount, the 60-day window, the monthly
cap, the payment-card check, paying once, and staff approving or rejecting held ones."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from loyalty import daily
from loyalty.errors import DomainError
from members.models import AuditEntry, PointEntry
from members.services import member_block
from promotions.models import Referral
from promotions.services import referral_approve, referral_reject
from rewards.models import Reward, Voucher
from tests.promotions.conftest import (
    JOIN_DAY,
    available,
    bonus_keys,
    buy,
    days,
    join,
    referral_of,
    rules,
    run_day,
)

pytestmark = pytest.mark.django_db

Status = Referral.Status


@pytest.fixture
def friend(referrer):
    return join(referrer)


def test_paid_on_the_day_the_purchase_passes_the_return_window_not_before(referrer, friend, store):
    buy(friend, store, on=days(3))  # pending_days is 7: its points mature on day 10
    assert run_day(days(9)) == {"paid": 0, "held": 0, "refused": 0}
    assert referral_of(friend).status == Status.PENDING
    assert run_day(days(10)) == {"paid": 1, "held": 0, "refused": 0}
    referral = referral_of(friend)
    assert referral.status == Status.REWARDED
    assert referral.paid_on == days(10)
    assert (referral.referrer_points, referral.referee_points) == (200, 100)
    assert referral.referrer_rewarded
    assert available(referrer) == 200 and available(friend) == 100
    assert bonus_keys(referrer) == [f"referral:{referral.pk}:referrer"]
    assert bonus_keys(friend) == [f"referral:{referral.pk}:referee"]
    assert referral.referrer_entry.available_delta == 200


def test_the_return_window_is_the_programmes(referrer, friend, store):
    from members.models import Program

    Program.objects.filter(pk=1).update(pending_days=2)
    buy(friend, store, on=days(3))
    assert run_day(days(4))["paid"] == 0
    assert run_day(days(5))["paid"] == 1


def test_a_purchase_late_in_the_local_day_counts_on_that_local_day(referrer, friend, store):
    buy(friend, store, on=days(3), hour=23)  # 23:00 local is 16:00 UTC the same day
    assert run_day(days(9))["paid"] == 0
    assert run_day(days(10))["paid"] == 1


@pytest.mark.parametrize(("amount", "paid"), [("199999", 0), ("200000", 1), ("200000.01", 1)])
def test_the_first_purchase_must_reach_the_minimum(referrer, friend, store, amount, paid):
    buy(friend, store, amount, on=days(1))
    assert run_day(days(30))["paid"] == paid


def test_the_minimum_is_net_of_returns(referrer, friend, store):
    buy(friend, store, "250000", on=days(1), returned="50001")
    assert run_day(days(30))["paid"] == 0
    assert referral_of(friend).status == Status.PENDING


def test_the_first_qualifying_purchase_counts_not_a_small_one_before_it(referrer, friend, store):
    buy(friend, store, "50000", on=days(1))
    big = buy(friend, store, "300000", on=days(5))
    buy(friend, store, "900000", on=days(6))
    run_day(days(12))
    assert referral_of(friend).status == Status.REWARDED
    assert referral_of(friend).purchase == big


def test_a_fully_returned_purchase_does_not_qualify(referrer, friend, store):
    buy(friend, store, "300000", on=days(1), returned="300000")
    assert run_day(days(30))["paid"] == 0


@pytest.mark.parametrize(("day", "paid"), [(60, True), (61, False)])
def test_the_first_purchase_must_be_within_60_days_of_joining(referrer, friend, store, day, paid):
    buy(friend, store, on=days(day), hour=23 if paid else 0)
    run_day(days(day + 7))
    assert (referral_of(friend).status == Status.REWARDED) is paid


def test_without_a_purchase_in_the_window_it_is_refused_once_late_syncs_cannot_come(
    referrer, friend, store
):
    buy(friend, store, on=days(61))  # too late
    # The window's last day is day 60; an offline till may sync a purchase of that day
    # until backdate_days (30) later.
    assert run_day(days(90))["refused"] == 0
    assert referral_of(friend).status == Status.PENDING
    assert run_day(days(91))["refused"] == 1
    referral = referral_of(friend)
    assert referral.status == Status.REFUSED
    assert [r["code"] for r in referral.reasons] == ["window_expired"]
    assert referral.reason_codes == " window_expired "
    assert available(referrer) == 0


def test_a_purchase_in_the_window_still_waiting_for_its_return_window_is_not_refused(
    referrer, friend, store
):
    from members.models import Program

    Program.objects.filter(pk=1).update(pending_days=45)
    buy(friend, store, on=days(60))
    assert run_day(days(91)) == {"paid": 0, "held": 0, "refused": 0}
    assert run_day(days(105))["paid"] == 1


def test_running_the_job_twice_pays_once(referrer, friend, store):
    buy(friend, store, on=days(1))
    assert run_day(days(8))["paid"] == 1
    assert run_day(days(8)) == {"paid": 0, "held": 0, "refused": 0}
    assert run_day(days(9))["paid"] == 0
    assert available(referrer) == 200 and available(friend) == 100
    assert PointEntry.objects.filter(idempotency_key__startswith="referral:").count() == 2


def test_the_daily_entry_point_runs_the_referral_job_after_maturing(referrer, friend, store):
    names = [job.name for job in daily.jobs()]
    assert names.index("points.mature_pending") < names.index("promotions.referrals")
    buy(friend, store, on=days(1))
    run = daily.run_daily_jobs(today=days(8))
    outcome = next(o for o in run.outcomes if o.name == "promotions.referrals")
    assert outcome.ok and outcome.result["paid"] == 1


# ---------------------------------------------------------------------------------------------
# Monthly cap


def test_over_the_monthly_cap_the_new_member_is_paid_and_the_referrer_is_not(referrer, store):
    rules(monthly_cap=2)
    friends = [join(referrer) for _ in range(3)]
    for friend in friends:
        buy(friend, store, on=days(1))
    assert run_day(days(8))["paid"] == 3
    capped = referral_of(friends[2])
    assert capped.status == Status.REWARDED
    assert not capped.referrer_rewarded and capped.referrer_points == 0
    assert capped.referee_points == 100 and available(friends[2]) == 100
    assert [r["code"] for r in capped.reasons] == ["cap_reached"]
    assert available(referrer) == 400


def test_the_cap_counts_the_calendar_month_of_payout(referrer, store):
    rules(monthly_cap=1)
    first, second, third = (join(referrer, on=date(2026, 3, 1)) for _ in range(3))
    buy(first, store, on=date(2026, 3, 20))  # due on 27 March
    buy(second, store, on=date(2026, 3, 25))  # due on 1 April
    buy(third, store, on=date(2026, 3, 25))
    run_day(date(2026, 3, 31))
    run_day(date(2026, 4, 1))
    assert referral_of(first).paid_on == date(2026, 3, 31)
    assert referral_of(first).referrer_rewarded
    # A new month: the referrer is paid again, once.
    assert referral_of(second).paid_on == date(2026, 4, 1)
    assert referral_of(second).referrer_rewarded
    assert not referral_of(third).referrer_rewarded
    assert available(referrer) == 400


def test_no_cap_when_the_programme_has_none(referrer, store):
    rules(monthly_cap=None)
    friends = [join(referrer, on=days(n)) for n in range(12)]
    for friend in friends:
        buy(friend, store, on=days(12))
    run_day(days(20))
    assert available(referrer) == 12 * 200


# ---------------------------------------------------------------------------------------------
# Payout-time fraud checks, held and reviewed


def test_the_referrers_own_card_paying_the_first_purchase_holds_it(referrer, friend, store):
    buy(referrer, store, on=date(2026, 1, 5), payment_fingerprint="card-abc")
    purchase = buy(friend, store, on=days(2), payment_fingerprint="card-abc")
    assert run_day(days(9)) == {"paid": 0, "held": 1, "refused": 0}
    referral = referral_of(friend)
    assert referral.status == Status.HELD
    assert referral.reasons[0]["code"] == "same_payment_card"
    assert referral.reasons[0]["detail"] == {"purchase": purchase.pk}
    assert available(referrer) == 0 and available(friend) == 0
    assert run_day(days(10))["held"] == 0  # held stays held; the job leaves it to staff


def test_another_card_does_not_hold(referrer, friend, store):
    buy(referrer, store, on=date(2026, 1, 5), payment_fingerprint="card-abc")
    buy(friend, store, on=days(2), payment_fingerprint="card-xyz")
    assert run_day(days(9))["paid"] == 1


def test_a_blocked_member_at_payout_is_held(referrer, friend, store, support):
    buy(friend, store, on=days(2))
    member_block(member=friend, reason="abuse", acting_user=support)
    assert run_day(days(9))["held"] == 1
    assert referral_of(friend).reasons[0]["code"] == "referee_blocked"


def test_approving_a_referral_held_at_payout_pays_it_at_once(referrer, friend, store, support):
    buy(referrer, store, on=date(2026, 1, 5), payment_fingerprint="card-abc")
    buy(friend, store, on=days(2), payment_fingerprint="card-abc")
    run_day(days(9))
    approved = referral_approve(
        referral=referral_of(friend), acting_user=support, note="their mother paid", today=days(9)
    )
    assert approved.status == Status.REWARDED
    assert approved.reviewed_by == support and approved.review_note == "their mother paid"
    assert [r["code"] for r in approved.reasons] == ["same_payment_card", "approved"]
    assert available(referrer) == 200 and available(friend) == 100
    audit = AuditEntry.objects.get(action="referral.approved")
    assert audit.actor == support and audit.data["result"] == "paid"
    assert run_day(days(10))["paid"] == 0


def test_approving_a_referral_held_at_join_sends_it_back_to_pending(referrer, store, support):
    rules(max_joins_per_day=1)
    join(referrer, ip="192.0.2.1")
    friend = join(referrer, ip="192.0.2.1")
    assert referral_of(friend).status == Status.HELD
    assert referral_approve(referral=referral_of(friend), acting_user=support).status == (
        Status.PENDING
    )
    buy(friend, store, on=days(4))
    assert run_day(days(11))["paid"] == 1
    assert referral_of(friend).status == Status.REWARDED


def test_an_approved_join_is_still_checked_for_the_card_at_payout(referrer, store, support):
    rules(max_joins_per_day=1)
    join(referrer, ip="192.0.2.1")
    friend = join(referrer, ip="192.0.2.1")
    referral_approve(referral=referral_of(friend), acting_user=support)
    buy(referrer, store, on=date(2026, 1, 5), payment_fingerprint="card-abc")
    buy(friend, store, on=days(4), payment_fingerprint="card-abc")
    assert run_day(days(11))["held"] == 1
    assert [r["code"] for r in referral_of(friend).reasons] == [
        "same_ip",
        "approved",
        "same_payment_card",
    ]


def test_rejecting_a_held_referral_refuses_it_and_pays_nothing(referrer, friend, store, support):
    buy(referrer, store, on=date(2026, 1, 5), payment_fingerprint="card-abc")
    buy(friend, store, on=days(2), payment_fingerprint="card-abc")
    run_day(days(9))
    rejected = referral_reject(referral=referral_of(friend), acting_user=support, note="same card")
    assert rejected.status == Status.REFUSED
    assert rejected.reasons[-1]["code"] == "rejected"
    assert AuditEntry.objects.filter(action="referral.rejected", actor=support).exists()
    run_day(days(20))
    assert available(referrer) == 0 and available(friend) == 0
    with pytest.raises(DomainError) as caught:
        referral_approve(referral=rejected, acting_user=support)
    assert caught.value.code == "referral_not_held"


def test_only_staff_who_review_referrals_may_approve(referrer, friend, marketer):
    Referral.objects.filter(pk=referral_of(friend).pk).update(status=Status.HELD)
    with pytest.raises(DomainError) as caught:
        referral_approve(referral=referral_of(friend), acting_user=marketer)
    assert caught.value.code == "permission_denied"


# ---------------------------------------------------------------------------------------------
# Vouchers as rewards


def _reward(**fields):
    values = {
        "code": "welcome-50k",
        "kind": Reward.Kind.AMOUNT,
        "name": "Giảm 50.000đ",
        "points_cost": 500,
        "discount_amount": Decimal("50000"),
    }
    values.update(fields)
    return Reward.objects.create(**values)


def test_a_voucher_reward_is_issued_with_the_points(referrer, friend, store):
    reward = _reward()
    rules(referee_reward=reward, referee_points=0)
    buy(friend, store, on=days(1))
    run_day(days(8))
    referral = referral_of(friend)
    voucher = referral.referee_voucher
    assert voucher.member == friend and voucher.source == Voucher.Source.CAMPAIGN
    assert voucher.reference == f"referral:{referral.pk}:referee"
    assert referral.referee_points == 0 and available(friend) == 0
    assert referral.referrer_points == 200 and referral.referrer_voucher is None
    assert Reward.objects.get(pk=reward.pk).stock_issued == 1


def test_an_out_of_stock_voucher_holds_the_referral_and_pays_nothing(referrer, friend, store):
    rules(referrer_reward=_reward(stock_total=0))
    buy(friend, store, on=days(1))
    assert run_day(days(8))["held"] == 1
    referral = referral_of(friend)
    assert referral.reasons[0]["code"] == "reward_unavailable"
    assert available(friend) == 0 and available(referrer) == 0
    assert referral.referee_entry is None


def test_a_purchase_on_the_day_of_joining_counts(referrer, store):
    friend = join(referrer, on=JOIN_DAY)
    buy(friend, store, on=days(0), hour=10)  # the day of joining is day 0
    assert run_day(days(7))["paid"] == 1


def test_a_purchase_from_before_joining_does_not_pay_the_referral(referrer, store):
    friend = join(referrer, on=JOIN_DAY)
    buy(friend, store, on=days(-3))  # back-dated from an offline till, or imported

    assert run_day(days(7))["paid"] == 0
    assert referral_of(friend).status == "pending"
    assert available(referrer) == 0

"""Referrals under real concurrency on PostgreSQL: the daily job run twice at once, or with
a staff approval, pays each referral once; joins through one code are counted one by one."""

from __future__ import annotations

import pytest
import time_machine

from loyalty.errors import DomainError
from members.models import PointEntry
from members.selectors import ledger_discrepancies
from promotions.models import Referral
from promotions.services import referral_approve, referrals_pay_due
from tests.concurrency import run_together
from tests.factories import MemberFactory
from tests.promotions.conftest import (
    available,
    buy,
    days,
    join,
    local,
    referral_of,
    rules,
    run_day,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def referrer_pg(db):
    return MemberFactory(full_name="Nguyễn Thị Mai", phone="0913 222 333")


def test_two_runs_of_the_job_at_once_pay_each_referral_once(referrer_pg, store):
    rules(monthly_cap=3)
    friends = [join(referrer_pg) for _ in range(5)]
    for friend in friends:
        buy(friend, store, on=days(1))
    with time_machine.travel(local(days(8), 1), tick=False):  # one clock for every thread
        results = run_together(4, lambda i: referrals_pay_due(today=days(8)))
    assert sum(r[1]["paid"] for r in results) == 5
    assert Referral.objects.filter(status="rewarded").count() == 5
    assert Referral.objects.filter(referrer_rewarded=True).count() == 3  # the cap held
    assert available(referrer_pg) == 600
    assert all(available(friend) == 100 for friend in friends)
    assert PointEntry.objects.filter(idempotency_key__startswith="referral:").count() == 8
    assert ledger_discrepancies() == []


def test_joins_through_one_code_at_once_are_counted_one_by_one(referrer_pg):
    run_together(
        6,
        lambda i: MemberFactory(
            phone=f"0944 000 00{i}", referred_by=referrer_pg, ip="198.51.100.7"
        ),
    )
    statuses = sorted(Referral.objects.values_list("status", flat=True))
    assert statuses == ["held"] * 3 + ["pending"] * 3


def test_two_staff_approving_at_once_while_the_job_runs_pay_once(referrer_pg, store, support):
    buy(referrer_pg, store, on=days(-30), payment_fingerprint="card")
    friend = join(referrer_pg)
    buy(friend, store, on=days(1), payment_fingerprint="card")
    run_day(days(8))
    referral = referral_of(friend)
    assert referral.status == "held"

    def work(i):
        if i == 0:
            return referrals_pay_due(today=days(8))
        try:
            return referral_approve(referral=referral, acting_user=support, today=days(8)).status
        except DomainError as exc:
            return exc.code

    with time_machine.travel(local(days(8), 9), tick=False):
        results = sorted(str(r[1]) for r in run_together(3, work)[1:])
    assert results == ["referral_not_held", "rewarded"]
    assert referral_of(friend).status == "rewarded"
    assert available(referrer_pg) == 200 and available(friend) == 100
    assert ledger_discrepancies() == []

"""The daily expiry of vouchers, the 7-day reminder's selector, and the demo catalogue."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from loyalty import daily
from members.models import AuditEntry
from rewards.models import PartnerCode, Reward, RewardTierPrice, Voucher
from rewards.selectors import vouchers_expiring_on
from rewards.services import rewards_seed_demo, vouchers_expire_due
from tests.rewards.conftest import give_points, local, make_reward, purchase_with, redeem

pytestmark = pytest.mark.django_db


@pytest.fixture
def vouchers(member, other_member):
    """Vouchers of two members, last valid on 14, 15 and 22 June 2026 (one used)."""
    give_points(member, 10_000)
    give_points(other_member, 10_000)
    with time_machine.travel(local(2026, 6, 1), tick=False):
        ends_14 = redeem(member, make_reward(voucher_valid_days=14))
        ends_15 = redeem(other_member, make_reward(voucher_valid_days=15))
        ends_22 = redeem(member, make_reward(voucher_valid_days=22))
        used = redeem(member, make_reward(voucher_valid_days=14))
        purchase_with(member, [used.code])
    return ends_14, ends_15, ends_22, used


def statuses(*vouchers):
    return [Voucher.objects.get(pk=v.pk).status for v in vouchers]


def test_vouchers_expire_the_day_after_their_last_day_once(vouchers):
    ends_14, ends_15, ends_22, used = vouchers
    assert ends_14.valid_until == date(2026, 6, 14)
    assert vouchers_expire_due(today=date(2026, 6, 14)) == 0
    assert vouchers_expire_due(today=date(2026, 6, 15)) == 1
    assert statuses(ends_14, ends_15, ends_22, used) == ["expired", "issued", "issued", "used"]
    assert vouchers_expire_due(today=date(2026, 6, 15)) == 0  # the same day again: nothing
    assert vouchers_expire_due(today=date(2026, 6, 23)) == 2
    assert statuses(ends_14, ends_15, ends_22, used) == ["expired", "expired", "expired", "used"]


def test_the_expiry_runs_in_the_daily_jobs_after_tiers():
    job = next(job for job in daily.jobs() if job.name == "rewards.vouchers_expire")
    assert job.func is vouchers_expire_due
    assert job.order > next(j.order for j in daily.jobs() if j.name == "tiers.recalculate")


def test_the_daily_run_expires_vouchers(vouchers):
    run = daily.run_daily_jobs(today=date(2026, 6, 15))
    outcome = next(o for o in run.outcomes if o.name == "rewards.vouchers_expire")
    assert (outcome.ok, outcome.result) == (True, 1)


def test_vouchers_expiring_on_a_day_are_those_still_to_use(vouchers):
    ends_14, _ends_15, ends_22, _used = vouchers
    assert list(vouchers_expiring_on(date(2026, 6, 14))) == [ends_14]  # used one left out
    assert list(vouchers_expiring_on(date(2026, 6, 22))) == [ends_22]
    vouchers_expire_due(today=date(2026, 6, 23))
    assert list(vouchers_expiring_on(date(2026, 6, 22))) == []


def test_the_demo_catalogue_is_created_once():
    first = rewards_seed_demo()
    assert {r.kind for r in first} == set(Reward.Kind.values)
    assert Reward.objects.count() == 5
    assert PartnerCode.objects.count() == 5
    prices = RewardTierPrice.objects.count()
    audits = AuditEntry.objects.count()
    Reward.objects.filter(code="giam-50k").update(points_cost=550)  # edited by staff

    second = rewards_seed_demo()

    assert [r.pk for r in second] == [r.pk for r in first]
    assert (Reward.objects.count(), PartnerCode.objects.count()) == (5, 5)
    assert (RewardTierPrice.objects.count(), AuditEntry.objects.count()) == (prices, audits)
    assert Reward.objects.get(code="giam-50k").points_cost == 550
    assert Reward.objects.get(code="giam-10-phan-tram").min_tier.code == "silver"

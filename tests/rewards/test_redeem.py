"""Redeeming: points spent through the ledger and a voucher issued, in one transaction, at
the server's price; refusals change nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from loyalty.errors import DomainError
from members.models import PointAccount, PointEntry
from members.selectors import ledger_discrepancies
from members.services import member_block
from rewards.codes import voucher_code_is_valid
from rewards.models import PartnerCode, Reward, RewardTierPrice, Voucher
from rewards.services import partner_codes_import
from tests.rewards.conftest import HCM, give_points, local, make_reward, redeem, set_tier
from tiers.models import Tier

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(local(2026, 6, 15, 9, 30), tick=False):
        yield


def test_redeeming_spends_points_and_issues_a_voucher(member, store, member_user):
    give_points(member, 1000)
    reward = make_reward(
        points_cost=300,
        discount_amount=Decimal("50000"),
        min_spend=Decimal("200000"),
        voucher_valid_days=30,
        cancel_grace_hours=24,
    )
    voucher = redeem(member, reward, acting_user=member_user, store=store, reference="R-77")

    assert voucher_code_is_valid(voucher.code)
    assert (voucher.status, voucher.source, voucher.points_spent) == ("issued", "redeemed", 300)
    assert (voucher.kind, voucher.discount_amount, voucher.min_spend) == (
        "amount",
        Decimal("50000"),
        Decimal("200000"),
    )
    # Valid for 30 days counting the day it is issued.
    assert (voucher.valid_from, voucher.valid_until) == (date(2026, 6, 15), date(2026, 7, 14))
    assert voucher.cancellable_until == datetime(2026, 6, 16, 9, 30, tzinfo=HCM)
    assert (voucher.reference, voucher.issued_at_store, voucher.issued_by) == (
        "R-77",
        store,
        member_user,
    )
    account = PointAccount.objects.get(pk=member.pk)
    assert (account.available, account.lifetime_spent) == (700, 300)
    spend = PointEntry.objects.get(member=member, kind="spend")
    assert spend == voucher.spend_entry
    assert (spend.available_delta, spend.actor, spend.actor_label) == (
        -300,
        member_user,
        "store HCM01",
    )
    reward.refresh_from_db()
    assert reward.stock_issued == 1
    assert ledger_discrepancies() == []


def test_the_voucher_keeps_the_discount_it_was_issued_with(member):
    give_points(member, 1000)
    reward = make_reward(discount_amount=Decimal("50000"))
    voucher = redeem(member, reward)
    Reward.objects.filter(pk=reward.pk).update(discount_amount=Decimal("10000"))
    voucher.refresh_from_db()
    assert voucher.discount_amount == Decimal("50000")


def test_the_cost_is_the_servers_for_the_members_tier(member):
    give_points(member, 1000)
    reward = make_reward(points_cost=800)
    RewardTierPrice.objects.create(
        reward=reward, tier=Tier.objects.get(code="gold"), points_cost=600
    )
    set_tier(member, "gold")
    voucher = redeem(member, reward)
    assert voucher.points_spent == 600
    assert PointAccount.objects.get(pk=member.pk).available == 400


def test_not_enough_points_is_refused_with_insufficient_points(member):
    give_points(member, 99)
    reward = make_reward(points_cost=100)
    with pytest.raises(DomainError) as refused:
        redeem(member, reward)
    assert refused.value.code == "insufficient_points"
    assert refused.value.details["available"] == 99
    assert refused.value.details["requested"] == 100
    assert Voucher.objects.count() == 0
    assert PointAccount.objects.get(pk=member.pk).available == 99


def test_a_blocked_member_is_refused_with_member_blocked(member, support):
    give_points(member, 1000)
    member_block(member=member, reason="fraud", acting_user=support)
    with pytest.raises(DomainError) as refused:
        redeem(member, make_reward())  # the stale object says "active": the service re-reads
    assert refused.value.code == "member_blocked"


def test_other_reasons_are_reward_unavailable_with_the_reason_in_details(member):
    give_points(member, 1000)
    reward = make_reward(min_tier=Tier.objects.get(code="diamond"))
    with pytest.raises(DomainError) as refused:
        redeem(member, reward)
    assert refused.value.code == "reward_unavailable"
    assert refused.value.status_code == 422
    assert refused.value.details["reason_code"] == "tier_too_low"
    assert refused.value.details["reward_id"] == reward.pk
    assert refused.value.details["reason"] == refused.value.message


def test_the_last_item_goes_once_then_out_of_stock(member, other_member):
    give_points(member, 1000)
    give_points(other_member, 1000)
    reward = make_reward(stock_total=1)
    redeem(member, reward)
    with pytest.raises(DomainError) as refused:
        redeem(other_member, reward)
    assert (refused.value.code, refused.value.details["reason_code"]) == (
        "reward_unavailable",
        "out_of_stock",
    )
    assert PointAccount.objects.get(pk=other_member.pk).available == 1000
    reward.refresh_from_db()
    assert (reward.stock_issued, reward.stock_total) == (1, 1)


def test_partner_vouchers_hand_out_each_code_once_until_the_pool_runs_dry(member):
    give_points(member, 10_000)
    reward = make_reward(kind=Reward.Kind.PARTNER, partner_name="Rạp phim", points_cost=100)
    partner_codes_import(reward=reward, rows=[(1, "CINE-1"), (2, "CINE-2"), (3, "CINE-3")])
    vouchers = [redeem(member, reward) for _ in range(3)]
    assert sorted(v.partner_code for v in vouchers) == ["CINE-1", "CINE-2", "CINE-3"]
    for voucher in vouchers:
        assert PartnerCode.objects.get(code=voucher.partner_code).voucher == voucher
        assert voucher.cancellable_until is None  # the code is shown: no cancelling
    with pytest.raises(DomainError) as dry:
        redeem(member, reward)
    assert dry.value.details["reason_code"] == "out_of_stock"
    assert PointAccount.objects.get(pk=member.pk).available == 10_000 - 300
    assert not PartnerCode.objects.filter(voucher__isnull=True).exists()


def test_a_pool_emptied_after_the_check_refuses_and_rolls_back(member, monkeypatch):
    from rewards.selectors import RewardOffer
    from rewards.services import issuing

    give_points(member, 1000)
    reward = make_reward(kind=Reward.Kind.PARTNER, stock_total=10)
    # The check saw a code left, but another redemption took it before this one could.
    monkeypatch.setattr(
        issuing, "reward_availability", lambda m, r, **kw: RewardOffer(r, 100, True)
    )
    with pytest.raises(DomainError) as dry:
        redeem(member, reward)
    assert dry.value.details["reason_code"] == "out_of_stock"
    reward.refresh_from_db()
    assert reward.stock_issued == 0  # the stock taken is given back with the rollback
    assert PointAccount.objects.get(pk=member.pk).available == 1000


def test_a_reward_with_no_grace_period_cannot_be_cancelled(member):
    give_points(member, 1000)
    voucher = redeem(member, make_reward(cancel_grace_hours=0))
    assert voucher.cancellable_until is None


def test_vouchers_are_valid_until_the_last_day_counted_from_today(member):
    give_points(member, 1000)
    voucher = redeem(member, make_reward(voucher_valid_days=1))
    assert voucher.valid_from == voucher.valid_until == date(2026, 6, 15)
    later = redeem(member, make_reward(voucher_valid_days=7), today=date(2026, 6, 20))
    assert later.valid_until == date(2026, 6, 20) + timedelta(days=6)

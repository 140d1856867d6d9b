"""Rewards under real concurrency on PostgreSQL: threads with their own connections, released
together by a barrier. Stock never oversold, per-member limits hold, a voucher is used once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from members.models import PointAccount, PointEntry
from members.selectors import ledger_discrepancies
from rewards.models import PartnerCode, Reward, Voucher
from rewards.services import (
    partner_codes_import,
    reward_redeem,
    voucher_cancel,
    vouchers_consume_locked,
    vouchers_for_purchase,
)
from tests.concurrency import run_together
from tests.factories import MemberFactory, PurchaseFactory
from tests.rewards.conftest import give_points, make_reward

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def outcomes(results):
    ok = [value for kind, value in results if kind == "ok"]
    refused = [value for kind, value in results if kind == "refused"]
    return ok, refused


def test_fifty_members_racing_for_the_last_ten_get_ten_vouchers_and_forty_refusals():
    reward = make_reward(points_cost=100, stock_total=12)
    Reward.objects.filter(pk=reward.pk).update(stock_issued=2)  # the last 10 are left
    members = [MemberFactory() for _ in range(50)]
    for member in members:
        give_points(member, 500)

    results = run_together(50, lambda i: reward_redeem(member=members[i], reward=reward))

    vouchers, refusals = outcomes(results)
    assert len(vouchers) == 10
    assert len(refusals) == 40
    assert {(e.code, e.details["reason_code"]) for e in refusals} == {
        ("reward_unavailable", "out_of_stock")
    }
    assert Reward.objects.get(pk=reward.pk).stock_issued == 12
    assert Voucher.objects.count() == 10
    assert len({v.member_id for v in vouchers}) == 10
    assert PointEntry.objects.filter(kind="spend").count() == 10
    spent = {m.pk: 400 for m in members if m.pk in {v.member_id for v in vouchers}}
    for account in PointAccount.objects.filter(pk__in=[m.pk for m in members]):
        assert account.available == spent.get(account.pk, 500)
    assert ledger_discrepancies() == []


def test_one_member_redeeming_many_times_at_once_stays_within_the_limit():
    member = MemberFactory()
    give_points(member, 10_000)
    reward = make_reward(points_cost=100, limit_per_member=2)

    results = run_together(12, lambda i: reward_redeem(member=member, reward=reward))

    vouchers, refusals = outcomes(results)
    assert len(vouchers) == 2
    assert {e.details["reason_code"] for e in refusals} == {"limit_reached"}
    assert len(refusals) == 10
    assert PointAccount.objects.get(pk=member.pk).available == 9_800
    assert ledger_discrepancies() == []


def test_racers_for_a_partner_pool_each_get_a_different_code_until_it_runs_dry():
    reward = make_reward(kind=Reward.Kind.PARTNER, points_cost=100)
    partner_codes_import(reward=reward, rows=[(n, f"CODE-{n}") for n in range(1, 6)])
    members = [MemberFactory() for _ in range(20)]
    for member in members:
        give_points(member, 100)

    results = run_together(20, lambda i: reward_redeem(member=members[i], reward=reward))

    vouchers, refusals = outcomes(results)
    assert sorted(v.partner_code for v in vouchers) == [f"CODE-{n}" for n in range(1, 6)]
    assert {e.details["reason_code"] for e in refusals} == {"out_of_stock"}
    assert len(refusals) == 15
    assert not PartnerCode.objects.filter(voucher__isnull=True).exists()
    assert ledger_discrepancies() == []


@pytest.mark.parametrize("lock", [True, False], ids=["locked", "quoted-then-consumed"])
def test_tills_presenting_one_voucher_at_the_same_moment_use_it_once(lock, store):
    member = MemberFactory()
    give_points(member, 1000)
    voucher = reward_redeem(member=member, reward=make_reward(discount_amount=Decimal("50000")))

    def till(i):
        with transaction.atomic():
            application = vouchers_for_purchase(
                codes=[voucher.code], member=member, amount=Decimal("300000"), lock=lock
            )
            purchase = PurchaseFactory(
                store=store,
                member=member,
                external_id=f"R-{i}",
                total_amount=Decimal("300000"),
                voucher_discount=application.discount,
                amount_due=Decimal("300000") - application.discount,
            )
            vouchers_consume_locked(application=application, purchase=purchase)
            return purchase.pk

    results = run_together(8, till)

    purchases, refusals = outcomes(results)
    assert len(purchases) == 1
    assert [e.code for e in refusals] == ["voucher_used"] * 7
    voucher.refresh_from_db()
    assert (voucher.status, voucher.used_on_id) == ("used", purchases[0])


def test_cancelling_and_using_a_voucher_at_the_same_moment_does_one_of_them(store):
    member = MemberFactory()
    give_points(member, 1000)
    voucher = reward_redeem(member=member, reward=make_reward(points_cost=300))

    def cancel():
        return voucher_cancel(voucher=voucher, member=member).status

    def use():
        with transaction.atomic():
            application = vouchers_for_purchase(
                codes=[voucher.code], member=member, amount=Decimal("300000"), lock=True
            )
            purchase = PurchaseFactory(
                store=store,
                member=member,
                total_amount=Decimal("300000"),
                voucher_discount=application.discount,
                amount_due=Decimal("300000") - application.discount,
            )
            vouchers_consume_locked(application=application, purchase=purchase)
            return "used"

    results = run_together(2, lambda i: cancel() if i == 0 else use())

    done, refusals = outcomes(results)
    assert len(done) == 1 and len(refusals) == 1
    assert refusals[0].code == "voucher_used"
    voucher.refresh_from_db()
    assert voucher.status == done[0]
    points = PointAccount.objects.get(pk=member.pk).available
    assert points == (1000 if voucher.status == "cancelled" else 700)
    assert ledger_discrepancies() == []

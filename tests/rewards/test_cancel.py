"""A member cancels an unused voucher within the grace period and gets the points back through
the ledger; the ledger's refund of a spend (``refund_spend_locked``) that makes it possible."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction

from loyalty.errors import DomainError
from members.models import PointAccount, PointEntry, PointLot
from members.selectors import ledger_discrepancies
from members.services import points as ledger
from rewards.models import Reward, Voucher
from rewards.services import partner_codes_import, voucher_cancel, voucher_issue_goodwill
from tests.rewards.conftest import (
    HCM,
    give_points,
    local,
    make_reward,
    purchase_with,
    redeem,
)

pytestmark = pytest.mark.django_db

ISSUED_AT = local(2026, 6, 15, 9, 30)


@pytest.fixture
def voucher(member):
    give_points(member, 1000)
    reward = make_reward(points_cost=300, stock_total=5, cancel_grace_hours=24)
    with time_machine.travel(ISSUED_AT, tick=False):
        return redeem(member, reward)


def test_cancelling_within_the_grace_period_gives_the_points_and_stock_back(member, voucher):
    with time_machine.travel(ISSUED_AT + timedelta(hours=2), tick=False):
        cancelled = voucher_cancel(voucher=voucher, member=member)
    assert cancelled.status == "cancelled"
    voucher.refresh_from_db()
    assert (voucher.status, voucher.cancelled_at) == ("cancelled", ISSUED_AT + timedelta(hours=2))
    refund = voucher.refund_entry
    assert (refund.kind, refund.available_delta, refund.idempotency_key) == (
        "refund",
        300,
        f"voucher-cancel:{voucher.pk}",
    )
    account = PointAccount.objects.get(pk=member.pk)
    assert (account.available, account.lifetime_spent, account.lifetime_earned) == (1000, 0, 1000)
    assert Reward.objects.get(pk=voucher.reward_id).stock_issued == 0
    assert ledger_discrepancies() == []


def test_the_grace_period_ends_exactly_24_hours_after_issue(member, voucher):
    assert voucher.cancellable_until == datetime(2026, 6, 16, 9, 30, tzinfo=HCM)
    with time_machine.travel(voucher.cancellable_until + timedelta(seconds=1), tick=False):
        with pytest.raises(DomainError) as late:
            voucher_cancel(voucher=voucher, member=member)
        assert late.value.code == "voucher_not_cancellable"
        assert late.value.details["reason_code"] == "grace_period_over"
        assert not Voucher.objects.get(pk=voucher.pk).can_be_cancelled()
    with time_machine.travel(voucher.cancellable_until, tick=False):
        assert voucher.can_be_cancelled()
        assert voucher_cancel(voucher=voucher, member=member).status == "cancelled"


def test_the_grace_period_is_the_rewards_setting(member):
    give_points(member, 1000)
    reward = make_reward(cancel_grace_hours=2)
    with time_machine.travel(ISSUED_AT, tick=False):
        voucher = redeem(member, reward)
    assert voucher.cancellable_until == ISSUED_AT + timedelta(hours=2)


def test_refunded_points_keep_the_expiry_of_the_lots_they_came_from(member):
    with time_machine.travel(local(2026, 1, 10), tick=False):
        give_points(member, 500)  # expires at the end of January 2027
    reward = make_reward(points_cost=300)
    with time_machine.travel(ISSUED_AT, tick=False):
        voucher = redeem(member, reward)
        voucher_cancel(voucher=voucher, member=member)
    voucher.refresh_from_db()
    assert voucher.refund_entry.lot.expires_on == date(2027, 1, 31)
    assert voucher.refund_entry.lot.remaining == 300


def test_a_used_voucher_cannot_be_cancelled(member, voucher):
    with time_machine.travel(ISSUED_AT + timedelta(hours=1), tick=False):
        purchase_with(member, [voucher.code])
        with pytest.raises(DomainError) as used:
            voucher_cancel(voucher=voucher, member=member)
    assert used.value.code == "voucher_used"
    assert PointAccount.objects.get(pk=member.pk).available == 700


def test_a_voucher_is_cancelled_once(member, voucher):
    with time_machine.travel(ISSUED_AT + timedelta(hours=1), tick=False):
        voucher_cancel(voucher=voucher, member=member)
        with pytest.raises(DomainError) as again:
            voucher_cancel(voucher=voucher, member=member)
    assert again.value.code == "voucher_used"
    assert PointAccount.objects.get(pk=member.pk).available == 1000
    assert PointEntry.objects.filter(kind="refund").count() == 1


def test_someone_else_cannot_cancel_a_voucher(member, other_member, voucher):
    with time_machine.travel(ISSUED_AT, tick=False), pytest.raises(DomainError) as theirs:
        voucher_cancel(voucher=voucher, member=other_member)
    assert theirs.value.code == "voucher_invalid"
    assert Voucher.objects.get(pk=voucher.pk).status == "issued"


def test_an_expired_voucher_cannot_be_cancelled(member):
    give_points(member, 1000)
    reward = make_reward(voucher_valid_days=1, cancel_grace_hours=48)
    with time_machine.travel(local(2026, 6, 15, 20, 0), tick=False):
        voucher = redeem(member, reward)
    with time_machine.travel(local(2026, 6, 16, 8, 0), tick=False), pytest.raises(DomainError) as e:
        voucher_cancel(voucher=voucher, member=member)
    assert e.value.code == "voucher_expired"


def test_goodwill_and_partner_vouchers_cannot_be_cancelled(member, program_admin):
    give_points(member, 1000)
    goodwill = voucher_issue_goodwill(
        member=member, reward=make_reward(), reason="sorry", acting_user=program_admin
    )
    partner_reward = make_reward(kind=Reward.Kind.PARTNER, cancel_grace_hours=24)
    partner_codes_import(reward=partner_reward, rows=[(1, "P1")])
    partner = redeem(member, partner_reward)
    for voucher, reason in ((goodwill, "not_redeemed"), (partner, "not_allowed")):
        with pytest.raises(DomainError) as refused:
            voucher_cancel(voucher=voucher, member=member)
        assert (refused.value.code, refused.value.details["reason_code"]) == (
            "voucher_not_cancellable",
            reason,
        )


def test_the_ledger_refunds_a_spend_once(member):
    give_points(member, 100)
    with transaction.atomic():
        spend = ledger.spend_locked(ledger.account_lock(member.pk), points=60, reason="gift")
    with transaction.atomic():
        credit = ledger.refund_spend_locked(
            ledger.account_lock(member.pk),
            spend=spend,
            today=date(2026, 6, 15),
            idempotency_key="k",
        )
    assert (credit.entry.kind, credit.entry.available_delta, credit.lot.points) == (
        "refund",
        60,
        60,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ledger.refund_spend_locked(
            ledger.account_lock(member.pk),
            spend=spend,
            today=date(2026, 6, 15),
            idempotency_key="k",
        )
    account = PointAccount.objects.get(pk=member.pk)
    assert (account.available, account.lifetime_spent) == (100, 0)
    assert ledger_discrepancies() == []


def test_the_ledger_refund_is_never_shorter_than_the_end_of_the_month(member):
    with time_machine.travel(local(2025, 1, 5), tick=False):
        give_points(member, 100)  # expires at the end of January 2026
    with transaction.atomic():
        spend = ledger.spend_locked(ledger.account_lock(member.pk), points=40)
    with transaction.atomic():
        credit = ledger.refund_spend_locked(
            ledger.account_lock(member.pk), spend=spend, today=date(2026, 3, 10)
        )
    assert spend.lots_expire_on == date(2026, 1, 31)
    assert credit.lot.expires_on == date(2026, 3, 31)
    assert PointLot.objects.get(pk=credit.lot.pk).status == "available"


def test_the_ledger_refuses_to_refund_what_is_not_a_spend_of_this_account(member, other_member):
    entry = give_points(member, 100)
    with pytest.raises(ValueError), transaction.atomic():
        ledger.refund_spend_locked(ledger.account_lock(member.pk), spend=entry, today=date.today())
    with transaction.atomic():
        spend = ledger.spend_locked(ledger.account_lock(member.pk), points=10)
    with pytest.raises(ValueError), transaction.atomic():
        ledger.refund_spend_locked(
            ledger.account_lock(other_member.pk), spend=spend, today=date.today()
        )

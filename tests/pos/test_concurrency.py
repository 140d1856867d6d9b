"""The purchase flow under real concurrency: threads, each with its own PostgreSQL connection,
released together by a barrier."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from members.models import PointAccount, PointEntry, PointLot, Purchase
from members.selectors import ledger_discrepancies, program_get
from members.services.points import points_grant
from pos.models import IdempotencyRecord
from pos.services.purchases import PurchaseInput, purchase_record
from tests import concurrency

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def run_together(count: int, work) -> list[tuple[str, object]]:
    """``tests.concurrency.run_together``, with a refusal given as its error code."""
    return [
        (kind, value.code if kind == "refused" else value)
        for kind, value in concurrency.run_together(count, work)
    ]


def assert_ledger_clean():
    assert ledger_discrepancies() == []
    out = StringIO()
    call_command("verify_ledger", stdout=out, stderr=StringIO())
    assert "ledger ok" in out.getvalue()
    assert not PointLot.objects.filter(remaining__lt=0).exists()


def test_concurrent_spending_never_takes_the_balance_below_zero(member, store):
    points_grant(
        member=member, points=1000, idempotency_key="seed", reason="test", program=program_get()
    )

    def spend(i):
        return purchase_record(
            store=store,
            data=PurchaseInput(
                external_id=f"R-{i:03d}",
                member=member.card_number,
                total_amount=Decimal("100000"),
                redeem_points=100,
            ),
        )

    results = run_together(32, spend)

    succeeded = [value for kind, value in results if kind == "ok"]
    refused = [value for kind, value in results if kind == "refused"]
    assert len(succeeded) == 10  # 1000 points pay for exactly ten redemptions of 100
    assert refused == ["insufficient_points"] * 22
    assert all(outcome.status == 201 and not outcome.replayed for outcome in succeeded)
    # Serialised by the account lock: each saw the balance the one before it left.
    assert sorted(o.body["balance"]["available"] for o in succeeded) == list(range(0, 1000, 100))
    account = PointAccount.objects.get(pk=member.pk)
    assert (account.available, account.pending, account.lifetime_spent) == (0, 90, 1000)
    assert Purchase.objects.count() == 10
    assert PointEntry.objects.filter(kind="spend").count() == 10
    assert IdempotencyRecord.objects.count() == 10
    assert_ledger_clean()


def test_the_same_external_id_posted_at_once_is_recorded_once(member, store):
    data = PurchaseInput(
        external_id="R-SAME", member=member.card_number, total_amount=Decimal("1250000")
    )

    results = run_together(16, lambda i: purchase_record(store=store, data=data))

    outcomes = [value for kind, value in results if kind == "ok"]
    assert len(outcomes) == 16
    assert sorted(outcome.replayed for outcome in outcomes) == [False] + [True] * 15
    assert all(outcome.status == 201 for outcome in outcomes)
    first = outcomes[0].body
    assert all(outcome.body == first for outcome in outcomes)
    assert first["points_earned"] == 125
    assert Purchase.objects.count() == 1
    assert PointEntry.objects.filter(kind="earn").count() == 1
    assert IdempotencyRecord.objects.count() == 1
    account = PointAccount.objects.get(pk=member.pk)
    assert (account.available, account.pending) == (0, 125)
    assert_ledger_clean()


def test_a_hot_member_earning_from_many_tills_at_once_keeps_every_point(member, store):
    def earn(i):
        return purchase_record(
            store=store,
            data=PurchaseInput(
                external_id=f"R-{i:03d}",
                member=member.card_number,
                total_amount=Decimal(10000 * (i + 1)),
            ),
        )

    results = run_together(32, earn)

    outcomes = [value for kind, value in results if kind == "ok"]
    assert len(outcomes) == 32
    earned = sum(outcome.body["points_earned"] for outcome in outcomes)
    assert earned == sum(range(1, 33)) == 528
    account = PointAccount.objects.get(pk=member.pk)
    assert (account.available, account.pending, account.lifetime_earned) == (0, 528, 528)
    assert sorted(o.body["balance"]["pending"] for o in outcomes)[-1] == 528
    assert Purchase.objects.count() == 32
    assert PointEntry.objects.filter(kind="earn").count() == 32
    assert_ledger_clean()

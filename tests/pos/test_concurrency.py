"""The purchase flow under real concurrency: threads, each with its own PostgreSQL connection,
released together by a barrier."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F

from loyalty.money import money_text
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


# ------------------------------------------- one external_id, two bodies, at the same moment


def _pair_bodies(kind: str, n: int, card: str, voucher_code) -> list[dict]:
    """Two bodies for one external_id. ``earn`` is earn-only (the one-statement path on
    PostgreSQL); ``redeem`` and ``voucher`` take the general path."""
    base = {"external_id": f"PAIR-{n:03d}", "member": card}
    earn = {**base, "total_amount": "500000"}
    redeem = {**base, "total_amount": "500000", "redeem_points": 10}
    voucher = {**base, "total_amount": "500000", "voucher_codes": [voucher_code()]}
    return {
        "earn+redeem": [earn, redeem],
        "redeem+earn": [redeem, earn],
        "earn+voucher": [earn, voucher],
        "redeem+voucher": [redeem, voucher],
        "earn+earn other total": [earn, {**earn, "total_amount": "600000"}],
        "same earn": [earn, dict(earn)],
        "same redeem": [redeem, dict(redeem)],
    }[kind]


def test_one_external_id_posted_at_once_with_two_bodies_is_a_201_and_a_409(
    member, store, store_key
):
    """The one-statement path and the general path claim the receipt in one order, so a
    pair racing on one external_id never deadlocks: one 201, and a 409 for the other body
    (a 200 replay for the same body)."""
    from django.test import Client

    from rewards.models import Reward
    from rewards.services import reward_redeem
    from tests.pos.helpers import PosClient

    _row, raw = store_key
    points_grant(
        member=member, points=100_000, idempotency_key="seed", reason="test", program=program_get()
    )
    reward = Reward.objects.create(
        code="giam-10k",
        kind="amount",
        name="Giảm 10.000đ",
        points_cost=1,
        discount_amount=Decimal("10000"),
        min_spend=Decimal("0"),
        voucher_valid_days=30,
    )

    def voucher_code() -> str:
        return reward_redeem(member=member, reward=reward).code

    kinds = [
        "earn+redeem",
        "redeem+earn",
        "earn+voucher",
        "redeem+voucher",
        "earn+earn other total",
        "same earn",
        "same redeem",
    ]
    pairs = 35
    for n in range(pairs):
        kind = kinds[n % len(kinds)]
        bodies = _pair_bodies(kind, n, member.card_number, voucher_code)

        results = run_together(2, lambda i, b=bodies: PosClient(Client(), raw).purchase(b[i]))

        responses = [value for _kind, value in results]
        statuses = sorted(response.status_code for response in responses)
        if kind.startswith("same"):
            assert statuses == [200, 201], (kind, [r.content for r in responses])
            first, again = sorted(responses, key=lambda r: -r.status_code)
            assert again.json() == first.json()
            assert again.headers["Idempotent-Replayed"] == "true"
        else:
            assert statuses == [201, 409], (kind, [r.content for r in responses])
            refused = next(r for r in responses if r.status_code == 409)
            assert refused.json()["error"]["code"] == "idempotency_conflict"
        won = next(r for r in responses if r.status_code == 201).json()
        purchase = Purchase.objects.get(external_id=bodies[0]["external_id"])
        assert purchase.pk == won["id"]
        assert purchase.points_redeemed == won["points_redeemed"]
        assert money_text(purchase.total_amount) == won["total_amount"]

    assert Purchase.objects.count() == pairs
    assert IdempotencyRecord.objects.filter(kind="transaction").count() == pairs
    account = PointAccount.objects.get(pk=member.pk)
    assert account.pending == sum(p.points_earned for p in Purchase.objects.all())
    assert_ledger_clean()


def test_a_deadlock_that_still_happens_is_run_again_not_answered_with_an_error(
    member, other_member
):
    """The second line of defence: two writes that lock two accounts in opposite orders
    deadlock; PostgreSQL rolls one back, and ``retry_on_conflict`` runs it again."""
    import threading

    from django.db import transaction

    from pos.services.idempotency import retry_on_conflict

    both_hold_one = threading.Barrier(2, timeout=30)
    attempts = [0, 0]

    def lock_both(i):
        first, second = (member.pk, other_member.pk) if i == 0 else (other_member.pk, member.pk)

        def work():
            attempts[i] += 1
            with transaction.atomic():
                PointAccount.objects.select_for_update().get(pk=first)
                if attempts[i] == 1:
                    both_hold_one.wait()
                PointAccount.objects.select_for_update().get(pk=second)
                PointAccount.objects.filter(pk=first).update(pending=F("pending") + 1)
            return attempts[i]

        return retry_on_conflict(work)

    results = run_together(2, lock_both)

    assert [kind for kind, _value in results] == ["ok", "ok"]
    assert sorted(attempts) == [1, 2]  # PostgreSQL chose one victim, which ran once more
    assert sorted(
        PointAccount.objects.filter(pk__in=[member.pk, other_member.pk]).values_list(
            "pending", flat=True
        )
    ) == [1, 1]


def test_returns_racing_for_the_last_units_never_give_back_more_than_was_bought(member, store):
    from pos.services.purchases import ReturnInput, purchase_return_record

    tv = {"sku": "TV", "category": "electronics", "quantity": 1}
    bought = purchase_record(
        store=store,
        data=PurchaseInput(
            external_id="R-TV",
            member=member.card_number,
            total_amount=Decimal("5000001"),
            items=[{**tv, "unit_price": Decimal("1")}, {**tv, "unit_price": Decimal("5000000")}],
        ),
    )
    assert bought.body["points_earned"] == 500

    def give_back(i):
        return purchase_return_record(
            store=store,
            purchase_external_id="R-TV",
            data=ReturnInput(external_id=f"RET-{i}", items=[{"sku": "TV", "quantity": 1}]),
        )

    results = run_together(6, give_back)

    assert sorted(kind for kind, _value in results) == ["ok", "ok"] + ["refused"] * 4
    assert [value for kind, value in results if kind == "refused"] == [
        "return_exceeds_purchase"
    ] * 4
    # Serialised by the purchase's lock: the dearer TV first, whichever request came first.
    assert sorted(value.body["points_reversed"] for kind, value in results if kind == "ok") == [
        1,
        499,
    ]
    purchase = Purchase.objects.get()
    assert (purchase.returned_amount, purchase.points_reversed) == (Decimal("5000001"), 500)
    assert PointAccount.objects.get(pk=member.pk).pending == 0
    assert_ledger_clean()

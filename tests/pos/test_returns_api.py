"""POST /api/v1/pos/transactions/{external_id}/returns/ through HTTP, against the contract."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from members.models import PointAccount, PointEntry, PointLot, Purchase, PurchaseReturn
from members.selectors import ledger_discrepancies, program_get
from members.services.points import points_adjust, points_grant, points_mature_due
from tests.pos.helpers import NOW, assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def give_points(member, points, key="welcome"):
    points_grant(
        member=member, points=points, idempotency_key=key, reason="test", program=program_get()
    )


def buy(pos, member, external_id="R-1", total="1250000", **extra):
    response = pos.purchase(
        {"external_id": external_id, "member": member.card_number, "total_amount": total, **extra}
    )
    assert response.status_code == 201, response.content
    return response.json()


def give_back(pos, purchase_id="R-1", **body):
    return pos.give_back(purchase_id, body)


def account_of(member):
    return PointAccount.objects.get(pk=member.pk)


def written():
    return (
        PurchaseReturn.objects.count(),
        PointEntry.objects.count(),
        sorted(PointLot.objects.values_list("pk", "remaining", "status")),
        sorted(PointAccount.objects.values_list("pk", "available", "pending")),
        list(Purchase.objects.values_list("returned_amount", "points_reversed", "points_refunded")),
    )


def test_a_partial_return_by_amount_reverses_points_in_proportion_rounded_down(pos, member):
    buy(pos, member)  # 1,250,000 -> 125 points

    response = give_back(pos, external_id="RET-1", amount="130000")

    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("points_reversed", "points_refunded", "balance", "tier")} == {
        "points_reversed": 13,  # 125 x 130,000 / 1,250,000 = 13.0
        "points_refunded": 0,
        "balance": {"available": 0, "pending": 112},
        "tier": {"code": "bronze", "name": "Đồng"},
    }
    response = give_back(pos, external_id="RET-2", amount="10000")
    assert response.json()["points_reversed"] == 1  # 14.0 in all, 13 already
    assert account_of(member).pending == 111
    assert ledger_discrepancies() == []


def test_repeated_partial_returns_add_up_exactly_to_the_full_earn(pos, member):
    buy(pos, member)

    reversed_each = []
    for n, amount in enumerate(["100000", "333333", "816667"], start=1):
        response = give_back(pos, external_id=f"RET-{n}", amount=amount)
        assert response.status_code == 201, response.content
        reversed_each.append(response.json()["points_reversed"])

    # From running totals: 10, 43 - 10, 125 - 43 (rounding each one alone would lose a point).
    assert reversed_each == [10, 33, 82]
    assert sum(reversed_each) == 125
    purchase = Purchase.objects.get()
    assert (purchase.returned_amount, purchase.points_reversed) == (Decimal("1250000"), 125)
    assert purchase.is_fully_returned
    account = account_of(member)
    assert (account.available, account.pending, account.lifetime_earned) == (0, 0, 0)
    assert PointLot.objects.get().status == "cancelled"


def test_returning_more_than_what_is_left_is_422(pos, member):
    buy(pos, member)
    assert give_back(pos, external_id="RET-1", amount="1000000").status_code == 201
    before = written()

    details = assert_error(
        give_back(pos, external_id="RET-2", amount="250001"), 422, "return_exceeds_purchase"
    )

    assert details == {"returnable_amount": "250000"}
    assert written() == before
    assert give_back(pos, external_id="RET-3", amount="250000").status_code == 201


def test_a_return_by_items_is_priced_from_the_purchase_and_limited_per_sku(pos, member):
    items = [
        {"sku": "CF-LATTE-L", "category": "coffee", "quantity": 2, "unit_price": "75000"},
        {"sku": "CAKE", "category": "bakery", "quantity": 1, "unit_price": "50000"},
    ]
    buy(pos, member, total="200000", items=items)  # 20 points

    # What the till says a latte costs now is not what it cost on the receipt.
    response = give_back(
        pos, external_id="RET-1", items=[{"sku": "CF-LATTE-L", "quantity": 1, "unit_price": "1"}]
    )

    assert response.status_code == 201, response.content
    assert response.json()["points_reversed"] == 7  # 20 x 75,000 / 200,000 = 7.5
    assert PurchaseReturn.objects.get().amount == Decimal("75000")
    before = written()

    details = assert_error(
        give_back(pos, external_id="RET-2", items=[{"sku": "CF-LATTE-L", "quantity": 2}]),
        422,
        "return_exceeds_purchase",
    )
    assert details == {"sku": "CF-LATTE-L", "returnable": 1}
    details = assert_error(
        give_back(pos, external_id="RET-3", items=[{"sku": "TEA", "quantity": 1}]),
        400,
        "validation_error",
    )
    assert "items" in details
    assert written() == before

    response = give_back(
        pos,
        external_id="RET-4",
        items=[{"sku": "CF-LATTE-L", "quantity": 1}, {"sku": "CAKE", "quantity": 1}],
    )
    assert response.status_code == 201, response.content
    assert response.json()["points_reversed"] == 13
    assert Purchase.objects.get().is_fully_returned


def test_a_return_inside_the_window_cancels_pending_points(pos, member):
    give_points(member, 100)
    buy(pos, member)

    response = give_back(pos, external_id="RET-1", amount="1250000")

    assert response.status_code == 201, response.content
    assert response.json()["balance"] == {"available": 100, "pending": 0}
    lot = PointLot.objects.get(purchase__external_id="R-1")
    assert (lot.status, lot.remaining) == ("cancelled", 0)
    reverse = PointEntry.objects.get(kind="reverse")
    assert (reverse.available_delta, reverse.pending_delta) == (0, -125)
    assert ledger_discrepancies() == []


def test_after_maturity_and_spending_a_return_leaves_a_negative_balance(pos, member, frozen_clock):
    buy(pos, member)
    frozen_clock.shift(timedelta(days=7))
    points_mature_due(today=date(2026, 3, 17))
    assert account_of(member).available == 125
    spent = buy(pos, member, "R-2", total="12500", redeem_points=125)
    assert spent["balance"] == {"available": 0, "pending": 0}

    response = give_back(pos, external_id="RET-1", amount="1250000")

    assert response.status_code == 201, response.content
    assert response.json()["points_reversed"] == 125
    assert response.json()["balance"] == {"available": -125, "pending": 0}
    assert ledger_discrepancies() == []
    assert_error(
        pos.purchase(
            {
                "external_id": "R-3",
                "member": member.card_number,
                "total_amount": "10000",
                "redeem_points": 1,
            }
        ),
        422,
        "insufficient_points",
    )
    # A debt stops paying with points, not buying: the new points will pay the debt.
    bought = buy(pos, member, "R-4", total="500000")
    assert bought["balance"] == {"available": -125, "pending": 50}


def test_a_return_after_staff_took_the_points_back_is_not_a_server_error(pos, member, support):
    back_dated = (NOW - timedelta(days=10)).isoformat()
    assert buy(pos, member, occurred_at=back_dated)["points_status"] == "available"
    points_adjust(
        member=member,
        points=-125,
        reason="Credited by mistake",
        acting_user=support,
        program=program_get(),
    )

    response = give_back(pos, external_id="RET-1", amount="1250000")

    assert response.status_code == 201, response.content
    assert response.json()["balance"] == {"available": -125, "pending": 0}
    assert ledger_discrepancies() == []


def test_points_that_paid_for_the_returned_part_come_back_in_proportion(pos, member):
    give_points(member, 1000)  # earned 2026-03-10: expires 2027-03-31
    bought = buy(pos, member, total="1000000", redeem_points=1000)
    assert (bought["amount_due"], bought["points_earned"]) == ("900000", 90)

    response = give_back(pos, external_id="RET-1", amount="250000")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["points_refunded"], body["points_reversed"]) == (250, 22)
    assert body["balance"] == {"available": 250, "pending": 68}
    refund = PointEntry.objects.get(kind="refund")
    assert (refund.available_delta, refund.purchase.external_id) == (250, "R-1")
    # Points given back keep the life they had: a return never extends it.
    assert refund.lot.expires_on == date(2027, 3, 31)

    body = give_back(pos, external_id="RET-2", amount="750000").json()
    assert (body["points_refunded"], body["points_reversed"]) == (750, 68)
    assert body["balance"] == {"available": 1000, "pending": 0}
    purchase = Purchase.objects.get()
    assert (purchase.points_refunded, purchase.points_reversed) == (1000, 90)
    assert ledger_discrepancies() == []


def test_points_given_back_by_a_return_no_longer_count_as_spent(pos, member):
    give_points(member, 1000)
    buy(pos, member, total="1000000", redeem_points=400)
    assert account_of(member).lifetime_spent == 400

    assert give_back(pos, external_id="RET-1", amount="1000000").status_code == 201

    account = account_of(member)
    assert account.available == 1000
    # A refund gives back what was spent (members.services.points._refund_spent says so):
    # lifetime_spent goes down, lifetime_earned does not go up.
    assert (account.lifetime_spent, account.lifetime_earned) == (0, 1000)


def test_a_return_is_idempotent_like_any_write(pos, member):
    buy(pos, member)
    first = give_back(pos, external_id="RET-1", amount="250000")
    assert first.status_code == 201, first.content
    after_first = written()

    again = give_back(pos, external_id="RET-1", amount="250000.00")

    assert again.status_code == 200, again.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert written() == after_first

    assert_error(give_back(pos, external_id="RET-1", amount="1000"), 409, "idempotency_conflict")
    assert written() == after_first


def test_a_return_may_carry_the_same_external_id_as_a_purchase(pos, member):
    """external_id is unique per store and per kind of write."""
    buy(pos, member, "R-1")
    response = give_back(pos, "R-1", external_id="R-1", amount="125000")
    assert response.status_code == 201, response.content
    assert response.json()["points_reversed"] == 12


def test_a_return_with_neither_amount_nor_items_is_400(pos, member):
    buy(pos, member)
    before = written()
    assert_error(give_back(pos, external_id="RET-1"), 400, "validation_error")
    assert_error(
        give_back(pos, external_id="RET-2", amount="1000", items=[{"sku": "X", "quantity": 1}]),
        400,
        "validation_error",
    )
    assert written() == before


def test_a_return_of_an_unknown_purchase_is_404(pos, member):
    assert_error(give_back(pos, "R-404", external_id="RET-1", amount="1000"), 404, "not_found")
    assert not PurchaseReturn.objects.exists()

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


# ---------------------------------------------------------------- returns by items, per line

TV_ON_TWO_LINES = [
    {"sku": "TV", "category": "electronics", "quantity": 1, "unit_price": "1"},
    {"sku": "TV", "category": "electronics", "quantity": 1, "unit_price": "5000000"},
]


def returns_written():
    return list(PurchaseReturn.objects.order_by("pk").values_list("external_id", "amount", "items"))


def test_all_units_of_a_sku_on_two_lines_back_is_a_full_return(pos, member):
    """The issue's example: every unit comes back at its own line's price, not the first's."""
    bought = buy(pos, member, total="5000001", items=TV_ON_TWO_LINES)
    assert bought["points_earned"] == 500

    response = give_back(pos, external_id="RET-1", items=[{"sku": "TV", "quantity": 2}])

    assert response.status_code == 201, response.content
    assert response.json()["points_reversed"] == 500
    assert response.json()["balance"] == {"available": 0, "pending": 0}
    purchase = Purchase.objects.get()
    assert purchase.returned_amount == Decimal("5000001")
    assert purchase.is_fully_returned
    assert (purchase.points_reversed, account_of(member).lifetime_earned) == (500, 0)
    assert ledger_discrepancies() == []


def test_units_come_back_dearest_line_first_and_never_more_than_were_bought(pos, member):
    buy(pos, member, total="5000001", items=TV_ON_TWO_LINES)

    first = give_back(pos, external_id="RET-1", items=[{"sku": "TV", "quantity": 1}])
    second = give_back(pos, external_id="RET-2", items=[{"sku": "TV", "quantity": 1}])

    assert first.status_code == 201, first.content
    assert second.status_code == 201, second.content
    # 500 x 5,000,000 / 5,000,001 = 499.9999: 499; then the 1 VND unit completes the return.
    assert (first.json()["points_reversed"], second.json()["points_reversed"]) == (499, 1)
    assert [amount for _id, amount, _items in returns_written()] == [
        Decimal("5000000"),
        Decimal("1"),
    ]
    assert Purchase.objects.get().is_fully_returned
    before = written()

    details = assert_error(
        give_back(pos, external_id="RET-3", items=[{"sku": "TV", "quantity": 1}]),
        422,
        "return_exceeds_purchase",
    )

    assert details == {"sku": "TV", "returnable": 0}
    assert written() == before


def test_more_units_than_bought_over_several_returns_is_422_and_changes_nothing(pos, member):
    items = [*TV_ON_TWO_LINES, {"sku": "TV", "quantity": 2, "unit_price": "2000000"}]
    buy(pos, member, total="9000001", items=items)  # four TVs
    assert (
        give_back(pos, external_id="RET-1", items=[{"sku": "TV", "quantity": 3}]).json()[
            "points_reversed"
        ]
        == 899
    )  # 9,000,000 of 9,000,001: the 5,000,000 line and the two at 2,000,000
    before = written()

    details = assert_error(
        give_back(pos, external_id="RET-2", items=[{"sku": "TV", "quantity": 2}]),
        422,
        "return_exceeds_purchase",
    )

    assert details == {"sku": "TV", "returnable": 1}
    # The same SKU twice in one return counts both.
    assert_error(
        give_back(
            pos,
            external_id="RET-3",
            items=[{"sku": "TV", "quantity": 1}, {"sku": "TV", "quantity": 1}],
        ),
        422,
        "return_exceeds_purchase",
    )
    assert written() == before
    last = give_back(pos, external_id="RET-4", items=[{"sku": "TV", "quantity": 1}])
    assert last.status_code == 201, last.content
    assert last.json()["points_reversed"] == 1
    assert Purchase.objects.get().returned_amount == Decimal("9000001")


def test_a_return_of_several_skus_prices_each_from_its_own_lines(pos, member):
    items = [
        {"sku": "CAKE", "category": "bakery", "quantity": 2, "unit_price": "50000"},
        *TV_ON_TWO_LINES,
        {"sku": "CAKE", "category": "bakery", "quantity": 1, "unit_price": "80000"},
    ]
    buy(pos, member, total="5180001", items=items)  # 518 points

    response = give_back(
        pos,
        external_id="RET-1",
        items=[{"sku": "CAKE", "quantity": 2}, {"sku": "TV", "quantity": 1}],
    )

    assert response.status_code == 201, response.content
    # The 80,000 cake, one 50,000 cake and the 5,000,000 TV.
    ((_id, amount, lines),) = returns_written()
    assert amount == Decimal("5130000")
    assert lines == [
        {"sku": "CAKE", "quantity": 2, "amount": "130000"},
        {"sku": "TV", "quantity": 1, "amount": "5000000"},
    ]
    assert response.json()["points_reversed"] == 512  # 518 x 5,130,000 / 5,180,001 = 512.9
    rest = give_back(
        pos,
        external_id="RET-2",
        items=[{"sku": "TV", "quantity": 1}, {"sku": "CAKE", "quantity": 1}],
    )
    assert rest.json()["points_reversed"] == 6
    assert Purchase.objects.get().returned_amount == Decimal("5180001")


def test_goods_sold_by_weight_come_back_by_weight_and_add_up_to_the_line(pos, member):
    # 1.5 kg at 333,333 comes to 499,999.5: 500,000 VND on the receipt.
    items = [{"sku": "BEEF", "category": "meat", "quantity": "1.5", "unit_price": "333333"}]
    buy(pos, member, total="500000", items=items)  # 50 points

    first = give_back(pos, external_id="RET-1", items=[{"sku": "BEEF", "quantity": "0.5"}])
    assert first.status_code == 201, first.content
    assert first.json()["points_reversed"] == 16  # 166,666.5 -> 166,667 of 500,000: 16.7
    before = written()
    details = assert_error(
        give_back(pos, external_id="RET-2", items=[{"sku": "BEEF", "quantity": "1.001"}]),
        422,
        "return_exceeds_purchase",
    )
    assert details == {"sku": "BEEF", "returnable": 1}
    assert written() == before
    second = give_back(pos, external_id="RET-3", items=[{"sku": "BEEF", "quantity": 1}])

    assert second.status_code == 201, second.content
    assert second.json()["points_reversed"] == 34
    assert [(amount, lines) for _id, amount, lines in returns_written()] == [
        (Decimal("166667"), [{"sku": "BEEF", "quantity": "0.5", "amount": "166667"}]),
        (Decimal("333333"), [{"sku": "BEEF", "quantity": 1, "amount": "333333"}]),
    ]
    assert Purchase.objects.get().is_fully_returned


def test_a_weight_on_two_lines_comes_back_from_the_dearer_line_first(pos, member):
    items = [
        {"sku": "BEEF", "quantity": "1.5", "unit_price": "200000"},  # 300,000
        {"sku": "BEEF", "quantity": "0.25", "unit_price": "400000"},  # 100,000
    ]
    buy(pos, member, total="400000", items=items)

    response = give_back(pos, external_id="RET-1", items=[{"sku": "BEEF", "quantity": "0.5"}])

    assert response.status_code == 201, response.content
    # 0.25 kg at 400,000 and 0.25 kg at 200,000.
    assert PurchaseReturn.objects.get().amount == Decimal("150000")
    details = assert_error(
        give_back(pos, external_id="RET-2", items=[{"sku": "BEEF", "quantity": "1.251"}]),
        422,
        "return_exceeds_purchase",
    )
    assert details == {"sku": "BEEF", "returnable": "1.25"}


def test_items_worth_nothing_on_the_purchase_are_refused_and_change_nothing(pos, member):
    items = [
        {"sku": "TV", "quantity": 1, "unit_price": "5000000"},
        {"sku": "GIFT", "quantity": 1, "unit_price": "0"},
    ]
    buy(pos, member, total="5000000", items=items)
    before = written()

    details = assert_error(
        give_back(pos, external_id="RET-1", items=[{"sku": "GIFT", "quantity": 1}]),
        400,
        "validation_error",
    )

    assert "items" in details
    assert written() == before


def test_all_items_back_is_a_full_return_that_gives_the_voucher_back(pos, member):
    from rewards.models import Reward, Voucher
    from rewards.services import reward_redeem

    reward = Reward.objects.create(
        code="giam-50k",
        kind="amount",
        name="Giảm 50.000đ",
        points_cost=500,
        discount_amount=Decimal("50000"),
        min_spend=Decimal("200000"),
        voucher_valid_days=30,
    )
    give_points(member, 500)
    voucher = reward_redeem(member=member, reward=reward)
    bought = buy(pos, member, total="5000001", items=TV_ON_TWO_LINES, voucher_codes=[voucher.code])
    assert (bought["voucher_discount"], bought["points_earned"]) == ("50000", 495)
    assert Voucher.objects.get(pk=voucher.pk).status == "used"

    response = give_back(pos, external_id="RET-1", items=[{"sku": "TV", "quantity": 2}])

    assert response.status_code == 201, response.content
    assert (response.json()["points_reversed"], response.json()["vouchers_restored"]) == (495, 1)
    assert Voucher.objects.get(pk=voucher.pk).status == "issued"
    assert ledger_discrepancies() == []

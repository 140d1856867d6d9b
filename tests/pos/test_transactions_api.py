"""POST /api/v1/pos/transactions/ and /quote/ through HTTP, against the contract."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache

from members.identifiers import card_number_generate
from members.models import EarnCategoryRule, PointAccount, PointEntry, PointLot, Purchase
from members.selectors import program_get
from members.services import member_block
from members.services.points import points_grant
from pos import urls as pos_urls
from pos.models import IdempotencyRecord
from pos.services import api_key_revoke
from tests.pos.helpers import NOW, PosClient, assert_error

pytestmark = pytest.mark.django_db

CONTRACT_FIELDS = {
    "id",
    "external_id",
    "member",
    "total_amount",
    "voucher_discount",
    "points_discount",
    "amount_due",
    "points_earned",
    "points_status",
    "points_redeemed",
    "balance",
    "tier",
    "tier_changed",
}


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def give_points(member, points, key="welcome"):
    points_grant(
        member=member, points=points, idempotency_key=key, reason="test", program=program_get()
    )


def sale(member, external_id="R-000123", total="1250000", **extra):
    return {
        "external_id": external_id,
        "member": member.card_number,
        "total_amount": total,
        **extra,
    }


def written():
    """What a write leaves behind, to show that something wrote nothing."""
    return (
        Purchase.objects.count(),
        PointEntry.objects.count(),
        PointLot.objects.count(),
        IdempotencyRecord.objects.count(),
        sorted(PointAccount.objects.values_list("pk", "available", "pending")),
    )


# ---------------------------------------------------------------- a purchase


def test_purchase_answers_the_contract_body_money_as_strings_points_as_integers(pos, member):
    response = pos.purchase(sale(member))

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= CONTRACT_FIELDS
    purchase = Purchase.objects.get()
    assert {k: body[k] for k in CONTRACT_FIELDS} == {
        "id": purchase.pk,
        "external_id": "R-000123",
        "member": member.card_number,
        "total_amount": "1250000",
        "voucher_discount": "0",
        "points_discount": "0",
        "amount_due": "1250000",
        "points_earned": 125,
        "points_status": "pending",
        "points_redeemed": 0,
        "balance": {"available": 0, "pending": 125},
        "tier": {"code": "bronze", "name": "Đồng"},
        "tier_changed": False,
    }
    assert response.headers.get("Idempotent-Replayed") is None
    assert (purchase.store.code, purchase.member, purchase.occurred_at) == ("HCM01", member, NOW)
    assert (purchase.amount_due, purchase.points_earned) == (Decimal("1250000"), 125)
    account = PointAccount.objects.get(pk=member.pk)
    assert (account.available, account.pending) == (0, 125)


def test_money_with_cents_comes_back_as_a_decimal_string(pos, member):
    # A programme in a currency with cents (VND has none: see test_contract_input).
    program = program_get()
    program.currency = "USD"
    program.save()
    response = pos.purchase(sale(member, total="19999.50"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["total_amount"], body["amount_due"], body["points_earned"]) == (
        "19999.5",
        "19999.5",
        1,
    )


def test_points_are_earned_on_the_amount_due_after_paying_with_points(pos, member):
    give_points(member, 500)

    response = pos.purchase(sale(member, redeem_points=100))

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["points_redeemed"], body["points_discount"], body["amount_due"]) == (
        100,
        "10000",
        "1240000",
    )
    assert body["points_earned"] == 124
    assert body["balance"] == {"available": 400, "pending": 124}
    spend = PointEntry.objects.get(kind="spend")
    assert (spend.available_delta, spend.purchase.external_id) == (-100, "R-000123")


def test_items_must_add_up_to_the_total(pos, member):
    before = written()
    response = pos.purchase(
        sale(
            member,
            total="1250000",
            items=[{"sku": "CF-LATTE-L", "quantity": 2, "unit_price": "75000"}],
        )
    )
    details = assert_error(response, 400, "validation_error")
    assert "items" in details
    assert written() == before


def test_a_category_rule_with_multiplier_zero_excludes_that_items_share(pos, member):
    EarnCategoryRule.objects.create(category="gift-card", multiplier=Decimal("0"))

    response = pos.purchase(
        sale(
            member,
            items=[
                {"sku": "CF-LATTE-L", "category": "coffee", "quantity": 2, "unit_price": "75000"},
                {"sku": "GC-1M", "category": "gift-card", "quantity": 1, "unit_price": "1100000"},
            ],
        )
    )

    assert response.status_code == 201, response.content
    assert response.json()["points_earned"] == 15  # only the 150,000 of coffee earns


def test_points_are_rounded_down_once_for_the_whole_purchase(pos, member):
    EarnCategoryRule.objects.create(category="coffee", multiplier=Decimal("1.5"))
    items = [
        {"sku": "CF-1", "category": "coffee", "quantity": 1, "unit_price": "13000"},
        {"sku": "CF-2", "category": "coffee", "quantity": 1, "unit_price": "13000"},
    ]
    # 1.95 + 1.95 = 3.9 -> 3 (rounding each line would give 1 + 1 = 2).
    response = pos.purchase(sale(member, "R-1", total="26000", items=items))
    assert response.status_code == 201, response.content
    assert response.json()["points_earned"] == 3

    response = pos.purchase(sale(member, "R-2", total="39999"))
    assert response.json()["points_earned"] == 3


def test_another_currency_is_refused(pos, member):
    details = assert_error(pos.purchase(sale(member, currency="USD")), 400, "validation_error")
    assert "currency" in details
    assert not Purchase.objects.exists()
    assert pos.purchase(sale(member, currency="VND")).status_code == 201


def test_a_time_in_the_future_beyond_the_clock_skew_is_refused(pos, member):
    later = (NOW + timedelta(minutes=10)).isoformat()
    details = assert_error(pos.purchase(sale(member, occurred_at=later)), 400, "validation_error")
    assert "occurred_at" in details

    within_skew = (NOW + timedelta(minutes=4)).isoformat()
    assert pos.purchase(sale(member, occurred_at=within_skew)).status_code == 201


def test_a_naive_time_is_read_in_ho_chi_minh_city(pos, member):
    # 10:03 without an offset: three minutes from now in Vietnam (UTC+7), seven hours
    # ahead if it were read as UTC.
    response = pos.purchase(sale(member, occurred_at="2026-03-10T10:03:00"))
    assert response.status_code == 201, response.content
    assert Purchase.objects.get().occurred_at == NOW + timedelta(minutes=3)


def test_a_back_dated_purchase_is_accepted_within_30_days_and_refused_beyond(pos, member):
    almost_30_days = (NOW - timedelta(days=30) + timedelta(minutes=1)).isoformat()
    response = pos.purchase(sale(member, "R-OLD", occurred_at=almost_30_days))
    assert response.status_code == 201, response.content
    assert response.json()["points_status"] == "available"  # its return window is over
    assert response.json()["balance"] == {"available": 125, "pending": 0}

    too_old = (NOW - timedelta(days=30, minutes=1)).isoformat()
    details = assert_error(
        pos.purchase(sale(member, "R-OLDER", occurred_at=too_old)), 400, "validation_error"
    )
    assert "occurred_at" in details
    assert list(Purchase.objects.values_list("external_id", flat=True)) == ["R-OLD"]


@pytest.mark.parametrize("who", ["card", "phone", "email"])
def test_an_unknown_member_is_404(pos, member, who):
    unknown_card = card_number_generate()
    while unknown_card == member.card_number:
        unknown_card = card_number_generate()
    body = sale(member)
    body["member"] = {"card": unknown_card, "phone": "0999 999 999", "email": "no@example.com"}[who]
    before = written()
    assert_error(pos.purchase(body), 404, "not_found")
    assert_error(pos.quote(body), 404, "not_found")
    assert written() == before


def test_a_blocked_member_is_422(pos, member, support):
    member_block(member=member, reason="Fraud suspected", acting_user=support)
    before = written()
    assert_error(pos.purchase(sale(member)), 422, "member_blocked")
    assert written() == before


def test_redeeming_more_than_the_balance_is_422_insufficient_points(pos, member):
    give_points(member, 50)
    before = written()
    details = assert_error(pos.purchase(sale(member, redeem_points=51)), 422, "insufficient_points")
    assert details == {"available": 50, "requested": 51}
    assert written() == before


def test_points_worth_more_than_the_amount_are_422_redeem_exceeds_amount(pos, member):
    give_points(member, 5000)
    before = written()
    details = assert_error(
        pos.purchase(sale(member, total="100000", redeem_points=1001)),
        422,
        "redeem_exceeds_amount",
    )
    assert details["max_redeemable_points"] == 1000
    assert written() == before
    # Exactly the amount is fine: nothing is left to pay, so nothing is earned.
    response = pos.purchase(sale(member, total="100000", redeem_points=1000))
    assert response.status_code == 201, response.content
    assert (response.json()["amount_due"], response.json()["points_earned"]) == ("0", 0)


def test_unknown_fields_are_ignored_and_nothing_the_client_says_about_points_is_trusted(
    pos, member
):
    body = sale(
        member,
        points_earned=99999,
        amount_due="1",
        loyalty_tier="diamond",
        items=[
            {"sku": "X", "quantity": 1, "unit_price": "1250000", "cost": "1", "discount": "9"},
        ],
    )
    response = pos.purchase(body)
    assert response.status_code == 201, response.content
    assert (response.json()["points_earned"], response.json()["amount_due"]) == (125, "1250000")
    assert Purchase.objects.get().items == [
        {"sku": "X", "name": "", "category": "", "quantity": 1, "unit_price": "1250000"}
    ]


# ---------------------------------------------------------------- idempotency


def test_the_same_external_id_and_body_replays_the_first_response_and_writes_nothing(pos, member):
    give_points(member, 300)
    first = pos.purchase(sale(member, redeem_points=100))
    assert first.status_code == 201, first.content
    after_first = written()

    # The same request, written differently: "1250000.00" is "1250000", plus an unknown field.
    again = pos.purchase(sale(member, total="1250000.00", redeem_points=100, note="retry"))

    assert again.status_code == 200, again.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert written() == after_first


def test_the_same_external_id_with_another_body_is_409(pos, member):
    pos.purchase(sale(member))
    after_first = written()
    details = assert_error(pos.purchase(sale(member, total="990000")), 409, "idempotency_conflict")
    assert details == {"external_id": "R-000123"}
    assert written() == after_first


def test_a_refused_write_can_be_retried_with_the_same_external_id(pos, member):
    assert_error(pos.purchase(sale(member, redeem_points=10)), 422, "insufficient_points")
    give_points(member, 10)
    response = pos.purchase(sale(member, redeem_points=10))
    assert response.status_code == 201, response.content
    assert response.json()["points_redeemed"] == 10


def test_the_same_external_id_at_another_store_is_another_purchase(pos, other_pos, member):
    first = pos.purchase(sale(member))
    second = other_pos.purchase(sale(member))

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert sorted(Purchase.objects.values_list("store__code", "external_id")) == [
        ("HCM01", "R-000123"),
        ("HN01", "R-000123"),
    ]
    assert second.json()["balance"] == {"available": 0, "pending": 250}


# ---------------------------------------------------------------- quote


def test_quote_writes_nothing_and_says_how_many_points_could_pay(pos, member):
    give_points(member, 500)
    before = written()

    response = pos.quote({"member": member.card_number, "total_amount": "30000"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["max_redeemable_points"] == 300  # 30,000 VND at 100 VND a point
    assert (body["points_earned"], body["points_status"], body["amount_due"]) == (
        3,
        "pending",
        "30000",
    )
    assert body["balance"] == {"available": 500, "pending": 0}
    assert set(body) >= CONTRACT_FIELDS

    response = pos.quote(
        {"member": member.card_number, "total_amount": "30000", "redeem_points": 100}
    )
    assert (response.json()["amount_due"], response.json()["points_earned"]) == ("20000", 2)
    assert response.json()["max_redeemable_points"] == 300
    assert written() == before


def test_quote_applies_the_same_rules_as_a_purchase(pos, member):
    give_points(member, 20)
    assert_error(
        pos.quote({"member": member.card_number, "total_amount": "30000", "redeem_points": 21}),
        422,
        "insufficient_points",
    )
    assert (
        pos.quote({"member": member.card_number, "total_amount": "30000"}).json()[
            "max_redeemable_points"
        ]
        == 20
    )


# ---------------------------------------------------------------- stores and keys


def test_a_store_key_cannot_return_another_stores_purchase(pos, other_pos, member):
    pos.purchase(sale(member))
    before = written()

    response = other_pos.give_back("R-000123", {"external_id": "RET-1", "amount": "1250000"})

    assert_error(response, 404, "not_found")
    assert written() == before


def test_no_key_a_wrong_key_or_a_revoked_key_is_401(client, store_key, member):
    row, raw = store_key
    url = "/api/v1/pos/transactions/"
    body = sale(member)
    assert_error(client.post(url, body, content_type="application/json"), 401, "not_authenticated")
    wrong = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    assert_error(PosClient(client, wrong).purchase(body), 401, "not_authenticated")
    assert not Purchase.objects.exists()

    # A key that worked a moment ago stops working as soon as it is revoked.
    assert PosClient(client, raw).quote(body).status_code == 200
    api_key_revoke(api_key=row)
    assert_error(PosClient(client, raw).purchase(body), 401, "not_authenticated")
    assert not Purchase.objects.exists()


def test_requests_beyond_the_rate_are_429_throttled_with_retry_after(
    pos, other_pos, member, settings
):
    settings.POS_API_THROTTLE_RATE = "3/min"
    cache.clear()
    for n in range(3):
        assert (
            pos.quote({"member": member.card_number, "total_amount": "10000"}).status_code == 200
        ), n

    response = pos.purchase(sale(member))

    details = assert_error(response, 429, "throttled")
    assert int(response.headers["Retry-After"]) > 0
    assert details["retry_after"] == int(response.headers["Retry-After"])
    assert not Purchase.objects.exists()
    # The rate is per key: another store's till is not held back.
    assert other_pos.purchase(sale(member)).status_code == 201


# ---------------------------------------------------------------- OpenAPI


def _openapi_path(route: str) -> str:
    return "/api/v1/pos/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def test_the_schema_lists_every_pos_path_with_request_examples(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]

    # Routes that differ only by a trailing slash are one endpoint (``members/lookup/`` is an
    # alias for tills that add one): each endpoint is documented under one of its routes.
    endpoints: dict[str, set[str]] = {}
    for pattern in pos_urls.urlpatterns:
        route = _openapi_path(str(pattern.pattern))
        endpoints.setdefault(route.rstrip("/"), set()).add(route)
    undocumented = [routes for routes in endpoints.values() if not routes & set(paths)]
    assert undocumented == []
    expected = {route for routes in endpoints.values() for route in routes if route in paths}
    for path in expected:
        for method, operation in paths[path].items():
            assert operation.get("security"), (path, method)
            if method == "post":
                examples = operation["requestBody"]["content"]["application/json"]["examples"]
                assert examples, path
                assert all("value" in example for example in examples.values()), path
            else:
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "query":
                        assert parameter.get("examples"), (path, parameter["name"])
    post_paths = {p for p in expected if "post" in paths[p]}
    assert post_paths == {
        "/api/v1/pos/members/",
        "/api/v1/pos/quote/",
        "/api/v1/pos/transactions/",
        "/api/v1/pos/transactions/{external_id}/returns/",
        "/api/v1/pos/members/{card_number}/rewards/{reward_id}/redeem/",
    }

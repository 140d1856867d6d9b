"""Malformed input to the POS API: every case gets the contract's 4xx body and writes nothing
(shared/pos-api.md, Conventions: money, points, quantities, external ids, body size, times,
path parameters). And the edge of what is accepted: decimal quantities for goods sold by
weight, receipt numbers with a slash returned through a percent-encoded path."""

from __future__ import annotations

import json
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.db import OperationalError, connection

from members.models import Member, PointAccount, PointEntry, PointLot, Purchase, PurchaseReturn
from members.selectors import program_get
from members.services.points import points_grant
from pos.models import IdempotencyRecord
from rewards.models import Voucher
from tests.pos.helpers import BASE, NOW, assert_error
from tests.rewards.conftest import make_reward

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ready(member, pos):
    """A member with points to spend, a recorded purchase to return against, and a reward."""
    points_grant(
        member=member, points=1000, idempotency_key="seed", reason="test", program=program_get()
    )
    response = pos.purchase(
        {
            "external_id": "R-1",
            "member": member.card_number,
            "total_amount": "300000",
            "items": [{"sku": "TV", "quantity": 3, "unit_price": "100000"}],
        }
    )
    assert response.status_code == 201, response.content
    reward = make_reward(points_cost=100)
    return {"card": member.card_number, "reward": reward.pk}


def snapshot() -> dict:
    """Everything a POS write could change."""
    return {
        "purchases": Purchase.objects.count(),
        "returns": PurchaseReturn.objects.count(),
        "entries": PointEntry.objects.count(),
        "lots": sorted(PointLot.objects.values_list("pk", "remaining")),
        "accounts": sorted(PointAccount.objects.values_list("pk", "available", "pending")),
        "idempotency": IdempotencyRecord.objects.count(),
        "members": Member.objects.count(),
        "vouchers": Voucher.objects.count(),
    }


def sale(card, **fields):
    return {"external_id": "R-NEW", "member": card, "total_amount": "250000", **fields}


def item(**fields):
    return {"sku": "TV", "quantity": 1, "unit_price": "250000", **fields}


NESTED = (
    '{"external_id": "R-N", "member": "x", "total_amount": "1", "items": '
    + ("[" * 10_000 + "]" * 10_000)
    + "}"
)
BIG_INT = (
    '{"external_id": "R-B", "member": "x", "total_amount": "1", "redeem_points": '
    + ("9" * 5000)
    + "}"
)

# (case, method, path, body, status, code). ``path`` and ``body`` may use {card} and
# {reward}; a ``str`` body is sent as it is (raw JSON), a dict as JSON.
CASES = [
    # Times a calendar cannot hold, or no till can mean.
    ("year 1", "post", "/transactions/", sale("{card}", occurred_at="0001-01-01T00:00:00+07:00"), 400, "validation_error"),
    ("year 9999 west", "post", "/transactions/", sale("{card}", occurred_at="9999-12-31T23:59:59-12:00"), 400, "validation_error"),
    ("time not a time", "post", "/transactions/", sale("{card}", occurred_at="yesterday"), 400, "validation_error"),
    # Points are JSON integers from 0 to 10^9.
    ("redeem 10^30", "post", "/transactions/", sale("{card}", redeem_points=10**30), 400, "validation_error"),
    ("quote redeem 10^30", "post", "/quote/", {"member": "{card}", "total_amount": "1000", "redeem_points": 10**30}, 400, "validation_error"),
    ("redeem as a string", "post", "/transactions/", sale("{card}", redeem_points="10"), 400, "validation_error"),
    ("redeem as a boolean", "post", "/transactions/", sale("{card}", redeem_points=True), 400, "validation_error"),
    ("redeem negative", "post", "/transactions/", sale("{card}", redeem_points=-1), 400, "validation_error"),
    ("redeem 5000 digits", "post", "/transactions/", BIG_INT, 400, "validation_error"),
    # Money is a decimal string no finer than the currency's minor unit (VND: none).
    ("money as a JSON number", "post", "/transactions/", sale("{card}", total_amount=100000.5), 400, "validation_error"),
    ("money as a JSON integer", "post", "/transactions/", sale("{card}", total_amount=100000), 400, "validation_error"),
    ("money with an exponent", "post", "/transactions/", sale("{card}", total_amount="1e5"), 400, "validation_error"),
    ("money NaN", "post", "/transactions/", sale("{card}", total_amount="NaN"), 400, "validation_error"),
    ("money Infinity", "post", "/transactions/", sale("{card}", total_amount="Infinity"), 400, "validation_error"),
    ("money negative", "post", "/transactions/", sale("{card}", total_amount="-5"), 400, "validation_error"),
    ("money empty", "post", "/transactions/", sale("{card}", total_amount=""), 400, "validation_error"),
    ("money finer than a đồng", "post", "/transactions/", sale("{card}", total_amount="100000.5"), 400, "validation_error"),
    ("money above the largest total", "post", "/transactions/", sale("{card}", total_amount="99999999999999.99"), 400, "validation_error"),
    ("one đồng above the largest total", "post", "/transactions/", sale("{card}", total_amount="1000000001"), 400, "validation_error"),
    ("quote money as a number", "post", "/quote/", {"member": "{card}", "total_amount": 1000}, 400, "validation_error"),
    ("unit price finer than a đồng", "post", "/transactions/", sale("{card}", items=[item(unit_price="250000.5")], total_amount="250000.5"), 400, "validation_error"),
    ("bare NaN literal", "post", "/transactions/", '{"external_id": "R-X", "member": "x", "total_amount": NaN}', 400, "validation_error"),
    ("another currency", "post", "/transactions/", sale("{card}", currency="USD"), 400, "validation_error"),
    # Quantities: positive, at most 3 decimals, at most 100,000.
    ("quantity 10^30", "post", "/transactions/", sale("{card}", items=[item(quantity=10**30)]), 400, "validation_error"),
    ("quantity 0", "post", "/transactions/", sale("{card}", items=[item(quantity=0)]), 400, "validation_error"),
    ("quantity negative", "post", "/transactions/", sale("{card}", items=[item(quantity=-1)]), 400, "validation_error"),
    ("quantity 4 decimals", "post", "/transactions/", sale("{card}", items=[item(quantity="1.2345")]), 400, "validation_error"),
    ("quantity 4 decimals as a number", "post", "/transactions/", sale("{card}", items=[item(quantity=1.2345)]), 400, "validation_error"),
    ("quantity above 100,000", "post", "/transactions/", sale("{card}", items=[item(quantity=100001)]), 400, "validation_error"),
    ("quantity as a boolean", "post", "/transactions/", sale("{card}", items=[item(quantity=True)]), 400, "validation_error"),
    ("items that do not add up", "post", "/transactions/", sale("{card}", items=[item(unit_price="1")]), 400, "validation_error"),
    # external_id: 1 to 64 printable characters.
    ("external id with a control character", "post", "/transactions/", sale("{card}", external_id="R-\x01"), 400, "validation_error"),
    ("external id with a NUL", "post", "/transactions/", sale("{card}", external_id="R-\x00"), 400, "validation_error"),
    ("external id with a newline", "post", "/transactions/", sale("{card}", external_id="R-1\n"), 400, "validation_error"),
    ("external id empty", "post", "/transactions/", sale("{card}", external_id=""), 400, "validation_error"),
    ("external id of 65 characters", "post", "/transactions/", sale("{card}", external_id="R" * 65), 400, "validation_error"),
    ("enrol external id with a tab", "post", "/members/", {"external_id": "E\t1", "full_name": "An", "phone": "0911111111"}, 400, "validation_error"),
    ("redeem external id with a control character", "post", "/members/{card}/rewards/{reward}/redeem/", {"external_id": "D\x7f"}, 400, "validation_error"),
    # Bodies: malformed, too deep, too large, not JSON.
    ("JSON nested 10,000 deep", "post", "/transactions/", NESTED, 400, "validation_error"),
    ("not JSON", "post", "/transactions/", "{'external_id': ", 400, "validation_error"),
    ("a JSON list", "post", "/transactions/", "[1, 2]", 400, "validation_error"),
    ("body over 1 MiB", "post", "/transactions/", json.dumps(sale("x", name="a" * (1024 * 1024))), 413, "payload_too_large"),
    ("10 MB body", "post", "/quote/", "{" + " " * (10 * 1024 * 1024) + "}", 413, "payload_too_large"),
    # Returns: the same rules for money, quantities and ids.
    ("return amount finer than a đồng", "post", "/transactions/R-1/returns/", {"external_id": "RET-1", "amount": "100.5"}, 400, "validation_error"),
    ("return amount as a number", "post", "/transactions/R-1/returns/", {"external_id": "RET-1", "amount": 100}, 400, "validation_error"),
    ("return quantity 4 decimals", "post", "/transactions/R-1/returns/", {"external_id": "RET-1", "items": [{"sku": "TV", "quantity": "0.0001"}]}, 400, "validation_error"),
    ("return quantity 10^30", "post", "/transactions/R-1/returns/", {"external_id": "RET-1", "items": [{"sku": "TV", "quantity": 10**30}]}, 400, "validation_error"),
    ("return external id with a control character", "post", "/transactions/R-1/returns/", {"external_id": "RET\x1b", "amount": "1000"}, 400, "validation_error"),
    # A NUL or control character in a path parameter or the lookup names nothing.
    ("NUL in a card's tier path", "get", "/members/%00/tier/", None, 404, "not_found"),
    ("NUL in a card's rewards path", "get", "/members/{card}%00/rewards/", None, 404, "not_found"),
    ("NUL in the redeem path", "post", "/members/%00/rewards/{reward}/redeem/", {"external_id": "D-1"}, 404, "not_found"),
    ("NUL in the returns path", "post", "/transactions/R-1%00/returns/", {"external_id": "RET-2", "amount": "1000"}, 404, "not_found"),
    ("NUL in a voucher code", "get", "/vouchers/AB%00CD/", None, 404, "not_found"),
    ("escape in a card's tier path", "get", "/members/%1B/tier/", None, 404, "not_found"),
    ("NUL in the lookup", "get", "/members/lookup?q=%00", None, 404, "not_found"),
    ("NUL in a phone in the lookup", "get", "/members/lookup?q=0912%00345678", None, 404, "not_found"),
]  # fmt: skip


def _fill(value, context):
    if isinstance(value, str):
        return value.replace("{card}", context["card"]).replace("{reward}", str(context["reward"]))
    if isinstance(value, dict):
        return {k: _fill(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, context) for v in value]
    return value


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_malformed_input_gets_the_contract_error_and_writes_nothing(
    client, pos, ready, method, path, body, status, code
):
    path = _fill(path, ready)
    before = snapshot()
    if method == "get":
        response = client.get(f"{BASE}{path}", **pos.auth)
    else:
        data = body if isinstance(body, str) else json.dumps(_fill(body, ready))
        response = client.post(f"{BASE}{path}", data, content_type="application/json", **pos.auth)
    assert_error(response, status, code)
    assert snapshot() == before


def test_a_validation_error_names_the_field(pos, ready):
    details = assert_error(
        pos.purchase(sale(ready["card"], total_amount=100000.5)), 400, "validation_error"
    )
    assert set(details) == {"total_amount"}
    details = assert_error(
        pos.purchase(sale(ready["card"], items=[item(quantity="1.2345")])),
        400,
        "validation_error",
    )
    assert set(details) == {"items"}


def test_a_body_not_sent_as_json_is_415(client, pos, ready):
    before = snapshot()
    response = client.post(
        f"{BASE}/transactions/", "external_id=R-9", content_type="text/plain", **pos.auth
    )
    assert_error(response, 415, "validation_error")
    assert snapshot() == before


# ---------------------------------------------------------------- what the contract accepts


def test_money_with_zero_cents_is_whole_dong(pos, ready):
    response = pos.purchase(sale(ready["card"], total_amount="125000.00"))
    assert response.status_code == 201, response.content
    assert response.json()["total_amount"] == "125000"


def test_the_largest_total_is_accepted_and_earns_its_points(pos, ready):
    response = pos.purchase(sale(ready["card"], total_amount="1000000000"))
    assert response.status_code == 201, response.content
    assert response.json()["points_earned"] == 100_000  # 1 point per 10,000 VND


def test_the_programme_sets_the_largest_total(pos, ready):
    program = program_get()
    program.max_purchase_total = Decimal("500000")
    program.save()
    assert_error(pos.purchase(sale(ready["card"], total_amount="500001")), 400, "validation_error")
    assert pos.purchase(sale(ready["card"], total_amount="500000")).status_code == 201


@pytest.mark.parametrize("quantity", ["1.5", Decimal("1.5")], ids=["string", "number"])
def test_goods_sold_by_weight_take_three_decimals(client, pos, ready, quantity):
    body = sale(
        ready["card"],
        total_amount="150000",
        items=[{"sku": "RICE-KG", "quantity": quantity, "unit_price": "100000"}],
    )
    # A JSON number as the till writes it (1.5), not a float the test rounds.
    text = json.dumps(body, default=lambda d: float(d))
    response = client.post(
        f"{BASE}/transactions/", text, content_type="application/json", **pos.auth
    )
    assert response.status_code == 201, response.content
    assert response.json()["points_earned"] == 15
    stored = Purchase.objects.get(external_id="R-NEW").items
    assert Decimal(str(stored[0]["quantity"])) == Decimal("1.5")


def test_a_weight_line_rounds_to_the_dong(pos, ready):
    # 1.234 kg at 99,999 VND is 123,398.766 VND: the line comes to 123,399 VND.
    body = sale(
        ready["card"],
        total_amount="123399",
        items=[{"sku": "BEEF-KG", "quantity": "1.234", "unit_price": "99999"}],
    )
    assert pos.purchase(body).status_code == 201


def test_a_quantity_of_exactly_100000_is_accepted(pos, ready):
    body = sale(
        ready["card"],
        total_amount="100000",
        items=[{"sku": "NAIL", "quantity": 100000, "unit_price": "1"}],
    )
    assert pos.purchase(body).status_code == 201


def test_a_receipt_number_with_slashes_is_returned_through_a_percent_encoded_path(
    pos, ready, member
):
    receipt = "HD/2026/0001"
    response = pos.purchase(sale(ready["card"], external_id=receipt, total_amount="500000"))
    assert response.status_code == 201, response.content
    assert response.json()["points_earned"] == 50
    returned = pos.give_back("HD%2F2026%2F0001", {"external_id": "RET/2026/1", "amount": "500000"})
    assert returned.status_code == 201, returned.content
    assert returned.json()["points_reversed"] == 50
    assert PurchaseReturn.objects.get(purchase__external_id=receipt).external_id == "RET/2026/1"
    # The same return again replays; another store's till never sees the receipt.
    again = pos.give_back("HD%2F2026%2F0001", {"external_id": "RET/2026/1", "amount": "500000"})
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"


def test_a_receipt_with_a_slash_of_another_store_is_not_found(pos, other_pos, ready):
    assert pos.purchase(sale(ready["card"], external_id="HD/9")).status_code == 201
    response = other_pos.give_back("HD%2F9", {"external_id": "RET-9", "amount": "1000"})
    assert_error(response, 404, "not_found")


# ---------------------------------------------------------------- the database unreachable


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_while_the_database_is_down_the_api_answers_503_and_recovers(pos, member, store):
    body = sale(member.card_number, external_id="R-DOWN")
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": "1"})  # nothing listens
    try:
        response = pos.purchase(body)
        lookup = pos.lookup(member.card_number)
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert_error(response, 503, "service_unavailable")
    assert int(response["Retry-After"]) > 0
    assert_error(lookup, 503, "service_unavailable")
    assert not Purchase.objects.filter(external_id="R-DOWN").exists()
    # Back up: the same request goes through, in the same process, without a restart.
    recovered = pos.purchase(body)
    assert recovered.status_code == 201, recovered.content


def test_a_connection_lost_mid_request_is_503_and_writes_nothing(pos, ready):
    before = snapshot()
    lost = OperationalError("server closed the connection unexpectedly")
    with mock.patch.object(connection, "ensure_connection", side_effect=lost):
        response = pos.purchase(sale(ready["card"], external_id="R-LOST"))
    assert_error(response, 503, "service_unavailable")
    assert response["Retry-After"] == "5"
    assert snapshot() == before
    assert pos.purchase(sale(ready["card"], external_id="R-LOST")).status_code == 201


# ---------------------------------------------------------------- what the schema says


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def _operations(schema):
    for path, item in schema["paths"].items():
        if path.startswith("/api/v1/pos/"):
            for method, operation in item.items():
                yield path, method, operation


def test_the_schema_documents_every_status_a_pos_operation_can_answer(schema):
    writes = {
        "/api/v1/pos/transactions/": {"409", "422"},
        "/api/v1/pos/transactions/{external_id}/returns/": {"409", "422"},
        "/api/v1/pos/members/": {"409"},
        "/api/v1/pos/members/{card_number}/rewards/{reward_id}/redeem/": {"409", "422"},
        "/api/v1/pos/quote/": {"422"},
    }
    operations = list(_operations(schema))
    assert len(operations) == 10
    for path, method, operation in operations:
        codes = set(operation["responses"])
        expected = {"401", "429", "503"}
        if method == "post":
            expected |= {"400", "413", "415", *writes[path]}
        if "{" in path or path.endswith("lookup"):
            expected.add("404")
        assert expected <= codes, (path, method, expected - codes)
        for code in ("429", "503"):
            assert "Retry-After" in operation["responses"][code]["headers"], (path, code)


def test_the_schema_constrains_money_strings_with_a_pattern(schema):
    components = schema["components"]["schemas"]
    money = [
        ("TransactionRequest", "total_amount"),
        ("QuoteRequest", "total_amount"),
        ("ItemRequest", "unit_price"),
        ("ReturnRequest", "amount"),
    ]
    for component, field in money:
        spec = components[component]["properties"][field]
        assert spec["type"] == "string", (component, field)
        assert spec["pattern"] == r"^[0-9]{1,16}(\.[0-9]{1,2})?$", (component, field)
    points = components["TransactionRequest"]["properties"]["redeem_points"]
    assert (points["type"], points["maximum"]) == ("integer", 10**9)
    quantity = components["ItemRequest"]["properties"]["quantity"]
    assert {"number", "string"} == {branch["type"] for branch in quantity["oneOf"]}

"""``GET /staff/api/overview/`` (issue #14): the figures as JSON for staff sessions, money
and rates as decimal strings, a store manager limited to their stores, and the POS
contract's error body for every refusal (never a redirect, never a 500)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache

from members.models import Program
from tests.factories import PurchaseFactory, UserFactory
from tests.pos.helpers import assert_error

pytestmark = pytest.mark.django_db

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=HCM)
URL = "/staff/api/overview/"
FEB = {"start": "2026-02-01", "end": "2026-02-28"}

REQUIRED = {
    "members_total",
    "members_new",
    "members_active",
    "purchases",
    "revenue",
    "points_outstanding",
    "liability",
    "redemption_rate",
    "breakage_rate",
}


@pytest.fixture(autouse=True)
def frozen():
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield
    cache.clear()


@pytest.fixture
def sales(store, other_store, member, other_member):
    PurchaseFactory(
        member=member,
        store=store,
        occurred_at=datetime(2026, 2, 5, 12, tzinfo=HCM),
        total_amount=Decimal("125000"),
        returned_amount=Decimal("25000"),
        external_id="R-1",
    )
    PurchaseFactory(
        member=other_member,
        store=other_store,
        occurred_at=datetime(2026, 2, 6, 12, tzinfo=HCM),
        total_amount=Decimal("99000"),
        external_id="R-2",
    )


def test_a_marketer_gets_the_figures_as_json(client, marketer, sales):
    client.force_login(marketer)
    response = client.get(URL, FEB)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert set(body) >= REQUIRED
    assert body["purchases"] == 2
    assert body["members_active"] == 2
    assert body["revenue"] == "199000"  # 125,000 - 25,000 returned + 99,000: a string
    assert body["points_outstanding"] == 0
    point_value = Program.objects.get().point_value
    assert Decimal(body["liability"]) == 0 * point_value
    assert body["redemption_rate"] is None  # nothing issued
    assert body["breakage_rate"] is None
    assert (body["start"], body["end"], body["stores"]) == ("2026-02-01", "2026-02-28", None)
    assert body["previous"]["start"] == "2025-02-01"
    assert body["previous"]["purchases"] == 0


def test_defaults_to_the_last_thirty_days(client, marketer):
    client.force_login(marketer)
    body = client.get(URL).json()
    assert (body["start"], body["end"]) == ("2026-02-08", "2026-03-09")


def test_a_store_manager_sees_their_stores_only(client, store_manager, store, other_store, sales):
    store_manager.stores.add(store)
    client.force_login(store_manager)
    own = client.get(URL, FEB).json()
    assert own["stores"] == ["HCM01"]
    assert (own["purchases"], own["revenue"]) == (1, "100000")
    assert client.get(URL, {**FEB, "store": "HCM01"}).json()["purchases"] == 1
    assert_error(client.get(URL, {**FEB, "store": "HN01"}), 404, "not_found")


def test_an_unknown_store_is_a_404(client, marketer, store):
    client.force_login(marketer)
    assert_error(client.get(URL, {**FEB, "store": "NOPE"}), 404, "not_found")
    body = client.get(URL, {**FEB, "store": "HCM01"}).json()
    assert body["stores"] == ["HCM01"]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"start": "2026-2-1", "end": "2026-02-28"}, "start"),
        ({"start": "2026-02-01", "end": "yesterday"}, "end"),
        ({"start": "2026-02-30", "end": "2026-03-01"}, "start"),
        ({"start": "2026-03-01", "end": "2026-02-01"}, "start"),
        ({"start": "1900-01-01", "end": "2026-02-01"}, "start"),
        ({"start": "2026-02-01\x00", "end": "2026-02-28"}, "start"),
        # full-width digits
        (
            {"start": "\uff12\uff10\uff12\uff16-02-01", "end": "2026-02-28"},
            "start",
        ),  # full-width digits
    ],
)
def test_bad_dates_are_a_400_with_the_field(client, marketer, params, field):
    client.force_login(marketer)
    details = assert_error(client.get(URL, params), 400, "validation_error")
    assert field in details


def test_anonymous_and_members_get_401_not_a_redirect(client, member_user):
    assert_error(client.get(URL, FEB), 401, "not_authenticated")
    client.force_login(member_user)
    assert_error(client.get(URL, FEB), 401, "not_authenticated")


def test_staff_without_the_permission_get_403(client):
    clerk = UserFactory(is_staff=True)
    client.force_login(clerk)
    assert_error(client.get(URL, FEB), 403, "forbidden")


def test_only_get(client, marketer):
    client.force_login(marketer)
    assert client.post(URL, FEB).status_code == 405

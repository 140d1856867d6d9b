"""The overview page (/staff/overview/) and its CSV downloads (issue #14): every staff role
sees the figures, a store manager their store only, bad parameters a 400 with the message,
another store a 404; the charts are SVG with a table of the same numbers beside them."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache

from insights.selectors import overview_figures
from tests.factories import PurchaseFactory

pytestmark = pytest.mark.django_db

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=HCM)
URL = "/staff/overview/"
CSV = "/staff/overview.csv"
FEB = {"start": "2026-02-01", "end": "2026-02-28"}


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
        total_amount=Decimal("1250000"),
        external_id="R-1",
    )
    PurchaseFactory(
        member=other_member,
        store=other_store,
        occurred_at=datetime(2026, 2, 6, 12, tzinfo=HCM),
        total_amount=Decimal("99000"),
        external_id="R-2",
    )


def _rows(response) -> list[list[str]]:
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


@pytest.mark.parametrize("role", ["program_admin", "marketer", "store_manager", "support"])
def test_every_staff_role_sees_the_page(client, request, role, store, sales):
    user = request.getfixturevalue(role)
    if role == "store_manager":
        user.stores.add(store)
    client.force_login(user)
    response = client.get(URL, FEB)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="ov-cards"' in html
    assert html.count('role="img"') == 3
    assert html.count("<caption>") >= 6
    assert 'scope="col"' in html and 'scope="row"' in html
    assert "overview.csv?section=kpis" in html
    purchases = response.context["figures"]["purchases"]
    assert purchases == (1 if role == "store_manager" else 2)


def test_money_has_thousands_separators_and_the_period_is_shown(client, marketer, sales):
    client.force_login(marketer)
    html = client.get(URL, FEB).content.decode()
    assert "1.349.000" in html  # 1,250,000 + 99,000 đồng, grouped the Vietnamese way
    assert "01/02/2026" in html or "1/2/2026" in html or "2026" in html
    assert 'style="' not in html and "<script>" not in html


def test_a_store_manager_chooses_among_their_stores_only(client, store_manager, store, sales):
    store_manager.stores.add(store)
    client.force_login(store_manager)
    response = client.get(URL, FEB)
    assert response.context["stores"] == [("HCM01", "Quận 1")]
    assert response.context["whole_chain"] is False
    html = response.content.decode()
    assert 'value="HCM01"' in html
    assert 'value="HN01"' not in html
    assert 'value=""' not in html.split('id="ov-store"')[1].split("</select>")[0]


def test_a_marketer_may_choose_the_whole_chain(client, marketer, store, other_store):
    client.force_login(marketer)
    response = client.get(URL, FEB)
    assert response.context["whole_chain"] is True
    assert [code for code, _name in response.context["stores"]] == ["HCM01", "HN01"]


def test_another_stores_code_is_a_404(client, store_manager, store, other_store):
    store_manager.stores.add(store)
    client.force_login(store_manager)
    assert client.get(URL, {**FEB, "store": "HN01"}).status_code == 404
    assert client.get(URL, {**FEB, "store": "NOPE"}).status_code == 404
    assert client.get(CSV, {**FEB, "section": "kpis", "store": "HN01"}).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"start": "31/01/2026"},
        {"start": "2026-02-30"},
        {"start": "2026-03-01", "end": "2026-02-01"},
    ],
)
def test_a_bad_date_shows_the_message_with_400(client, marketer, params):
    client.force_login(marketer)
    response = client.get(URL, params)
    assert response.status_code == 400
    assert 'class="errornote"' in response.content.decode()
    assert response.context["error"]


def test_an_unknown_csv_section_is_a_400(client, marketer):
    client.force_login(marketer)
    assert client.get(CSV, {**FEB, "section": "nope"}).status_code == 400
    assert client.get(CSV, FEB).status_code == 200  # no section: the key figures
    assert client.get(CSV, {"section": "kpis", "start": "x"}).status_code == 400


HEADERS = {
    "kpis": ["metric", "value", "previous_year"],
    "series": [
        "start",
        "purchases",
        "revenue",
        "members_new",
        "members_active",
        "points_issued",
        "points_redeemed",
        "points_expired",
    ],
    "tiers": ["tier", "name", "members_active", "purchases", "revenue", "aov"],
    "rewards": ["reward_id", "name", "issued", "used"],
    "campaigns": [
        "campaign_id",
        "name",
        "sends",
        "sent",
        "failed",
        "skipped",
        "queued",
        "vouchers",
        "vouchers_used",
    ],
    "referrals": ["stage", "count"],
}


@pytest.mark.parametrize("section", [*HEADERS, "cohorts"])
def test_each_csv_section_has_its_header(client, marketer, sales, section):
    client.force_login(marketer)
    response = client.get(CSV, {**FEB, "section": section})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    rows = _rows(response)
    if section == "cohorts":
        assert rows[0][:2] == ["month", "joined"]
    else:
        assert rows[0] == HEADERS[section]


def test_csv_numbers_match_the_figures(client, marketer, store, other_store, sales):
    client.force_login(marketer)
    figures = overview_figures(
        start=datetime(2026, 2, 1).date(), end=datetime(2026, 2, 28).date(), store_ids=None
    )
    kpis = {row[0]: row for row in _rows(client.get(CSV, {**FEB, "section": "kpis"}))[1:]}
    assert kpis["purchases"][1] == str(figures["purchases"]) == "2"
    assert kpis["revenue"][1] == "1349000"  # plain: no separators
    assert kpis["members_active"][1] == str(figures["members_active"])
    assert kpis["purchases"][2] == "0"  # a year earlier
    series = _rows(client.get(CSV, {**FEB, "section": "series"}))[1:]
    assert len(series) == 28
    assert sum(int(r[1]) for r in series) == 2
    assert sum(Decimal(r[2]) for r in series) == figures["revenue"]
    tiers = _rows(client.get(CSV, {**FEB, "section": "tiers"}))[1:]
    assert sum(int(r[3]) for r in tiers) == 2
    referrals = dict(_rows(client.get(CSV, {**FEB, "section": "referrals"}))[1:])
    assert referrals["joined"] == "0"

"""Promotions at the till: the purchase earns their extra points and says which promotions
gave them, the programme endpoint lists those running, a cap holds across purchases, and a
purchase a promotion touches leaves the one-statement fast path for the recorded awards."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from members.models import PointAccount
from members.selectors import ledger_discrepancies
from promotions.models import Promotion, PromotionAward
from tests.pos.helpers import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def promo(code="x2", **fields) -> Promotion:
    values = {
        "code": code,
        "name": "Nhân đôi điểm",
        "kind": Promotion.Kind.MULTIPLIER,
        "multiplier": Decimal("2"),
        "starts_at": NOW - timedelta(days=1),
        "ends_at": NOW + timedelta(days=1),
        **fields,
    }
    return Promotion.objects.create(**values)


def buy(pos, member, external_id="R-1", total="1250000", **extra):
    response = pos.purchase(
        {"external_id": external_id, "member": member.card_number, "total_amount": total, **extra}
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_double_points_doubles_the_purchase_and_names_the_promotion(pos, member):
    promo()

    body = buy(pos, member)

    assert body["points_earned"] == 250  # 125 x 2
    assert body["promotions"] == [{"code": "x2", "name": "Nhân đôi điểm", "points": 125}]
    assert PointAccount.objects.get(pk=member.pk).pending == 250
    award = PromotionAward.objects.get()
    assert (award.points, award.purchase.external_id) == (125, "R-1")
    assert ledger_discrepancies() == []


def test_a_fixed_bonus_over_an_amount_and_a_cap_per_member(pos, member):
    promo(
        "bonus",
        name="Thưởng 30 điểm",
        kind=Promotion.Kind.FIXED_BONUS,
        multiplier=None,
        bonus_points=30,
        min_amount=Decimal("1000000"),
        cap_points_per_member=50,
    )

    first = buy(pos, member, "R-1")
    second = buy(pos, member, "R-2")
    small = buy(pos, member, "R-3", total="999999")

    assert [b["points_earned"] for b in (first, second, small)] == [155, 145, 99]
    assert [b["promotions"] for b in (first, second, small)] == [
        [{"code": "bonus", "name": "Thưởng 30 điểm", "points": 30}],
        [{"code": "bonus", "name": "Thưởng 30 điểm", "points": 20}],
        [],
    ]


def test_a_purchase_outside_the_promotion_earns_the_base_rate(pos, member):
    promo(starts_at=NOW + timedelta(hours=1))

    body = buy(pos, member)

    assert (body["points_earned"], body["promotions"]) == (125, [])


def test_a_quote_shows_the_promotion_without_recording_an_award(pos, member):
    promo()

    body = pos.quote({"member": member.card_number, "total_amount": "1250000"}).json()

    assert body["points_earned"] == 250 and body["promotions"][0]["code"] == "x2"
    assert not PromotionAward.objects.exists()


def test_a_replay_of_a_promoted_purchase_answers_the_same_and_awards_once(pos, member):
    promo()
    first = buy(pos, member)

    again = pos.purchase(
        {"external_id": "R-1", "member": member.card_number, "total_amount": "1250000"}
    )

    assert again.status_code == 200 and again.json() == first
    assert PromotionAward.objects.count() == 1


def test_the_programme_lists_the_promotions_running_now(pos):
    promo()
    promo("later", starts_at=NOW + timedelta(days=2), ends_at=NOW + timedelta(days=3))

    body = pos.get("/program/").json()

    assert [p["code"] for p in body["promotions"]] == ["x2"]

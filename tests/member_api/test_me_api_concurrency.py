"""Concurrent repeats of one redemption from the app, on PostgreSQL with real threads: the
member's account lock makes the first win and the others replay its answer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from member_api.models import MemberIdempotencyRecord
from member_api.services import reward_redeem_in_app
from members.models import PointAccount
from members.selectors import program_get
from members.services.points import points_grant
from rewards.models import Reward, Voucher
from tests import concurrency

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _body(voucher) -> dict:
    return {"voucher": voucher.code}


def test_the_same_external_id_redeemed_at_once_spends_once(member):
    reward = Reward.objects.create(
        code="c", kind=Reward.Kind.AMOUNT, name="C", points_cost=100, discount_amount=Decimal(1)
    )
    points_grant(member=member, points=1000, idempotency_key="s", reason="t", program=program_get())

    results = concurrency.run_together(
        12,
        lambda i: reward_redeem_in_app(
            member=member, reward_id=reward.pk, external_id="app-same", body=_body
        ),
    )

    outcomes = [value for kind, value in results if kind == "ok"]
    assert len(outcomes) == 12
    assert sum(not o.replayed for o in outcomes) == 1
    assert len({o.body["voucher"] for o in outcomes}) == 1
    assert Voucher.objects.filter(member=member).count() == 1
    assert MemberIdempotencyRecord.objects.count() == 1
    assert PointAccount.objects.get(pk=member.pk).available == 900


def test_different_external_ids_at_once_stop_at_the_balance(member):
    reward = Reward.objects.create(
        code="c", kind=Reward.Kind.AMOUNT, name="C", points_cost=100, discount_amount=Decimal(1)
    )
    points_grant(member=member, points=500, idempotency_key="s", reason="t", program=program_get())

    results = concurrency.run_together(
        12,
        lambda i: reward_redeem_in_app(
            member=member, reward_id=reward.pk, external_id=f"app-{i}", body=_body
        ),
    )

    assert sum(kind == "ok" for kind, _v in results) == 5
    assert [v.code for kind, v in results if kind == "refused"] == ["insufficient_points"] * 7
    assert PointAccount.objects.get(pk=member.pk).available == 0
    assert MemberIdempotencyRecord.objects.count() == 5

"""Helpers for the rewards tests: rewards, points, tiers and purchases in one line each."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from members.selectors import program_get
from members.services.points import points_grant
from rewards import segments
from rewards.models import Reward
from rewards.services import reward_redeem, vouchers_consume_locked, vouchers_for_purchase
from tests.factories import PurchaseFactory
from tiers.models import MemberTier, Tier

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
_codes = itertools.count(1)


def local(year, month, day, hour=10, minute=0, second=0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=HCM)


def make_reward(**fields) -> Reward:
    n = next(_codes)
    values = {
        "code": f"reward-{n}",
        "kind": Reward.Kind.AMOUNT,
        "name": f"Giảm giá {n}",
        "name_en": f"Discount {n}",
        "points_cost": 100,
        "discount_amount": Decimal("50000"),
    }
    values.update(fields)
    if values["kind"] != Reward.Kind.AMOUNT and "discount_amount" not in fields:
        values["discount_amount"] = None
    return Reward.objects.create(**values)


_keys = itertools.count(1)


def give_points(member, points: int):
    return points_grant(
        member=member,
        points=points,
        idempotency_key=f"test-{next(_keys)}",
        reason="test",
        program=program_get(),
    )


def set_tier(member, code: str) -> Tier:
    tier = Tier.objects.get(code=code)
    MemberTier.objects.update_or_create(
        member=member,
        defaults={"tier": tier, "since": date(2026, 1, 1), "retained_until": date(2027, 12, 31)},
    )
    return tier


def redeem(member, reward, **kwargs):
    return reward_redeem(member=member, reward=reward, **kwargs)


def purchase_with(member, codes, total="300000", store=None, **kwargs):
    """A purchase paid in part with vouchers, recorded as the POS flow will record it."""
    total = Decimal(total)
    with transaction.atomic():
        application = vouchers_for_purchase(codes=codes, member=member, amount=total, lock=True)
        extra = {"store": store} if store is not None else {}
        purchase = PurchaseFactory(
            member=member,
            total_amount=total,
            voucher_discount=application.discount,
            amount_due=total - application.discount,
            **extra,
            **kwargs,
        )
        vouchers_consume_locked(application=application, purchase=purchase)
    return purchase, application


@pytest.fixture(autouse=True)
def _no_segment_checker():
    """Each test starts without a segment checker (campaigns may have registered one)."""
    previous = segments._checker
    segments.unregister_checker()
    yield
    segments._checker = previous

"""Shared by the campaigns tests: purchases on local days, the nightly run at a frozen time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine

from campaigns.models import MemberScore
from campaigns.services import segments_compute
from tests.factories import PurchaseFactory

VN = ZoneInfo("Asia/Ho_Chi_Minh")
TODAY = date(2026, 11, 23)


def days_ago(n: int, *, today: date = TODAY) -> date:
    return today - timedelta(days=n)


def buy(member, store, amount="250000", *, on: date = TODAY, at=time(12, 0), returned=0):
    amount = Decimal(amount)
    return PurchaseFactory(
        member=member,
        store=store,
        occurred_at=datetime.combine(on, at, tzinfo=VN),
        total_amount=amount,
        amount_due=amount,
        returned_amount=Decimal(returned),
    )


def compute(today: date = TODAY) -> dict:
    with time_machine.travel(datetime.combine(today, time(1, 30), tzinfo=VN), tick=False):
        return segments_compute(today=today)


def score(member) -> MemberScore:
    return MemberScore.objects.get(member=member)


def stage(member) -> str:
    return score(member).lifecycle


def rfm(member) -> tuple:
    s = score(member)
    return (s.recency, s.frequency, s.monetary)

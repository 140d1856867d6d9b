"""Helpers for the promotions tests: local times, purchases on local days, the daily
referral job on a given day, members joining with a code."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from members.models import PointAccount, PointEntry
from promotions.models import Referral, ReferralProgram
from promotions.services import referrals_pay_due
from tests.factories import MemberFactory, PurchaseFactory

VN = ZoneInfo("Asia/Ho_Chi_Minh")
JOIN_DAY = date(2026, 3, 2)  # a Monday
_numbers = itertools.count(1)


def local(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=VN)


def days(n: int, *, start: date = JOIN_DAY) -> date:
    return start + timedelta(days=n)


def join(referrer, *, on: date = JOIN_DAY, **kwargs):
    """A new member enrolled with ``referrer``'s code on local day ``on``."""
    n = next(_numbers)
    values = {
        "full_name": f"Phạm Minh Khoa {n}",
        "phone": f"0933{n:06d}",
        "email": f"friend{n}@example.com",
        "referred_by": referrer,
    }
    values.update(kwargs)
    with time_machine.travel(local(on, 9), tick=False):
        return MemberFactory(**values)


def buy(member, store, amount="250000", *, on: date, hour: int = 12, returned="0", **kwargs):
    amount = Decimal(amount)
    return PurchaseFactory(
        member=member,
        store=store,
        occurred_at=local(on, hour),
        total_amount=amount,
        amount_due=amount,
        returned_amount=Decimal(returned),
        **kwargs,
    )


def run_day(day: date) -> dict:
    """The referral job as the nightly run does it: at 01:00 local on ``day``."""
    with time_machine.travel(local(day, 1), tick=False):
        return referrals_pay_due(today=day)


def referral_of(member) -> Referral:
    return Referral.objects.get(referee=member)


def available(member) -> int:
    return PointAccount.objects.get(pk=member.pk).available


def bonus_keys(member) -> list[str]:
    return sorted(
        PointEntry.objects.filter(member=member, kind="bonus").values_list(
            "idempotency_key", flat=True
        )
    )


def rules(**changes) -> ReferralProgram:
    program = ReferralProgram.objects.get(pk=1)
    for field, value in changes.items():
        setattr(program, field, value)
    program.save()
    return program


@pytest.fixture
def referrer(db):
    """A member whose code the others use; joined long before."""
    with time_machine.travel(local(date(2025, 6, 1)), tick=False):
        return MemberFactory(
            full_name="Nguyễn Thị Mai", phone="0913 222 333", email="mai.nguyen@gmail.com"
        )

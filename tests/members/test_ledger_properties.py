"""A stateful property test of the point ledger: random sequences of purchases (earning, paying
with points), spending, returns, the daily jobs, staff adjustments and bonuses, checked after
every step against the ledger's own invariants and against a small model kept alongside.

The model is deliberately naive (a list of lots in creation order) so that it can be read
against the rules of shared/pos-api.md and members/services/points.py:
- purchase points are pending until the day ``pending_days`` after the purchase's local date
  (available at once if that day has passed), and expire at the end of the month
  ``expiry_months`` after it;
- spending takes the available lots that expire soonest first;
- a return reverses earned points in proportion (from running totals): from what is left of
  the purchase's own lot first; what of that lot expired unused is not taken a second time;
  what was spent comes from the other lots, soonest expiry first, and what is missing
  becomes a debt; points that paid for the returned part come back, expiring no later than
  the lots they came from (but not before the end of the month);
- every credit (maturing, bonus, adjustment, refund) pays a debt first.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from loyalty.errors import DomainError
from members.models import PointAccount, PointLot
from members.selectors import ledger_discrepancies, program_get
from members.services import points as ledger
from pos.services.purchases import PurchaseInput, ReturnInput, purchase_record
from pos.services.purchases import purchase_return_record as return_record
from tests.factories import MemberFactory, StoreFactory
from tiers.selectors import tier_of_member

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2026, 1, 5, 10, 0, tzinfo=HCM)

SETTINGS = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def end_of_month_after(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, calendar.monthrange(year, month)[1])


def share(points: int, part: int, whole: int) -> int:
    if part >= whole:
        return points
    return points * part // whole


@dataclass
class Lot:
    points: int
    remaining: int
    status: str
    expires_on: date
    matures_on: date | None = None
    purchase: str | None = None  # the purchase that earned it or whose return refunded it
    earned: bool = False  # the lot a purchase earned (not a refund)
    expired_unforgiven: int = 0  # expired unused, not yet let go of by a return


@dataclass
class Bought:
    external_id: str
    total: int
    earned: int
    redeemed: int
    spent_lots_expire_on: date | None
    returned: int = 0
    reversed: int = 0
    refunded: int = 0


class Model:
    """What the member's points should be."""

    def __init__(self):
        self.available = 0
        self.pending = 0
        self.lots: list[Lot] = []
        self.debt_from_a_return = False

    def credit(self, points: int, *, expires_on: date, purchase: str | None = None, earned=False):
        paid = min(points, max(0, -self.available))
        self.lots.append(
            Lot(points, points - paid, "available", expires_on, None, purchase, earned)
        )
        self.available += points

    def consume(self, points: int) -> date | None:
        """Take up to ``points`` from available lots, soonest expiry first; the earliest
        expiry among the lots used."""
        order = sorted(
            (
                (lot.expires_on, n, lot)
                for n, lot in enumerate(self.lots)
                if lot.status == "available" and lot.remaining > 0
            ),
            key=lambda t: (t[0], t[1]),
        )
        lots = [lot for _e, _n, lot in order]
        left, earliest = points, None
        for lot in lots:
            if not left:
                break
            take = min(lot.remaining, left)
            lot.remaining -= take
            left -= take
            earliest = lot.expires_on if earliest is None else min(earliest, lot.expires_on)
        return earliest

    def spend(self, points: int) -> date | None:
        earliest = self.consume(points)
        self.available -= points
        return earliest

    def reverse(self, purchase: str, points: int):
        if points <= 0:
            return
        own = next((lot for lot in self.lots if lot.purchase == purchase and lot.earned), None)
        from_pending = from_own = 0
        if own is not None and own.remaining:
            taken = min(points, own.remaining)
            if own.status == "pending":
                from_pending = taken
            else:
                from_own = taken
            own.remaining -= taken
            if own.remaining == 0 and own.status == "pending":
                own.status = "cancelled"
        rest = points - from_pending - from_own
        if rest and own is not None:  # what expired unused is not taken a second time
            forgiven = min(rest, own.expired_unforgiven)
            own.expired_unforgiven -= forgiven
            rest -= forgiven
        if rest:  # what was spent comes from the other lots, or becomes a debt
            self.consume(rest)
        self.available -= from_own + rest
        self.pending -= from_pending
        if self.available < 0:
            self.debt_from_a_return = True

    def mature(self, today: date) -> int:
        due = sorted(
            (
                (lot.matures_on, n, lot)
                for n, lot in enumerate(self.lots)
                if lot.status == "pending" and lot.matures_on <= today
            ),
            key=lambda t: (t[0], t[1]),
        )
        for _m, _n, lot in due:
            points = lot.remaining
            paid = min(points, max(0, -self.available))
            lot.remaining, lot.status = points - paid, "available"
            self.available += points
            self.pending -= points
        return len(due)

    def expire(self, today: date) -> int:
        count = 0
        for lot in self.lots:
            if lot.status == "available" and lot.expires_on < today:
                if lot.remaining:
                    count += 1
                    self.available -= lot.remaining
                lot.expired_unforgiven = lot.remaining
                lot.remaining, lot.status = 0, "expired"
        return count


def _machine(support):
    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.clock = time_machine.travel(START, tick=False)
            self.now = self.clock.start()
            # Each example runs in a savepoint that teardown rolls back: a clean database.
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            self.program = program_get()
            self.member = MemberFactory()
            self.store = StoreFactory(code="PROP")
            self.model = Model()
            self.bought: list[Bought] = []
            self.keys_granted: set[str] = set()
            self.serial = 0

        def teardown(self):
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)
            self.clock.stop()

        def next_id(self, prefix: str) -> str:
            self.serial += 1
            return f"{prefix}{self.serial}"

        @staticmethod
        def today() -> date:
            return timezone.localdate()

        def advance(self, days: int) -> date:
            self.now.shift(timedelta(days=days))
            return self.today()

        # ---------------------------------------------------------------- rules

        def up_to_balance(self, data, label: str) -> int:
            """A number of points around the balance: often all of it, mostly affordable,
            sometimes not."""
            available = max(self.model.available, 0)
            choices = st.integers(1, available + 20)
            if available:
                choices = st.one_of(st.just(available), choices)
            return data.draw(choices, label=label)

        @initialize(
            points=st.integers(0, 3000),
            purchases=st.lists(
                st.tuples(
                    st.integers(10_000, 2_000_000),
                    st.sampled_from([0, 3, 7, 20]),
                    st.sampled_from([0, 0, 2, 1]),  # pay nothing, half or all it can with points
                ),
                max_size=4,
            ),
        )
        def a_member_with_a_history(self, points, purchases):
            """Start from a welcome bonus and a few purchases, some already available, so
            that short sequences reach returns, debts and refunds."""
            if points:
                ledger.points_grant(
                    member=self.member,
                    points=points,
                    idempotency_key=f"welcome:{self.member.pk}",
                    reason="welcome",
                    program=self.program,
                )
                self.model.credit(points, expires_on=end_of_month_after(self.today(), 12))
            for amount, days_ago, divisor in purchases:
                payable = min(max(self.model.available, 0), amount // 100)
                self.buy(amount, payable // divisor if divisor else 0, days_ago)

        @rule(
            amount=st.integers(0, 2_000_000),
            pay_with_points=st.booleans(),
            days_ago=st.sampled_from([0, 0, 0, 2, 6, 7, 12, 30]),
            data=st.data(),
        )
        def purchase(self, amount, pay_with_points, days_ago, data):
            redeem = self.up_to_balance(data, "redeem") if pay_with_points else 0
            self.buy(amount, redeem, days_ago)

        def buy(self, amount: int, redeem: int, days_ago: int):
            external_id = self.next_id("P")
            occurred_at = timezone.now() - timedelta(days=days_ago)
            multiplier = tier_of_member(self.member.pk).multiplier
            data = PurchaseInput(
                external_id=external_id,
                member=self.member.card_number,
                total_amount=Decimal(amount),
                occurred_at=occurred_at,
                redeem_points=redeem,
            )
            if redeem and redeem * 100 > amount:
                self._refused(
                    lambda: purchase_record(store=self.store, data=data), "redeem_exceeds_amount"
                )
                return
            if redeem and redeem > self.model.available:  # a debt does not stop a purchase
                self._refused(
                    lambda: purchase_record(store=self.store, data=data), "insufficient_points"
                )
                return

            outcome = purchase_record(store=self.store, data=data)

            amount_due = amount - redeem * 100
            earned = int((Decimal(amount_due) / 10000 * multiplier).to_integral_value(ROUND_FLOOR))
            spent_expire = self.model.spend(redeem) if redeem else None
            earned_on = timezone.localdate(occurred_at)
            matures_on = earned_on + timedelta(days=7)
            expires_on = end_of_month_after(earned_on, 12)
            if earned:
                if matures_on <= self.today():
                    self.model.credit(
                        earned, expires_on=expires_on, purchase=external_id, earned=True
                    )
                else:
                    self.model.lots.append(
                        Lot(earned, earned, "pending", expires_on, matures_on, external_id, True)
                    )
                    self.model.pending += earned
            self.bought.append(Bought(external_id, amount, earned, redeem, spent_expire))
            assert (outcome.status, outcome.replayed) == (201, False)
            assert outcome.body["points_earned"] == earned
            assert outcome.body["points_redeemed"] == redeem
            assert outcome.body["balance"] == {
                "available": self.model.available,
                "pending": self.model.pending,
            }

        @rule(data=st.data())
        def spend(self, data):
            points = self.up_to_balance(data, "points")

            def run():
                with transaction.atomic():
                    ledger.spend_locked(ledger.account_lock(self.member.pk), points=points)

            if points > self.model.available:
                self._refused(run, "insufficient_points")
                return
            run()
            self.model.spend(points)

        @precondition(lambda self: self.bought)
        @rule(data=st.data())
        def give_back_everything_left(self, data):
            bought = data.draw(st.sampled_from(self.bought), label="purchase")
            left = bought.total - bought.returned
            self.give_back(bought, left if left else 1)

        @precondition(lambda self: self.bought)
        @rule(data=st.data(), too_much=st.integers(0, 9))
        def give_back_a_part(self, data, too_much):
            bought = data.draw(st.sampled_from(self.bought), label="purchase")
            left = bought.total - bought.returned
            if left > 1 and too_much:
                amount = data.draw(st.integers(1, left - 1), label="amount")
            else:  # now and then more than what is left
                amount = left + data.draw(st.integers(1, 100_000), label="over")
            self.give_back(bought, amount)

        def give_back(self, bought: Bought, amount: int):
            request = ReturnInput(external_id=self.next_id("RET"), amount=Decimal(amount))

            def run():
                return return_record(
                    store=self.store, purchase_external_id=bought.external_id, data=request
                )

            if bought.returned + amount > bought.total:
                self._refused(run, "return_exceeds_purchase")
                return
            outcome = run()

            returned = bought.returned + amount
            reverse = share(bought.earned, returned, bought.total) - bought.reversed
            refund = share(bought.redeemed, returned, bought.total) - bought.refunded
            bought.returned, bought.reversed, bought.refunded = (
                returned,
                bought.reversed + reverse,
                bought.refunded + refund,
            )
            self.model.reverse(bought.external_id, reverse)
            if refund:
                floor = end_of_month_after(self.today(), 0)
                spent = bought.spent_lots_expire_on
                self.model.credit(
                    refund,
                    expires_on=max(spent or floor, floor),
                    purchase=bought.external_id,
                )
            assert (outcome.body["points_reversed"], outcome.body["points_refunded"]) == (
                reverse,
                refund,
            )
            assert outcome.body["balance"] == {
                "available": self.model.available,
                "pending": self.model.pending,
            }

        @rule(days=st.integers(1, 10))
        def mature(self, days):
            today = self.advance(days)
            assert ledger.points_mature_due(today=today) == self.model.mature(today)
            assert ledger.points_mature_due(today=today) == 0  # a second run finds nothing

        @rule(days=st.sampled_from([1, 1, 15, 30, 60, 200, 400]), mature_first=st.booleans())
        def expire(self, days, mature_first):
            today = self.advance(days)
            if mature_first:  # as the daily jobs run: maturing, then expiry
                assert ledger.points_mature_due(today=today) == self.model.mature(today)
            assert ledger.points_expire_due(today=today) == self.model.expire(today)
            assert ledger.points_expire_due(today=today) == 0

        @rule(add=st.booleans(), data=st.data())
        def adjust(self, add, data):
            points = data.draw(st.integers(1, 300)) if add else -self.up_to_balance(data, "deduct")

            def run():
                return ledger.points_adjust(
                    member=self.member,
                    points=points,
                    reason="property test",
                    acting_user=support,
                    program=self.program,
                )

            if points < 0 and -points > self.model.available:
                self._refused(run, "insufficient_points")
                return
            run()
            if points > 0:
                self.model.credit(points, expires_on=end_of_month_after(self.today(), 12))
            else:
                self.model.spend(-points)

        @rule(key=st.sampled_from(["birthday", "referral", "review"]), points=st.integers(1, 300))
        def grant(self, key, points):
            ledger.points_grant(
                member=self.member,
                points=points,
                idempotency_key=f"{key}:{self.member.pk}",
                reason=key,
                program=self.program,
            )
            if key not in self.keys_granted:
                self.keys_granted.add(key)
                self.model.credit(points, expires_on=end_of_month_after(self.today(), 12))

        def _refused(self, run, code: str):
            with pytest.raises(DomainError) as caught:
                run()
            assert caught.value.code == code

        # ---------------------------------------------------------------- invariants

        @invariant()
        def ledger_holds(self):
            assert ledger_discrepancies() == []
            account = PointAccount.objects.get(pk=self.member.pk)
            assert account.pending >= 0
            assert account.available >= 0 or self.model.debt_from_a_return
            lots = list(
                PointLot.objects.filter(member=self.member)
                .order_by("id")
                .values_list("points", "remaining", "status", "expires_on")
            )
            assert all(0 <= remaining <= points for points, remaining, _s, _e in lots)
            assert (account.available, account.pending) == (
                self.model.available,
                self.model.pending,
            )
            assert lots == [
                (lot.points, lot.remaining, lot.status, lot.expires_on) for lot in self.model.lots
            ]

    return LedgerMachine


@pytest.mark.django_db
def test_the_ledger_keeps_its_invariants_under_any_sequence_of_operations(support):
    run_state_machine_as_test(_machine(support), settings=SETTINGS)

"""The point ledger's services (members/services/points.py): earning, maturing, FIFO spending,
expiry, debts left by returns, bonuses, staff adjustments and the ledger check."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from loyalty.errors import DomainError
from members.models import AuditEntry, PointAccount, PointEntry, PointLot, PurchaseReturn
from members.selectors import ledger_discrepancies, program_get
from members.services import points as ledger
from tests.factories import PurchaseFactory

pytestmark = pytest.mark.django_db

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def local(year, month, day, hour=10, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=HCM)


@pytest.fixture
def program(db):
    return program_get()


def account_of(member) -> PointAccount:
    return PointAccount.objects.get(pk=member.pk)


def earn(member, store, program, *, points, occurred_at, today=None):
    """A purchase earning ``points``, recorded the way the POS flow records it."""
    purchase = PurchaseFactory(
        member=member,
        store=store,
        occurred_at=occurred_at,
        total_amount=Decimal(points) * 10000,
        points_earned=points,
    )
    with transaction.atomic():
        account = ledger.account_lock(member.pk)
        credit = ledger.earn_for_purchase_locked(
            account,
            purchase=purchase,
            points=points,
            program=program,
            today=today or timezone.localdate(),
        )
    return purchase, credit.lot


def spend(member, points):
    with transaction.atomic():
        return ledger.spend_locked(ledger.account_lock(member.pk), points=points)


def give_back(purchase, points, external_id="RET-1"):
    """A return of ``purchase`` reversing ``points`` of what it earned."""
    with transaction.atomic():
        account = ledger.account_lock(purchase.member_id)
        record = PurchaseReturn.objects.create(
            purchase=purchase,
            store=purchase.store,
            external_id=external_id,
            amount=purchase.total_amount,
        )
        ledger.reverse_for_return_locked(
            account, purchase=purchase, purchase_return=record, points=points
        )


def grant(member, program, points, key, *, on: date | None = None):
    if on is None:
        return ledger.points_grant(
            member=member, points=points, idempotency_key=key, reason="bonus", program=program
        )
    with time_machine.travel(local(on.year, on.month, on.day), tick=False):
        return ledger.points_grant(
            member=member, points=points, idempotency_key=key, reason="bonus", program=program
        )


def ledger_state(member):
    account = account_of(member)
    return (
        account.available,
        account.pending,
        account.lifetime_earned,
        account.lifetime_spent,
        account.lifetime_expired,
        sorted(PointLot.objects.filter(member=member).values_list("id", "remaining", "status")),
        PointEntry.objects.filter(member=member).count(),
    )


# ---------------------------------------------------------------- earning and maturing


def test_purchase_points_mature_on_the_day_the_return_window_ends_not_before(
    member, store, program
):
    # 01:30 in Hồ Chí Minh City is still the previous day in UTC: the local date counts.
    with time_machine.travel(local(2026, 3, 10, 1, 30), tick=False):
        _purchase, lot = earn(member, store, program, points=125, occurred_at=timezone.now())
    assert (lot.status, lot.earned_on, lot.matures_on) == (
        "pending",
        date(2026, 3, 10),
        date(2026, 3, 10) + timedelta(days=program.pending_days),
    )
    assert lot.matures_on == date(2026, 3, 17)
    account = account_of(member)
    assert (account.available, account.pending, account.lifetime_earned) == (0, 125, 125)

    assert ledger.points_mature_due(today=date(2026, 3, 16)) == 0
    assert (account_of(member).available, account_of(member).pending) == (0, 125)

    assert ledger.points_mature_due(today=date(2026, 3, 17)) == 1
    account = account_of(member)
    assert (account.available, account.pending) == (125, 0)
    lot.refresh_from_db()
    assert (lot.status, lot.remaining) == ("available", 125)
    mature = PointEntry.objects.get(member=member, kind="mature")
    assert (mature.available_delta, mature.pending_delta, mature.lot_id) == (125, -125, lot.pk)
    assert ledger_discrepancies() == []


def test_back_dated_purchase_older_than_the_window_earns_available_points_at_once(
    member, store, program
):
    with time_machine.travel(local(2026, 3, 20), tick=False):
        _p1, old = earn(member, store, program, points=40, occurred_at=local(2026, 3, 10))
        _p2, edge = earn(member, store, program, points=30, occurred_at=local(2026, 3, 13))
        _p3, recent = earn(member, store, program, points=20, occurred_at=local(2026, 3, 14))
    assert (old.status, old.remaining, old.earned_on) == ("available", 40, date(2026, 3, 10))
    # Exactly pending_days ago: today's job would have matured it, so it is available.
    assert (edge.status, edge.remaining) == ("available", 30)
    assert (recent.status, recent.matures_on) == ("pending", date(2026, 3, 21))
    account = account_of(member)
    assert (account.available, account.pending) == (70, 20)
    assert old.expires_on == date(2027, 3, 31)
    assert ledger_discrepancies() == []


# ---------------------------------------------------------------- spending


def test_spending_takes_the_lots_that_expire_soonest_first(member, program):
    january = grant(member, program, 100, "jan", on=date(2026, 1, 15)).lot
    march = grant(member, program, 50, "mar", on=date(2026, 3, 5)).lot
    february = grant(member, program, 80, "feb", on=date(2026, 2, 20)).lot
    assert (january.expires_on, february.expires_on, march.expires_on) == (
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
    )

    with time_machine.travel(local(2026, 4, 1), tick=False):
        entry = spend(member, 150)

    remaining = dict(PointLot.objects.filter(member=member).values_list("id", "remaining"))
    assert remaining == {january.pk: 0, february.pk: 30, march.pk: 50}
    assert (entry.kind, entry.available_delta, entry.lots_expire_on) == (
        "spend",
        -150,
        date(2027, 1, 31),
    )
    account = account_of(member)
    assert (account.available, account.lifetime_spent) == (80, 150)

    with time_machine.travel(local(2026, 4, 2), tick=False):
        spend(member, 40)
    remaining = dict(PointLot.objects.filter(member=member).values_list("id", "remaining"))
    assert remaining == {january.pk: 0, february.pk: 0, march.pk: 40}
    assert ledger_discrepancies() == []


def test_spending_more_than_available_is_refused_and_changes_nothing(member, store, program):
    grant(member, program, 100, "welcome", on=date(2026, 3, 1))
    with time_machine.travel(local(2026, 3, 10), tick=False):
        earn(member, store, program, points=50, occurred_at=timezone.now())  # pending
    before = ledger_state(member)

    with pytest.raises(DomainError) as caught:
        spend(member, 120)  # pending points cannot be spent

    assert caught.value.code == "insufficient_points"
    assert caught.value.details == {"available": 100, "requested": 120}
    assert ledger_state(member) == before


# ---------------------------------------------------------------- expiry


def test_points_expire_at_the_end_of_the_month_expiry_months_after_earning(member, store, program):
    with time_machine.travel(local(2026, 1, 15), tick=False):
        _purchase, lot = earn(
            member, store, program, points=100, occurred_at=local(2026, 1, 5)
        )  # back-dated: available at once
    assert (lot.status, lot.expires_on) == ("available", date(2027, 1, 31))

    assert ledger.points_expire_due(today=date(2027, 1, 31)) == 0
    assert account_of(member).available == 100

    assert ledger.points_expire_due(today=date(2027, 2, 1)) == 1
    account = account_of(member)
    assert (account.available, account.lifetime_expired) == (0, 100)
    lot.refresh_from_db()
    assert (lot.status, lot.remaining) == ("expired", 0)
    entry = PointEntry.objects.get(member=member, kind="expire")
    assert (entry.available_delta, entry.lot_id) == (-100, lot.pk)
    assert ledger_discrepancies() == []


def test_a_partly_spent_lot_expires_only_its_remainder(member, program):
    old = grant(member, program, 100, "old", on=date(2026, 1, 15)).lot
    young = grant(member, program, 40, "young", on=date(2026, 6, 1)).lot
    with time_machine.travel(local(2026, 7, 1), tick=False):
        spend(member, 30)

    assert ledger.points_expire_due(today=date(2027, 2, 1)) == 1

    old.refresh_from_db()
    young.refresh_from_db()
    assert (old.status, old.remaining) == ("expired", 0)
    assert (young.status, young.remaining) == ("available", 40)
    assert PointEntry.objects.get(member=member, kind="expire").available_delta == -70
    account = account_of(member)
    assert (account.available, account.lifetime_expired, account.lifetime_spent) == (40, 70, 30)
    assert ledger_discrepancies() == []


def test_running_the_daily_jobs_twice_changes_nothing_the_second_time(
    member, other_member, store, program
):
    grant(member, program, 100, "old", on=date(2026, 1, 15))
    grant(other_member, program, 60, "other-old", on=date(2026, 1, 20))
    with time_machine.travel(local(2027, 1, 25), tick=False):
        earn(member, store, program, points=25, occurred_at=timezone.now())
        earn(other_member, store, program, points=35, occurred_at=timezone.now())

    day = date(2027, 2, 1)
    assert ledger.points_mature_due(today=day) == 2
    assert ledger.points_expire_due(today=day) == 2
    after_first = (ledger_state(member), ledger_state(other_member))

    assert ledger.points_mature_due(today=day) == 0
    assert ledger.points_expire_due(today=day) == 0
    assert (ledger_state(member), ledger_state(other_member)) == after_first
    assert (account_of(member).available, account_of(other_member).available) == (25, 35)
    assert ledger_discrepancies() == []


# ---------------------------------------------------------------- debts left by returns


@pytest.fixture
def member_in_debt(member, store, program):
    """A member who spent the 100 points of a purchase that then came back: -100."""
    with time_machine.travel(local(2026, 3, 1), tick=False):
        purchase, _lot = earn(member, store, program, points=100, occurred_at=timezone.now())
    ledger.points_mature_due(today=date(2026, 3, 8))
    with time_machine.travel(local(2026, 3, 9), tick=False):
        spend(member, 100)
        give_back(purchase, 100)
    return member


def test_a_return_of_spent_points_leaves_a_debt(member_in_debt):
    account = account_of(member_in_debt)
    assert (account.available, account.pending) == (-100, 0)
    reverse = PointEntry.objects.get(member=member_in_debt, kind="reverse")
    assert (reverse.available_delta, reverse.pending_delta) == (-100, 0)
    assert not PointLot.objects.filter(member=member_in_debt, remaining__gt=0).exists()
    assert ledger_discrepancies() == []


def test_nothing_can_be_spent_while_the_balance_is_negative(member_in_debt):
    before = ledger_state(member_in_debt)
    with time_machine.travel(local(2026, 3, 10), tick=False), pytest.raises(DomainError) as caught:
        spend(member_in_debt, 1)
    assert caught.value.code == "insufficient_points"
    assert ledger_state(member_in_debt) == before


def test_maturing_points_pay_the_debt_first(member_in_debt, store, program):
    with time_machine.travel(local(2026, 3, 10), tick=False):
        _purchase, lot = earn(
            member_in_debt, store, program, points=150, occurred_at=timezone.now()
        )
    assert account_of(member_in_debt).available == -100  # pending points do not pay yet

    assert ledger.points_mature_due(today=date(2026, 3, 17)) == 1

    lot.refresh_from_db()
    assert (lot.status, lot.points, lot.remaining) == ("available", 150, 50)
    account = account_of(member_in_debt)
    assert (account.available, account.pending) == (50, 0)
    mature = PointEntry.objects.get(member=member_in_debt, kind="mature", lot=lot)
    assert (mature.available_delta, mature.pending_delta) == (150, -150)
    assert ledger_discrepancies() == []


def test_a_return_after_a_staff_deduction_leaves_a_debt_instead_of_failing(
    member, store, program, support
):
    """Found by the stateful test: purchase points available at once, a deduction of them
    by staff, then the goods come back."""
    with time_machine.travel(local(2026, 3, 20), tick=False):
        purchase, _lot = earn(member, store, program, points=100, occurred_at=local(2026, 3, 1))
        ledger.points_adjust(
            member=member,
            points=-100,
            reason="Credited twice",
            acting_user=support,
            program=program,
        )
        give_back(purchase, 100)
    account = account_of(member)
    assert (account.available, account.pending) == (-100, 0)
    assert account.lifetime_earned >= 0
    assert ledger_discrepancies() == []


def test_a_return_does_not_take_points_that_already_expired_a_second_time(member, store, program):
    """A purchase's points that expired unused already left the account once (they are in
    lifetime_expired). Returning the goods later must not take them again from points the
    member holds for other reasons: a negative balance is only for "a return of points that
    were already spent" (PointAccount.available), and these were never spent."""
    with time_machine.travel(local(2026, 1, 15), tick=False):
        purchase, lot = earn(member, store, program, points=100, occurred_at=local(2026, 1, 5))
    later = grant(member, program, 200, "later", on=date(2027, 1, 20)).lot
    assert ledger.points_expire_due(today=date(2027, 2, 1)) == 1
    lot.refresh_from_db()
    assert (lot.status, account_of(member).available) == ("expired", 200)

    with time_machine.travel(local(2027, 2, 3), tick=False):
        give_back(purchase, 100)

    later.refresh_from_db()
    account = account_of(member)
    assert (account.available, account.lifetime_spent) == (200, 0)
    assert later.remaining == 200
    assert ledger_discrepancies() == []


def test_a_bonus_pays_the_debt_first(member_in_debt, program):
    first = grant(member_in_debt, program, 60, "sorry-1", on=date(2026, 3, 12)).lot
    assert (first.points, first.remaining) == (60, 0)
    assert account_of(member_in_debt).available == -40

    second = grant(member_in_debt, program, 70, "sorry-2", on=date(2026, 3, 13)).lot
    assert (second.points, second.remaining) == (70, 30)
    assert account_of(member_in_debt).available == 30
    assert ledger_discrepancies() == []


# ---------------------------------------------------------------- bonuses


def test_a_bonus_with_the_same_idempotency_key_credits_once(member, program):
    with time_machine.travel(local(2026, 5, 1), tick=False):
        first = grant(member, program, 200, "birthday:2026")
        again = grant(member, program, 200, "birthday:2026")
    assert again.pk == first.pk
    assert PointEntry.objects.filter(member=member).count() == 1
    assert PointLot.objects.filter(member=member).count() == 1
    account = account_of(member)
    assert (account.available, account.lifetime_earned) == (200, 200)
    assert (first.kind, first.lot.expires_on) == ("bonus", date(2027, 5, 31))


# ---------------------------------------------------------------- staff adjustments


def adjust(member, program, user, points, reason="Goodwill after a complaint"):
    return ledger.points_adjust(
        member=member, points=points, reason=reason, acting_user=user, program=program
    )


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_staff_adjustment_needs_a_reason(member, program, support, reason):
    with pytest.raises(ValidationError) as caught:
        adjust(member, program, support, 50, reason=reason)
    assert "reason" in caught.value.message_dict
    assert not PointEntry.objects.filter(member=member).exists()
    assert account_of(member).available == 0


def test_a_staff_adjustment_needs_the_adjust_points_permission(member, program, marketer, support):
    assert not marketer.has_perm("members.adjust_points")
    with pytest.raises(DomainError) as caught:
        adjust(member, program, marketer, 50)
    assert caught.value.code == "permission_denied"
    assert not PointEntry.objects.filter(member=member).exists()
    assert not AuditEntry.objects.filter(action="points.adjusted").exists()

    assert support.has_perm("members.adjust_points")
    adjust(member, program, support, 50)
    assert account_of(member).available == 50


def test_a_staff_adjustment_is_recorded_with_its_actor_in_the_audit_trail(member, program, support):
    with time_machine.travel(local(2026, 4, 2), tick=False):
        entry = adjust(member, program, support, 75, reason="Missed receipt R-77")
    assert (entry.kind, entry.available_delta, entry.actor, entry.reason) == (
        "adjust",
        75,
        support,
        "Missed receipt R-77",
    )
    audit = AuditEntry.objects.get(action="points.adjusted")
    assert (audit.actor, audit.member, audit.reason) == (support, member, "Missed receipt R-77")
    assert audit.data == {"points": 75, "entry": entry.pk}
    assert entry.lot.expires_on == date(2027, 4, 30)
    assert ledger_discrepancies() == []


def test_a_deduction_cannot_take_the_balance_below_zero(member, program, support):
    with time_machine.travel(local(2026, 4, 2), tick=False):
        adjust(member, program, support, 50)
        before = ledger_state(member)
        with pytest.raises(DomainError) as caught:
            adjust(member, program, support, -60, reason="Duplicate credit")
        assert caught.value.code == "insufficient_points"
        assert ledger_state(member) == before

        adjust(member, program, support, -50, reason="Duplicate credit")
    account = account_of(member)
    assert account.available == 0
    assert PointLot.objects.get(member=member).remaining == 0
    assert AuditEntry.objects.filter(action="points.adjusted").count() == 2
    assert ledger_discrepancies() == []


def test_reversing_an_adjustment_adds_an_opposite_entry_and_only_once(member, program, support):
    with time_machine.travel(local(2026, 4, 2), tick=False):
        original = adjust(member, program, support, 120)
        correction = ledger.points_adjustment_reverse(
            entry=original, reason="Entered twice", acting_user=support, program=program
        )
        assert (correction.kind, correction.available_delta, correction.reverses_id) == (
            "adjust",
            -120,
            original.pk,
        )
        original.refresh_from_db()
        assert (original.available_delta, original.reverses_id) == (120, None)
        assert account_of(member).available == 0

        with pytest.raises(ValidationError):
            ledger.points_adjustment_reverse(
                entry=original, reason="Again", acting_user=support, program=program
            )
    assert PointEntry.objects.filter(member=member, kind="adjust").count() == 2
    assert AuditEntry.objects.filter(action="points.adjusted", actor=support).count() == 2
    assert account_of(member).available == 0
    assert ledger_discrepancies() == []


# ---------------------------------------------------------------- the ledger check


def test_verify_ledger_passes_on_a_healthy_ledger(member, other_member, store, program, support):
    grant(member, program, 100, "a", on=date(2026, 1, 15))
    with time_machine.travel(local(2026, 3, 1), tick=False):
        purchase, _lot = earn(member, store, program, points=40, occurred_at=timezone.now())
        spend(member, 30)
        adjust(other_member, program, support, 10)
    give_back(purchase, 40)
    ledger.points_mature_due(today=date(2026, 3, 8))
    ledger.points_expire_due(today=date(2027, 2, 1))

    out = StringIO()
    call_command("verify_ledger", stdout=out, stderr=StringIO())
    assert "ledger ok" in out.getvalue()


def test_verify_ledger_names_the_member_whose_cached_balance_was_tampered_with(
    member, other_member, program
):
    grant(member, program, 100, "a", on=date(2026, 1, 15))
    grant(other_member, program, 100, "b", on=date(2026, 1, 15))
    PointAccount.objects.filter(pk=member.pk).update(available=F("available") + 5)

    err = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_ledger", stdout=StringIO(), stderr=err)
    assert f"member {member.pk}:" in err.getvalue()
    assert f"member {other_member.pk}:" not in err.getvalue()


def test_the_database_refuses_a_lot_whose_remaining_exceeds_its_points(member):
    with pytest.raises(IntegrityError), transaction.atomic():
        PointLot.objects.create(
            member=member,
            points=10,
            remaining=11,
            status="available",
            earned_on=date(2026, 1, 1),
            expires_on=date(2027, 1, 31),
        )
    assert not PointLot.objects.filter(member=member).exists()


def test_members_due_an_expiry_notice_are_listed_with_their_points_and_first_date(
    member, other_member, program
):
    """The 30-days-ahead notice: who has points expiring in a period, how many, from when."""
    from members.selectors import points_expiring_between

    grant(member, program, 120, "a", on=date(2026, 1, 10))  # expires after 2027-01-31
    grant(member, program, 30, "b", on=date(2026, 1, 20))  # same month, same date
    grant(member, program, 50, "c", on=date(2026, 3, 5))  # expires after 2027-03-31
    grant(other_member, program, 80, "d", on=date(2026, 2, 1))  # expires after 2027-02-28
    ledger.points_expire_due(today=date(2027, 1, 1))  # nothing is due yet
    spend(member, 100)  # FIFO: leaves 50 of the January points

    due = list(points_expiring_between(date(2027, 1, 1), date(2027, 1, 31)))
    assert due == [{"member_id": member.pk, "points": 50, "first_on": date(2027, 1, 31)}]
    wider = {
        row["member_id"]: row["points"]
        for row in points_expiring_between(date(2027, 1, 1), date(2027, 3, 31))
    }
    assert wider == {member.pk: 100, other_member.pk: 80}

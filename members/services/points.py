"""The point ledger's writes. Every function that changes a member's points runs under the
member's account row lock (``select_for_update``), writes append-only entries, moves lot
``remaining`` and updates the cached balances with ``F()`` in the same transaction.

Callers inside a larger flow (a POS purchase) lock the account once with
``account_lock`` and pass it to the ``*_locked`` helpers; everyone else calls the
public services, which open their own transaction.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty import metrics
from loyalty.errors import DomainError
from members.models import (
    AuditEntry,
    Member,
    PointAccount,
    PointEntry,
    PointLot,
    Program,
    Purchase,
    PurchaseReturn,
    User,
)
from members.services import points_sql

Kind = PointEntry.Kind
LotStatus = PointLot.Status


def end_of_month_after(day: date, months: int) -> date:
    """The last day of the month ``months`` after ``day``'s month (expiry of a lot)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, calendar.monthrange(year, month)[1])


def lot_expiry(earned_on: date, program: Program) -> date:
    return end_of_month_after(earned_on, program.expiry_months)


def account_lock(member_id: int) -> PointAccount:
    """The member's account, locked until the end of the transaction."""
    return PointAccount.objects.select_for_update().get(pk=member_id)


def _apply(account: PointAccount, *, available=0, pending=0, earned=0, spent=0, expired=0):
    """Move the cached balances with F() and keep the locked in-memory copy in step."""
    changes = {}
    for field, delta in (
        ("available", available),
        ("pending", pending),
        ("lifetime_earned", earned),
        ("lifetime_spent", spent),
        ("lifetime_expired", expired),
    ):
        if delta:
            changes[field] = F(field) + delta
            setattr(account, field, getattr(account, field) + delta)
    if changes:
        PointAccount.objects.filter(pk=account.pk).update(**changes, updated_at=timezone.now())


def _debt(account: PointAccount) -> int:
    return max(0, -account.available)


def check_can_spend(account: PointAccount, points: int) -> None:
    """Refuse (``insufficient_points``) to spend more than the available balance; a
    negative balance (a debt) spends nothing."""
    if points > account.available:
        raise DomainError(
            "insufficient_points",
            _("Not enough points: %(available)s available, %(wanted)s asked.")
            % {"available": max(account.available, 0), "wanted": points},
            details={"available": account.available, "requested": points},
        )


@dataclass
class Credit:
    entry: PointEntry
    lot: PointLot | None


def credit_available_locked(
    account: PointAccount,
    *,
    points: int,
    kind: str,
    earned_on: date,
    expires_on: date,
    purchase: Purchase | None = None,
    purchase_return: PurchaseReturn | None = None,
    idempotency_key: str | None = None,
    reason: str = "",
    actor: User | None = None,
    actor_label: str = "",
    counts_as_earned: bool = True,
) -> Credit:
    """Add available points as a new lot; a debt (negative balance) is paid first, so the
    lot keeps only what is left after paying it."""
    if points <= 0:
        raise ValueError("a credit is a positive number of points")
    paid_to_debt = min(points, _debt(account))
    lot = PointLot.objects.create(
        member_id=account.pk,
        purchase=purchase,
        points=points,
        remaining=points - paid_to_debt,
        status=LotStatus.AVAILABLE,
        earned_on=earned_on,
        expires_on=expires_on,
    )
    entry = PointEntry.objects.create(
        member_id=account.pk,
        kind=kind,
        available_delta=points,
        purchase=purchase,
        purchase_return=purchase_return,
        lot=lot,
        idempotency_key=idempotency_key,
        reason=reason,
        actor=actor,
        actor_label=actor_label,
    )
    _apply(account, available=points, earned=points if counts_as_earned else 0)
    if kind != Kind.REFUND:  # a refund gives back what was spent: not new points
        metrics.points_issued(points, kind=kind)
    return Credit(entry, lot)


def earn_for_purchase_locked(
    account: PointAccount, *, purchase: Purchase, points: int, program: Program, today: date
) -> Credit | None:
    """Purchase points: pending until the return window has passed (the daily job of the
    day ``pending_days`` after the purchase makes them available). A back-dated purchase
    whose window has already passed earns available points at once."""
    if points <= 0:
        return None
    earned_on = timezone.localdate(purchase.occurred_at)
    matures_on = date.fromordinal(earned_on.toordinal() + program.pending_days)
    expires_on = lot_expiry(earned_on, program)
    if matures_on <= today:
        return credit_available_locked(
            account,
            points=points,
            kind=Kind.EARN,
            earned_on=earned_on,
            expires_on=expires_on,
            purchase=purchase,
        )
    lot = PointLot.objects.create(
        member_id=account.pk,
        purchase=purchase,
        points=points,
        remaining=points,
        status=LotStatus.PENDING,
        earned_on=earned_on,
        matures_on=matures_on,
        expires_on=expires_on,
    )
    entry = PointEntry.objects.create(
        member_id=account.pk, kind=Kind.EARN, pending_delta=points, purchase=purchase, lot=lot
    )
    _apply(account, pending=points, earned=points)
    metrics.points_issued(points, kind=Kind.EARN)
    return Credit(entry, lot)


def _consume_available_lots(member_id: int, points: int, *, prefer_lot_id: int | None = None):
    """Take ``points`` from available lots, soonest expiry first (``prefer_lot_id`` first of
    all). Returns (points taken, earliest expiry among the lots used)."""
    lots = list(
        PointLot.objects.filter(
            member_id=member_id, status=LotStatus.AVAILABLE, remaining__gt=0
        ).order_by("expires_on", "id")
    )
    if prefer_lot_id is not None:
        lots.sort(key=lambda lot: lot.pk != prefer_lot_id)
    taken, earliest, changed = 0, None, []
    for lot in lots:
        if taken == points:
            break
        take = min(lot.remaining, points - taken)
        lot.remaining -= take
        taken += take
        earliest = lot.expires_on if earliest is None else min(earliest, lot.expires_on)
        changed.append(lot)
    PointLot.objects.bulk_update(changed, ["remaining"])
    return taken, earliest


def spend_locked(
    account: PointAccount,
    *,
    points: int,
    purchase: Purchase | None = None,
    reason: str = "",
    actor: User | None = None,
    actor_label: str = "",
    idempotency_key: str | None = None,
) -> PointEntry:
    """Spend available points, lots that expire soonest first. Never below zero."""
    if points <= 0:
        raise ValueError("spend a positive number of points")
    check_can_spend(account, points)
    taken, earliest = _consume_available_lots(account.pk, points)
    if taken != points:  # the lots disagree with the cached balance: refuse, loudly
        raise RuntimeError(f"ledger out of balance for member {account.pk}; run verify_ledger")
    entry = PointEntry.objects.create(
        member_id=account.pk,
        kind=Kind.SPEND,
        available_delta=-points,
        purchase=purchase,
        lots_expire_on=earliest,
        reason=reason,
        actor=actor,
        actor_label=actor_label,
        idempotency_key=idempotency_key,
    )
    _apply(account, available=-points, spent=points)
    metrics.points_spent(points)
    return entry


def reverse_for_return_locked(
    account: PointAccount, *, purchase: Purchase, purchase_return: PurchaseReturn, points: int
) -> PointEntry | None:
    """Take back points a purchase earned: from what is left of its own lot first (pending
    points, inside the return window); what of that lot already expired is not taken a
    second time; what the member spent is taken from other lots, soonest expiry first, and
    what the member no longer has becomes a debt (a negative balance) that later earnings
    pay."""
    if points <= 0:
        return None
    earn = PointEntry.objects.filter(purchase=purchase, kind=Kind.EARN).select_related("lot")
    lot = earn[0].lot if earn else None
    from_pending = from_lot = forgiven = 0
    if lot is not None and lot.remaining:
        taken = min(points, lot.remaining)
        if lot.status == LotStatus.PENDING:
            from_pending = taken
        else:
            from_lot = taken
        lot.remaining -= taken
        if lot.remaining == 0 and lot.status == LotStatus.PENDING:
            lot.status = LotStatus.CANCELLED
        lot.save(update_fields=["remaining", "status"])
    rest = points - from_pending - from_lot
    if rest and lot is not None:
        forgiven = min(rest, _expired_not_yet_forgiven(purchase, lot, purchase_return))
        rest -= forgiven
    if rest:
        _consume_available_lots(account.pk, rest)
    from_available = from_lot + rest
    if not from_available and not from_pending:
        # All of it had expired: nothing left to take, but the earning is undone.
        _apply(account, earned=-points)
        return None
    entry = PointEntry.objects.create(
        member_id=account.pk,
        kind=Kind.REVERSE,
        available_delta=-from_available,
        pending_delta=-from_pending,
        purchase=purchase,
        purchase_return=purchase_return,
    )
    _apply(account, available=-from_available, pending=-from_pending, earned=-points)
    return entry


def _expired_not_yet_forgiven(purchase: Purchase, lot: PointLot, current: PurchaseReturn) -> int:
    """Points of the purchase's lot that expired unused, less what earlier returns already
    let go of (their reversed points minus what their entries actually took)."""
    expired = -sum(
        PointEntry.objects.filter(lot=lot, kind=Kind.EXPIRE).values_list(
            "available_delta", flat=True
        )
    )
    earlier = purchase.returns.exclude(pk=current.pk)
    reversed_before = sum(earlier.values_list("points_reversed", flat=True))
    taken_before = -sum(
        a + p
        for a, p in PointEntry.objects.filter(purchase=purchase, kind=Kind.REVERSE)
        .exclude(purchase_return=current)
        .values_list("available_delta", "pending_delta")
    )
    return max(0, expired - (reversed_before - taken_before))


def refund_for_return_locked(
    account: PointAccount,
    *,
    purchase: Purchase,
    purchase_return: PurchaseReturn,
    points: int,
    today: date,
) -> Credit | None:
    """Give back points that paid for returned goods. They keep the earliest expiry of the
    lots they were spent from (so a return never extends points' life), but never less than
    the end of this month."""
    if points <= 0:
        return None
    spend = PointEntry.objects.filter(purchase=purchase, kind=Kind.SPEND).first()
    floor = end_of_month_after(today, 0)
    expires_on = max(spend.lots_expire_on or floor, floor) if spend else floor
    credit = credit_available_locked(
        account,
        points=points,
        kind=Kind.REFUND,
        earned_on=today,
        expires_on=expires_on,
        purchase=purchase,
        purchase_return=purchase_return,
        counts_as_earned=False,
    )
    # A refund gives back what was spent: lifetime_spent goes down, not lifetime_earned up.
    _apply(account, spent=-points)
    return credit


def refund_spend_locked(
    account: PointAccount,
    *,
    spend: PointEntry,
    today: date,
    reason: str = "",
    actor: User | None = None,
    actor_label: str = "",
    idempotency_key: str | None = None,
) -> Credit:
    """Give back all the points of a spend made without a purchase (a reward redeemed and
    then cancelled). Like a return's refund, they keep the earliest expiry of the lots they
    were spent from, but never less than the end of this month; ``lifetime_spent`` goes down.
    The same ``idempotency_key`` never refunds twice (unique constraint)."""
    if spend.kind != Kind.SPEND or spend.member_id != account.pk:
        raise ValueError("refund a spend entry of this account")
    points = -spend.available_delta
    floor = end_of_month_after(today, 0)
    credit = credit_available_locked(
        account,
        points=points,
        kind=Kind.REFUND,
        earned_on=today,
        expires_on=max(spend.lots_expire_on or floor, floor),
        idempotency_key=idempotency_key,
        reason=reason,
        actor=actor,
        actor_label=actor_label,
        counts_as_earned=False,
    )
    _apply(account, spent=-points)
    return credit


@transaction.atomic
def points_grant(
    *,
    member: Member,
    points: int,
    idempotency_key: str,
    reason: str,
    program: Program,
    actor: User | None = None,
    actor_label: str = "",
) -> PointEntry:
    """A bonus (birthday, referral, review, campaign): available at once. The same
    ``idempotency_key`` never credits twice; a repeat returns the first entry."""
    existing = PointEntry.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    account = account_lock(member.pk)
    existing = PointEntry.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:  # granted while we waited for the lock
        return existing
    today = timezone.localdate()
    try:
        with transaction.atomic():
            return credit_available_locked(
                account,
                points=points,
                kind=Kind.BONUS,
                earned_on=today,
                expires_on=lot_expiry(today, program),
                idempotency_key=idempotency_key,
                reason=reason,
                actor=actor,
                actor_label=actor_label,
            ).entry
    except IntegrityError:
        return PointEntry.objects.get(idempotency_key=idempotency_key)


@transaction.atomic
def points_adjust(
    *,
    member: Member,
    points: int,
    reason: str,
    acting_user: User,
    program: Program,
    earned_delta: int | None = None,
) -> PointEntry:
    """A staff adjustment with a required reason, audited. A deduction cannot take the
    balance below zero. ``lifetime_earned`` grows by an addition and is left alone by a
    deduction, unless ``earned_delta`` says otherwise (undoing an earlier adjustment)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the points are adjusted.")]})
    if not acting_user.has_perm("members.adjust_points"):
        raise DomainError("permission_denied", _("You may not adjust points."))
    if points == 0:
        raise ValidationError({"points": [_("Enter a number of points other than zero.")]})
    account = account_lock(member.pk)
    today = timezone.localdate()
    if points > 0:
        entry = credit_available_locked(
            account,
            points=points,
            kind=Kind.ADJUST,
            earned_on=today,
            expires_on=lot_expiry(today, program),
            reason=reason,
            actor=acting_user,
            counts_as_earned=False,
        ).entry
    else:
        wanted = -points
        if account.available < wanted:
            raise DomainError(
                "insufficient_points",
                _("Cannot deduct %(wanted)s points: %(available)s available.")
                % {"wanted": wanted, "available": max(account.available, 0)},
                details={"available": account.available, "requested": wanted},
            )
        _consume_available_lots(account.pk, wanted)
        entry = PointEntry.objects.create(
            member_id=account.pk,
            kind=Kind.ADJUST,
            available_delta=points,
            reason=reason,
            actor=acting_user,
        )
        _apply(account, available=points)
    # An addition counts as earned; a deduction is not "un-earning".
    earned = earned_delta if earned_delta is not None else max(points, 0)
    if earned:
        _apply(account, earned=earned)
    AuditEntry.objects.create(
        actor=acting_user,
        action="points.adjusted",
        member=member,
        reason=reason,
        data={"points": points, "entry": entry.pk},
    )
    return entry


@transaction.atomic
def points_adjustment_reverse(
    *, entry: PointEntry, reason: str, acting_user: User, program: Program
) -> PointEntry:
    """Undo a staff adjustment with a new, opposite adjustment (entries are never edited)."""
    if entry.kind != Kind.ADJUST:
        raise ValidationError({"entry": [_("Only a staff adjustment can be reversed here.")]})
    if PointEntry.objects.filter(reverses=entry).exists():
        raise ValidationError({"entry": [_("This adjustment was already reversed.")]})
    correction = points_adjust(
        member=entry.member,
        points=-entry.available_delta,
        reason=reason,
        acting_user=acting_user,
        program=program,
        # Undoing an addition takes back what it counted as earned; undoing a deduction
        # gives points back without counting them as earned again.
        earned_delta=-entry.available_delta if entry.available_delta > 0 else 0,
    )
    PointEntry.objects.filter(pk=correction.pk).update(reverses=entry)
    correction.reverses = entry
    return correction


def points_mature_due(*, today: date) -> int:
    """Daily: pending lots whose return window has passed become available. Returns the
    number of lots matured. Set-based; a second run finds nothing due."""
    return points_sql.mature_due(today=today, now=timezone.now())


def points_expire_due(*, today: date) -> int:
    """Daily: what remains of lots whose expiry date has passed expires, FIFO by
    construction (each lot carries its own date). Returns the number of lots expired."""
    return points_sql.expire_due(today=today, now=timezone.now())

"""Referrals: recorded when the new member joins (with the join-time fraud checks), paid by
the daily job once the first qualifying purchase has passed the return window (with the
payout checks and the referrer's monthly cap), reviewed by staff when held.

The rules, as implemented (``ReferralProgram`` holds the numbers):

- **Join** (``referral_record_join``, from ``members.signals.member_enrolled``): refused
  at once for a *self-referral* (the new member's phone, or normalised email, is or was the
  referrer's: ``promotions.contacts``); held for review when the new member *was a member
  before* (their phone or normalised email is or was another member's: ``KnownContact``),
  when more than ``max_joins_per_day`` joined through the same code on the same local day
  from the *same IP address* or the *same device* (the till's store at the POS), or when
  the referrer is blocked; refused when the programme is paused.
- **Qualifying purchase**: the new member's first purchase (by time, then id) made before
  ``window_ends_at`` (the end of the local day ``window_days`` after the day of joining;
  the day of joining is day 0), not fully returned, whose total net of returns reaches
  ``min_purchase_amount``. A smaller or returned purchase does not count; a later one
  within the window can.
- **Payout** (``referrals_pay_due``, daily job ``promotions.referrals``): a pending referral
  is paid on the first run whose ``today`` is at least the purchase's local date plus the
  programme's ``pending_days`` (the day its points mature). Before paying it is held if
  the referrer's own payment card (``payment_fingerprint``) ever paid for one of the
  referrer's purchases and paid the qualifying purchase, or if either member is blocked.
  Both sides are paid in one transaction, points through ``points_grant`` with the keys
  ``referral:<id>:referrer`` / ``referral:<id>:referee`` and vouchers of the configured
  rewards (``rewards.services.voucher_issue_campaign``, the same references; out of stock
  holds the referral and pays neither side); the referral row is locked and moves from
  pending/held only once, so nothing is paid twice.
- **Monthly cap**: when the referrer already had ``monthly_cap`` referrals paid to them in
  the local calendar month of the payout, the new member is still paid and the referrer
  is not (reason ``cap_reached``, ``referrer_rewarded`` False); the referral is rewarded.
- **Window expired**: a pending referral with no qualifying purchase is refused
  (``window_expired``) once no purchase inside the window can still arrive: on the first
  run on or after the window's end plus the programme's ``backdate_days`` (an offline till
  may sync a purchase that late).
- **Review**: staff approve a held referral (paid at once if its purchase condition is
  met, else back to pending; the reasons they saw are not checked again) or reject it
  (refused); both are audited.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from itertools import islice

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Case,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    JSONField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty.errors import DomainError
from members.models import AuditEntry, Member, Program, Purchase, User
from members.selectors import program_get
from members.services import points as ledger
from promotions.contacts import email_normalize, member_contacts
from promotions.models import KnownContact, Referral, ReferralProgram
from promotions.selectors import referral_program_get
from rewards.services import voucher_issue_campaign

Status = Referral.Status

REFUSE, HOLD, NOTE = "refuse", "hold", "note"

# code -> (what it does to the referral, text for staff)
REASONS: dict[str, tuple[str, str]] = {
    "self_referral": (
        REFUSE,
        gettext_lazy("The new member's phone or email is (or was) the referrer's."),
    ),
    "already_member": (
        HOLD,
        gettext_lazy("The new member's phone or email is (or was) another member's."),
    ),
    "same_ip": (
        HOLD,
        gettext_lazy(
            "More members than allowed joined through this code from one IP address that day."
        ),
    ),
    "same_device": (
        HOLD,
        gettext_lazy(
            "More members than allowed joined through this code from one device that day."
        ),
    ),
    "referrer_blocked": (HOLD, gettext_lazy("The referrer's membership is blocked.")),
    "referee_blocked": (HOLD, gettext_lazy("The new member's membership is blocked.")),
    "member_blocked": (
        HOLD,
        gettext_lazy("A voucher cannot be issued to a blocked member."),
    ),
    "same_payment_card": (
        HOLD,
        gettext_lazy("The first purchase was paid with a card the referrer has paid with."),
    ),
    "reward_unavailable": (
        HOLD,
        gettext_lazy("The reward voucher could not be issued (out of stock)."),
    ),
    "window_expired": (
        REFUSE,
        gettext_lazy("No qualifying first purchase within the referral window."),
    ),
    "programme_paused": (REFUSE, gettext_lazy("The referral programme was paused.")),
    "rejected": (REFUSE, gettext_lazy("Rejected by staff.")),
    "approved": (NOTE, gettext_lazy("Approved by staff.")),
    "cap_reached": (
        NOTE,
        gettext_lazy("The referrer's monthly cap was reached: only the new member was rewarded."),
    ),
}


def reason_text(code: str) -> str:
    return str(REASONS[code][1]) if code in REASONS else code


def _reason(code: str, now: datetime, **detail) -> dict:
    if code not in REASONS:
        raise ValueError(f"unknown referral reason {code!r}")
    return {"code": code, "at": now.isoformat(), **({"detail": detail} if detail else {})}


def _codes(reasons: list[dict]) -> str:
    """The space-padded list of codes the admin filters on (`` same_ip cap_reached ``)."""
    return (" " + " ".join(r["code"] for r in reasons) + " ") if reasons else ""


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


# ---------------------------------------------------------------------------------------------
# Contacts


def contacts_record(*, member: Member, before: dict | None = None) -> None:
    """Remember the member's phone and normalised email (and, after a profile change, the
    ones they had ``before``), so a later sign-up with them is recognised."""
    pairs = set(member_contacts(phone=member.phone, email=member.email))
    if before:
        pairs |= set(member_contacts(phone=before.get("phone"), email=before.get("email")))
    KnownContact.objects.bulk_create(
        [KnownContact(kind=kind, value=value, member=member) for kind, value in sorted(pairs)],
        ignore_conflicts=True,
    )


def _contact_owners(member: Member) -> set[int | None]:
    """Ids of the other members (None: a deleted one) who have or had one of ``member``'s
    contacts."""
    condition = Q(pk__in=[])
    for kind, value in member_contacts(phone=member.phone, email=member.email):
        condition |= Q(kind=kind, value=value)
    return set(
        KnownContact.objects.filter(condition)
        .exclude(member_id=member.pk)
        .values_list("member_id", flat=True)
    )


# ---------------------------------------------------------------------------------------------
# Join


def referral_record_join(
    *,
    referee: Member,
    referrer: Member,
    channel: str,
    ip: str | None = None,
    device_id: str = "",
) -> Referral:
    """Record that ``referee`` joined with ``referrer``'s code, with the join-time checks
    (module docstring). Runs in the enrolment's transaction; the referrer's row is locked
    so that joins through one code are counted one at a time."""
    rules = referral_program_get()
    now = timezone.now()
    joined_on = timezone.localdate(referee.joined_at)
    reasons: list[dict] = []
    if not rules.is_active:
        reasons.append(_reason("programme_paused", now))
    else:
        locked = (
            Member.objects.select_for_update()
            .only("pk", "phone", "email", "status")
            .get(pk=referrer.pk)
        )
        same_phone = bool(referee.phone) and referee.phone == locked.phone
        same_email = bool(referee.email and locked.email) and email_normalize(
            referee.email
        ) == email_normalize(locked.email)
        owners = _contact_owners(referee)
        if same_phone or same_email or locked.pk in owners:
            reasons.append(_reason("self_referral", now))
        elif owners:
            reasons.append(_reason("already_member", now, members=sorted(o or 0 for o in owners)))
        if locked.is_blocked:
            reasons.append(_reason("referrer_blocked", now))
        today_joins = Referral.objects.filter(referrer_id=locked.pk, joined_on=joined_on)
        if ip:
            joins = today_joins.filter(ip=ip).count() + 1
            if joins > rules.max_joins_per_day:
                reasons.append(_reason("same_ip", now, joins=joins, ip=ip))
        if device_id:
            joins = today_joins.filter(device_id=device_id).count() + 1
            if joins > rules.max_joins_per_day:
                reasons.append(_reason("same_device", now, joins=joins, device=device_id))
    effects = {REASONS[r["code"]][0] for r in reasons}
    status = Status.REFUSED if REFUSE in effects else Status.HELD if HOLD in effects else None
    return Referral.objects.create(
        referrer_id=referrer.pk,
        referee=referee,
        status=status or Status.PENDING,
        reasons=reasons,
        reason_codes=_codes(reasons),
        channel=channel or "",
        ip=ip or None,
        device_id=device_id or "",
        joined_at=referee.joined_at,
        joined_on=joined_on,
        window_ends_at=_local_midnight(joined_on + timedelta(days=rules.window_days + 1)),
        decided_at=now if status else None,
    )


# ---------------------------------------------------------------------------------------------
# Payout


# A sale rung up just before the enrolment at the till counts; a purchase from before the
# member joined (back-dated from an offline till, or imported history) does not.
JOINED_SLACK = timedelta(days=1)


def _qualifying(rules: ReferralProgram, *, referee_id, window_ends_at, joined_at):
    """The new member's purchases that qualify, first first (module docstring): from a day
    before joining (``JOINED_SLACK``) to the end of the window."""
    if isinstance(joined_at, OuterRef):
        earliest = ExpressionWrapper(joined_at - JOINED_SLACK, output_field=DateTimeField())
    else:
        earliest = joined_at - JOINED_SLACK
    return (
        Purchase.objects.filter(
            member_id=referee_id,
            occurred_at__gte=earliest,
            occurred_at__lt=window_ends_at,
            returned_amount__lt=F("total_amount"),
        )
        .alias(net=F("total_amount") - F("returned_amount"))
        .filter(net__gte=rules.min_purchase_amount)
        .order_by("occurred_at", "id")
    )


def _matured(purchase: Purchase, program: Program, today: date) -> bool:
    return timezone.localdate(purchase.occurred_at) + timedelta(days=program.pending_days) <= today


def _month(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following


def _pay_side(*, member, points, reward, referral, side, program, today, text):
    entry = voucher = None
    if points:
        entry = ledger.points_grant(
            member=member,
            points=points,
            idempotency_key=f"referral:{referral.pk}:{side}",
            reason=text,
            program=program,
            actor_label="referral",
        )
    if reward is not None:
        # Idempotent by its reference, like the points by their key.
        voucher = voucher_issue_campaign(
            member=member,
            reward=reward,
            reference=f"referral:{referral.pk}:{side}",
            reason=text,
            today=today,
        )
    return entry, voucher


def _hold(referral: Referral, reasons: list[dict], now: datetime) -> None:
    all_reasons = [*referral.reasons, *reasons]
    updated = Referral.objects.filter(pk=referral.pk, status=referral.status).update(
        status=Status.HELD, reasons=all_reasons, reason_codes=_codes(all_reasons), decided_at=now
    )
    if updated != 1:  # the row is locked by us: anything else is a bug
        raise RuntimeError(f"referral {referral.pk} changed under its lock")
    referral.status, referral.reasons = Status.HELD, all_reasons


def _settle(
    referral_id: int,
    *,
    today: date,
    rules: ReferralProgram,
    program: Program,
    approving: bool = False,
) -> str:
    """Pay one referral if its qualifying purchase has passed the return window and the
    payout checks pass; hold it otherwise. Returns ``paid``, ``held``, ``waiting`` (no
    matured qualifying purchase yet) or ``skipped`` (not pending, or not held when
    approving). Locks: the referral row, then both point accounts in id order."""
    now = timezone.now()
    with transaction.atomic():
        referral = Referral.objects.select_for_update().filter(pk=referral_id).first()
        wanted = Status.HELD if approving else Status.PENDING
        if referral is None or referral.status != wanted:
            return "skipped"
        purchase = _qualifying(
            rules,
            referee_id=referral.referee_id,
            window_ends_at=referral.window_ends_at,
            joined_at=referral.joined_at,
        ).first()
        if purchase is None or not _matured(purchase, program, today):
            return "waiting"
        for member_id in sorted({referral.referrer_id, referral.referee_id}):
            ledger.account_lock(member_id)
        people = Member.objects.in_bulk([referral.referrer_id, referral.referee_id])
        referrer, referee = people[referral.referrer_id], people[referral.referee_id]
        reviewed = {r["code"] for r in referral.reasons} if referral.reviewed_at else set()
        problems = []
        if referrer.is_blocked and "referrer_blocked" not in reviewed:
            problems.append(_reason("referrer_blocked", now))
        if referee.is_blocked and "referee_blocked" not in reviewed:
            problems.append(_reason("referee_blocked", now))
        card = purchase.payment_fingerprint
        if (
            card
            and "same_payment_card" not in reviewed
            and Purchase.objects.filter(member_id=referrer.pk, payment_fingerprint=card).exists()
        ):
            problems.append(_reason("same_payment_card", now, purchase=purchase.pk))
        if problems:
            _hold(referral, problems, now)
            return "held"
        notes = []
        referrer_paid = bool(rules.referrer_points or rules.referrer_reward_id)
        if referrer_paid and rules.monthly_cap:
            start, following = _month(today)
            paid_this_month = Referral.objects.filter(
                referrer_id=referrer.pk,
                referrer_rewarded=True,
                paid_on__gte=start,
                paid_on__lt=following,
            ).count()
            if paid_this_month >= rules.monthly_cap:
                referrer_paid = False
                notes.append(_reason("cap_reached", now, cap=rules.monthly_cap))
        with translation.override(settings.LANGUAGE_CODE):
            referee_text = _("Welcome bonus: you joined with a friend's code")
            referrer_text = _("Referral bonus: %(name)s joined with your code") % {
                "name": referee.full_name
            }
        try:
            with transaction.atomic():
                referee_entry, referee_voucher = _pay_side(
                    member=referee,
                    points=rules.referee_points,
                    reward=rules.referee_reward,
                    referral=referral,
                    side="referee",
                    program=program,
                    today=today,
                    text=referee_text,
                )
                referrer_entry = referrer_voucher = None
                if referrer_paid:
                    referrer_entry, referrer_voucher = _pay_side(
                        member=referrer,
                        points=rules.referrer_points,
                        reward=rules.referrer_reward,
                        referral=referral,
                        side="referrer",
                        program=program,
                        today=today,
                        text=referrer_text,
                    )
        except DomainError as exc:
            # Nothing of either side was paid (the savepoint rolled back).
            if exc.code == "reward_unavailable":
                _hold(referral, [_reason("reward_unavailable", now)], now)
            elif exc.code == "member_blocked":  # approved while blocked: no voucher
                _hold(referral, [_reason("member_blocked", now)], now)
            else:
                raise
            return "held"
        reasons = [*referral.reasons, *notes]
        updated = Referral.objects.filter(pk=referral.pk, status=wanted).update(
            status=Status.REWARDED,
            purchase=purchase,
            paid_on=today,
            referee_points=rules.referee_points if referee_entry else 0,
            referrer_points=rules.referrer_points if referrer_entry else 0,
            referrer_rewarded=referrer_paid,
            referee_entry=referee_entry,
            referrer_entry=referrer_entry,
            referee_voucher=referee_voucher,
            referrer_voucher=referrer_voucher,
            reasons=reasons,
            reason_codes=_codes(reasons),
            decided_at=now,
        )
        if updated != 1:
            raise RuntimeError(f"referral {referral.pk} changed under its lock")
    return "paid"


def _batched(iterable, size: int):
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _expire(*, today: date, rules: ReferralProgram, program: Program) -> int:
    """Refuse (``window_expired``) the pending referrals with no qualifying purchase whose
    window ended at least ``backdate_days`` days ago. One UPDATE per 500 referrals."""
    now = timezone.now()
    deadline = _local_midnight(today - timedelta(days=program.backdate_days))
    qualifying = _qualifying(
        rules,
        referee_id=OuterRef("referee_id"),
        window_ends_at=OuterRef("window_ends_at"),
        joined_at=OuterRef("joined_at"),
    )
    rows = (
        Referral.objects.filter(status=Status.PENDING, window_ends_at__lte=deadline)
        .filter(~Exists(qualifying))
        .order_by("id")
        .values_list("id", "reasons")
    )
    refused = 0
    for chunk in _batched(rows.iterator(chunk_size=500), 500):
        reasons = {pk: [*old, _reason("window_expired", now)] for pk, old in chunk}
        refused += Referral.objects.filter(pk__in=list(reasons), status=Status.PENDING).update(
            status=Status.REFUSED,
            decided_at=now,
            reasons=Case(
                *[
                    When(pk=pk, then=Value(new, output_field=JSONField()))
                    for pk, new in reasons.items()
                ],
                output_field=JSONField(),
            ),
            reason_codes=Case(
                *[When(pk=pk, then=Value(_codes(new))) for pk, new in reasons.items()],
                default=F("reason_codes"),
            ),
        )
    return refused


def referrals_pay_due(*, today: date) -> dict:
    """Daily: pay the pending referrals whose qualifying purchase has passed the return
    window (one transaction each; candidates found by one query), then refuse those whose
    window has expired. Idempotent: a second run for the same day finds nothing to do."""
    rules = referral_program_get()
    program = program_get()
    cutoff = _local_midnight(today - timedelta(days=program.pending_days - 1))
    first_at = Subquery(
        _qualifying(
            rules,
            referee_id=OuterRef("referee_id"),
            window_ends_at=OuterRef("window_ends_at"),
            joined_at=OuterRef("joined_at"),
        ).values("occurred_at")[:1]
    )
    due = list(
        Referral.objects.filter(status=Status.PENDING)
        .annotate(first_at=first_at)
        .filter(first_at__lt=cutoff)
        .order_by("id")
        .values_list("id", flat=True)
    )
    counts = {"paid": 0, "held": 0}
    for referral_id in due:
        result = _settle(referral_id, today=today, rules=rules, program=program)
        if result in counts:
            counts[result] += 1
    counts["refused"] = _expire(today=today, rules=rules, program=program)
    return counts


# ---------------------------------------------------------------------------------------------
# Review


def _check_reviewer(user: User) -> None:
    if not user.has_perm("promotions.review_referral"):
        raise DomainError("permission_denied", _("You may not review referrals."))


def referral_approve(
    *, referral: Referral, acting_user: User, note: str = "", today: date | None = None
) -> Referral:
    """Staff approve a held referral: paid at once when its qualifying purchase has passed
    the return window, back to pending otherwise (the daily job pays it later). The reasons
    it was held for are not checked again; a new one (say the card check) holds it again.
    Audited. Raises ``referral_not_held`` for a referral that is not held."""
    _check_reviewer(acting_user)
    today = today or timezone.localdate()
    now = timezone.now()
    with transaction.atomic():
        locked = Referral.objects.select_for_update().get(pk=referral.pk)
        if locked.status != Status.HELD:
            raise DomainError("referral_not_held", _("Only a held referral can be approved."))
        reasons = [*locked.reasons, _reason("approved", now)]
        Referral.objects.filter(pk=locked.pk).update(
            reviewed_by=acting_user,
            reviewed_at=now,
            review_note=(note or "").strip(),
            reasons=reasons,
            reason_codes=_codes(reasons),
        )
        result = _settle(
            locked.pk,
            today=today,
            rules=referral_program_get(),
            program=program_get(),
            approving=True,
        )
        if result == "waiting":
            Referral.objects.filter(pk=locked.pk, status=Status.HELD).update(
                status=Status.PENDING, decided_at=None
            )
        AuditEntry.objects.create(
            actor=acting_user,
            action="referral.approved",
            member_id=locked.referee_id,
            reason=(note or "").strip(),
            data={"referral": locked.pk, "result": result},
        )
    return Referral.objects.get(pk=referral.pk)


def referral_reject(*, referral: Referral, acting_user: User, note: str = "") -> Referral:
    """Staff reject a held (or pending) referral: refused, nothing paid. Audited."""
    _check_reviewer(acting_user)
    now = timezone.now()
    with transaction.atomic():
        locked = Referral.objects.select_for_update().get(pk=referral.pk)
        if locked.status not in (Status.HELD, Status.PENDING):
            raise DomainError(
                "referral_not_held", _("Only a held or pending referral can be rejected.")
            )
        reasons = [*locked.reasons, _reason("rejected", now)]
        Referral.objects.filter(pk=locked.pk, status=locked.status).update(
            status=Status.REFUSED,
            reasons=reasons,
            reason_codes=_codes(reasons),
            decided_at=now,
            reviewed_by=acting_user,
            reviewed_at=now,
            review_note=(note or "").strip(),
        )
        AuditEntry.objects.create(
            actor=acting_user,
            action="referral.rejected",
            member_id=locked.referee_id,
            reason=(note or "").strip(),
            data={"referral": locked.pk},
        )
    return Referral.objects.get(pk=referral.pk)

"""Vouchers at the till: checking and pricing the codes of a purchase, consuming them once,
giving them back when the purchase is fully returned; and the daily expiry.

The POS purchase flow calls these inside its own transaction, after it has locked the
member's point account: ``vouchers_for_purchase(lock=True)`` locks the voucher rows,
``vouchers_consume_locked`` marks them used on the purchase with a conditional UPDATE (so
two tills presenting one voucher at the same moment use it once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from django.db import transaction
from django.db.models import Case, F, Max, Min, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import DomainError
from loyalty.money import CENT, money_text
from members.models import Member, Purchase
from rewards.codes import voucher_code_display, voucher_code_is_valid, voucher_code_normalize
from rewards.models import Voucher

EXPIRE_CHUNK = 20_000


@dataclass
class VoucherApplication:
    """The vouchers of one purchase, in the order given, with what each takes off."""

    vouchers: list[Voucher] = field(default_factory=list)
    discounts: list[Decimal] = field(default_factory=list)

    @property
    def discount(self) -> Decimal:
        return sum(self.discounts, Decimal(0))


def voucher_discount(voucher: Voucher, left: Decimal) -> Decimal:
    """What ``voucher`` takes off when ``left`` is still to pay: never more than ``left``.
    A percentage is of ``left``, rounded down to the cent, then capped."""
    if left <= 0:
        return Decimal(0)
    if voucher.kind == Voucher.Kind.PERCENT:
        off = (left * voucher.discount_percent / 100).quantize(CENT, rounding=ROUND_FLOOR)
        if voucher.discount_cap is not None:
            off = min(off, voucher.discount_cap)
    elif voucher.kind == Voucher.Kind.PARTNER:
        off = Decimal(0)
    else:
        off = voucher.discount_amount or Decimal(0)
    return min(off, left)


def _invalid(code: str, message: str, reason: str) -> DomainError:
    return DomainError("voucher_invalid", message, details={"code": code, "reason": reason})


def _check(voucher: Voucher | None, code: str, member: Member, amount: Decimal, today: date):
    """Raise the contract's error for a voucher that cannot pay for this purchase."""
    shown = voucher_code_display(code)
    if voucher is None or voucher.member_id != member.pk:
        # Someone else's voucher answers like one that does not exist: it reveals nothing.
        raise _invalid(code, _("Voucher %(code)s is not valid.") % {"code": shown}, "not_found")
    if voucher.status in (Voucher.Status.USED, Voucher.Status.CANCELLED):
        raise DomainError(
            "voucher_used",
            _("Voucher %(code)s was already used.") % {"code": shown}
            if voucher.status == Voucher.Status.USED
            else _("Voucher %(code)s was cancelled.") % {"code": shown},
            details={"code": code, "status": voucher.status},
        )
    if voucher.status == Voucher.Status.EXPIRED or today > voucher.valid_until:
        raise DomainError(
            "voucher_expired",
            _("Voucher %(code)s expired on %(date)s.")
            % {"code": shown, "date": voucher.valid_until.isoformat()},
            details={"code": code, "valid_until": voucher.valid_until.isoformat()},
        )
    if today < voucher.valid_from:
        raise DomainError(
            "voucher_expired",
            _("Voucher %(code)s is valid from %(date)s.")
            % {"code": shown, "date": voucher.valid_from.isoformat()},
            details={"code": code, "valid_from": voucher.valid_from.isoformat()},
        )
    if voucher.kind == Voucher.Kind.PARTNER:
        raise _invalid(
            code,
            _("Voucher %(code)s is used at the partner, not at our tills.") % {"code": shown},
            "partner",
        )
    if amount < voucher.min_spend:
        raise DomainError(
            "voucher_min_spend",
            _("Voucher %(code)s needs a bill of at least %(min)s.")
            % {"code": shown, "min": money_text(voucher.min_spend)},
            details={"code": code, "min_spend": money_text(voucher.min_spend)},
        )


def vouchers_for_purchase(
    *,
    codes: list[str],
    member: Member,
    amount: Decimal,
    today: date | None = None,
    lock: bool,
) -> VoucherApplication:
    """Check the codes of a purchase of ``amount`` by ``member`` and work out the discount:
    vouchers in the given order, each on what the ones before left to pay, in total never
    more than ``amount``; a discount voucher with nothing left to take off is left unused
    (not in the application). ``lock=True`` (recording, inside the purchase's transaction)
    locks the voucher rows until it commits; ``lock=False`` is a quote. Raises
    ``validation_error`` (the same code twice), ``voucher_invalid`` (unknown, someone else's,
    mistyped, or a partner voucher), ``voucher_used``, ``voucher_expired`` or
    ``voucher_min_spend``."""
    application = VoucherApplication()
    if not codes:
        return application
    today = today or timezone.localdate()
    normalised = [voucher_code_normalize(str(code)) for code in codes]
    if len(set(normalised)) != len(normalised):
        message = _("The same voucher is given twice.")
        raise DomainError("validation_error", message, details={"voucher_codes": [message]})
    for code in normalised:
        if not voucher_code_is_valid(code):
            raise _invalid(
                code,
                _("Voucher %(code)s is not valid: check the code.") % {"code": code},
                "checksum",
            )
    rows = Voucher.objects.filter(code__in=normalised).order_by("id")
    if lock:
        rows = rows.select_for_update()
    by_code = {voucher.code: voucher for voucher in rows}
    left = amount
    for code in normalised:
        voucher = by_code.get(code)
        _check(voucher, code, member, amount, today)
        off = voucher_discount(voucher, left)
        if off == 0 and voucher.kind in (Voucher.Kind.AMOUNT, Voucher.Kind.PERCENT):
            continue  # the bill is paid already: the voucher stays the member's, unused
        left -= off
        application.vouchers.append(voucher)
        application.discounts.append(off)
    return application


def vouchers_consume_locked(*, application: VoucherApplication, purchase: Purchase) -> None:
    """Mark the vouchers used on ``purchase`` (inside its transaction). Each is a
    conditional UPDATE on ``status = 'issued'``: if another till used it first, this raises
    ``voucher_used`` and the purchase's transaction rolls back."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("vouchers_consume_locked runs inside the purchase's transaction")
    now = timezone.now()
    for voucher, off in zip(application.vouchers, application.discounts, strict=True):
        if voucher.member_id != purchase.member_id:
            raise _invalid(voucher.code, _("This voucher is not valid."), "not_found")
        used = Voucher.objects.filter(pk=voucher.pk, status=Voucher.Status.ISSUED).update(
            status=Voucher.Status.USED, used_on=purchase, used_at=now, discount_applied=off
        )
        if used != 1:
            raise DomainError(
                "voucher_used",
                _("Voucher %(code)s was already used.") % {"code": voucher.code_display},
                details={"code": voucher.code},
            )
        voucher.status, voucher.used_on, voucher.used_at = Voucher.Status.USED, purchase, now
        voucher.discount_applied = off


def vouchers_restore_for_return(*, purchase: Purchase) -> int:
    """A fully returned purchase gives back the vouchers used on it: ready to use again
    until their own last day (expired at once if that has passed). Once: a second call
    finds nothing to give back. Call it after the return's totals are written (it reads
    ``returned_amount`` from the database); a partial return gives nothing back."""
    now = timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        fully_returned = Purchase.objects.filter(
            pk=purchase.pk, returned_amount__gte=F("total_amount")
        ).exists()
        if not fully_returned:
            return 0
        return Voucher.objects.filter(used_on_id=purchase.pk, status=Voucher.Status.USED).update(
            status=Case(
                When(valid_until__lt=today, then=Value(Voucher.Status.EXPIRED)),
                default=Value(Voucher.Status.ISSUED),
            ),
            used_on=None,
            used_at=None,
            discount_applied=None,
            restored_at=now,
            restored_from=purchase,
        )


def vouchers_expire_due(*, today: date) -> int:
    """Daily: vouchers still unused after their last day become expired. Set-based, in
    chunks of ids; a second run finds nothing due. Returns how many expired."""
    due = Voucher.objects.filter(status=Voucher.Status.ISSUED, valid_until__lt=today)
    bounds = due.aggregate(lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None:
        return 0
    expired = 0
    for lo in range(bounds["lo"], bounds["hi"] + 1, EXPIRE_CHUNK):
        with transaction.atomic():
            expired += due.filter(id__gte=lo, id__lt=lo + EXPIRE_CHUNK).update(
                status=Voucher.Status.EXPIRED
            )
    return expired

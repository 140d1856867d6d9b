"""Issuing vouchers: a member redeeming points, staff giving one as a goodwill gesture, a
member cancelling within the grace period, and the partner code pools.

Locks, always in this order so two flows never wait on each other in a circle: the member's
point account (``account_lock``), then the voucher row, then the reward row (the stock
counter, changed by a conditional ``UPDATE``), then a partner code (``SKIP LOCKED``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import DomainError
from members.models import AuditEntry, Member, Store, User
from members.services import points as ledger
from rewards.codes import voucher_code_generate
from rewards.models import PartnerCode, Reward, Voucher
from rewards.selectors import RewardOffer, reward_availability

PARTNER_CODE_MAX = 64


def offer_error(offer: RewardOffer, *, balance: int | None = None) -> DomainError:
    """The domain error for a refused offer: ``member_blocked`` and ``insufficient_points``
    keep their contract codes; every other reason is ``reward_unavailable`` with the reason
    in ``details``."""
    details = {
        "reward_id": offer.reward.pk,
        "reason_code": offer.reason_code,
        "reason": offer.reason,
    }
    if offer.reason_code == "member_blocked":
        return DomainError("member_blocked", offer.reason, details=details)
    if offer.reason_code == "insufficient_points":
        details.update(available=balance, requested=offer.points_cost)
        return DomainError("insufficient_points", offer.reason, details=details)
    return DomainError("reward_unavailable", offer.reason, details=details)


def _out_of_stock(reward: Reward) -> DomainError:
    text = _("Out of stock")
    return DomainError(
        "reward_unavailable",
        text,
        details={"reward_id": reward.pk, "reason_code": "out_of_stock", "reason": text},
    )


def _take_stock(reward: Reward) -> PartnerCode | None:
    """Count one more issued against the stock (never past it: a conditional UPDATE that
    also locks the reward row until commit) and, for a partner voucher, take a code from
    the pool (``FOR UPDATE SKIP LOCKED`` on PostgreSQL). Refuses ``out_of_stock``."""
    taken = (
        Reward.objects.filter(pk=reward.pk)
        .filter(Q(stock_total__isnull=True) | Q(stock_issued__lt=F("stock_total")))
        .update(stock_issued=F("stock_issued") + 1)
    )
    if not taken:
        raise _out_of_stock(reward)
    if reward.kind != Reward.Kind.PARTNER:
        return None
    code = (
        PartnerCode.objects.select_for_update(skip_locked=True)
        .filter(reward=reward, voucher__isnull=True)
        .order_by("id")
        .first()
    )
    if code is None:
        raise _out_of_stock(reward)
    return code


def _voucher_create(
    *,
    member: Member,
    reward: Reward,
    source: str,
    today: date,
    now: datetime,
    partner: PartnerCode | None = None,
    **fields,
) -> Voucher:
    """A new voucher with a fresh code (retried on the rare collision), the reward's
    discount copied onto it, and its partner code handed out."""
    valid_until = today + timedelta(days=reward.voucher_valid_days - 1)
    for _attempt in range(8):
        code = voucher_code_generate()
        try:
            with transaction.atomic():
                voucher = Voucher.objects.create(
                    code=code,
                    reward=reward,
                    member=member,
                    source=source,
                    kind=reward.kind,
                    discount_amount=reward.discount_amount,
                    discount_percent=reward.discount_percent,
                    discount_cap=reward.discount_cap,
                    min_spend=reward.min_spend,
                    partner_code=partner.code if partner else "",
                    valid_from=today,
                    valid_until=valid_until,
                    issued_at=now,
                    **fields,
                )
        except IntegrityError:
            if Voucher.objects.filter(code=code).exists():
                continue  # another voucher has this code: draw again
            raise
        break
    else:  # pragma: no cover - 31**10 codes make eight collisions in a row impossible
        raise RuntimeError("could not draw a unique voucher code")
    if partner is not None:
        handed = PartnerCode.objects.filter(pk=partner.pk, voucher__isnull=True).update(
            voucher=voucher, assigned_at=now
        )
        if handed != 1:  # the row was locked for us; anything else is a bug
            raise RuntimeError(f"partner code {partner.pk} was handed out twice")
    return voucher


def reward_redeem(
    *,
    member: Member,
    reward: Reward,
    today: date | None = None,
    acting_user: User | None = None,
    store: Store | None = None,
    reference: str = "",
    once: bool = False,
) -> Voucher:
    """The member spends points on a reward and gets a voucher, in one transaction. The cost
    is the server's (``reward_availability`` for the member's tier); stock and the member's
    limits hold under concurrency: the member's account lock serialises their redemptions,
    the reward row's conditional UPDATE the stock. Raises ``member_blocked``,
    ``insufficient_points`` or ``reward_unavailable`` (reason in ``details``).

    ``once``: ``reference`` identifies this request (the portal form's one-time token): a
    repeat of it (a double click, a resent form) gets the voucher it already issued."""
    now = timezone.now()
    today = today or timezone.localdate(now)
    with transaction.atomic():
        account = ledger.account_lock(member.pk)
        if once and reference:
            earlier = Voucher.objects.filter(
                member_id=member.pk,
                reward_id=reward.pk,
                source=Voucher.Source.REDEEMED,
                reference=reference[:64],
            ).first()
            if earlier is not None:
                return earlier
        fresh_member = Member.objects.get(pk=member.pk)
        fresh_reward = Reward.objects.prefetch_related("tier_prices").get(pk=reward.pk)
        offer = reward_availability(
            fresh_member, fresh_reward, today=today, balance=account.available
        )
        if not offer.available:
            raise offer_error(offer, balance=account.available)
        partner = _take_stock(fresh_reward)
        spend = ledger.spend_locked(
            account,
            points=offer.points_cost,
            reason=fresh_reward.name,
            actor=acting_user,
            actor_label=f"store {store.code}" if store else "",
        )
        grace = fresh_reward.cancel_grace_hours
        cancellable = grace > 0 and fresh_reward.kind != Reward.Kind.PARTNER
        return _voucher_create(
            member=fresh_member,
            reward=fresh_reward,
            source=Voucher.Source.REDEEMED,
            today=today,
            now=now,
            partner=partner,
            points_spent=offer.points_cost,
            spend_entry=spend,
            cancellable_until=now + timedelta(hours=grace) if cancellable else None,
            issued_by=acting_user,
            issued_at_store=store,
            reference=(reference or "")[:64],
        )


def voucher_issue_goodwill(
    *,
    member: Member,
    reward: Reward,
    reason: str,
    acting_user: User,
    today: date | None = None,
) -> Voucher:
    """Staff give a voucher as a goodwill gesture: no points, a required reason, the
    permission ``rewards.issue_goodwill_voucher``, an audit row. Any reward (also one not
    in the catalogue), regardless of tier, dates and limits; it takes stock like any other
    (and a partner code). Such vouchers cannot be cancelled by the member."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the voucher is given.")]})
    if not acting_user.has_perm("rewards.issue_goodwill_voucher"):
        raise DomainError("permission_denied", _("You may not issue goodwill vouchers."))
    now = timezone.now()
    today = today or timezone.localdate(now)
    with transaction.atomic():
        fresh_member = Member.objects.get(pk=member.pk)
        if fresh_member.is_blocked:
            raise DomainError("member_blocked", _("This membership is blocked."))
        fresh_reward = Reward.objects.get(pk=reward.pk)
        partner = _take_stock(fresh_reward)
        voucher = _voucher_create(
            member=fresh_member,
            reward=fresh_reward,
            source=Voucher.Source.GOODWILL,
            today=today,
            now=now,
            partner=partner,
            issued_by=acting_user,
            reason=reason,
        )
        AuditEntry.objects.create(
            actor=acting_user,
            action="voucher.goodwill_issued",
            member=fresh_member,
            reason=reason,
            data={"voucher": voucher.pk, "reward": fresh_reward.code},
        )
    return voucher


def _not_cancellable(voucher: Voucher, reason_code: str, text: str) -> DomainError:
    return DomainError(
        "voucher_not_cancellable",
        text,
        details={"code": voucher.code, "reason_code": reason_code},
    )


def voucher_cancel(*, voucher: Voucher, member: Member, now: datetime | None = None) -> Voucher:
    """The member cancels an unused voucher they redeemed, within the reward's grace period
    (``cancellable_until``, set when issued): the points come back through the ledger (with
    the expiry of the lots they came from, at least to the end of the month) and the stock
    goes back. Raises ``voucher_invalid`` (not theirs), ``voucher_used`` (used or already
    cancelled), ``voucher_expired``, or ``voucher_not_cancellable`` (grace period over, a
    partner code already shown, or a voucher not paid with points)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        account = ledger.account_lock(member.pk)
        locked = (
            Voucher.objects.select_for_update(of=("self",))
            .select_related("reward", "spend_entry")
            .filter(pk=voucher.pk)
            .first()
        )
        if locked is None or locked.member_id != member.pk:
            raise DomainError("voucher_invalid", _("This voucher is not yours."))
        if locked.status in (Voucher.Status.USED, Voucher.Status.CANCELLED):
            raise DomainError(
                "voucher_used",
                _("This voucher was already used or cancelled."),
                details={"code": locked.code, "status": locked.status},
            )
        if locked.status == Voucher.Status.EXPIRED or today > locked.valid_until:
            raise DomainError(
                "voucher_expired", _("This voucher has expired."), details={"code": locked.code}
            )
        if locked.source != Voucher.Source.REDEEMED or locked.spend_entry is None:
            raise _not_cancellable(
                locked, "not_redeemed", _("Only a voucher paid with points can be cancelled.")
            )
        if locked.cancellable_until is None:
            raise _not_cancellable(locked, "not_allowed", _("This voucher cannot be cancelled."))
        if now > locked.cancellable_until:
            raise _not_cancellable(
                locked, "grace_period_over", _("The time to cancel this voucher has passed.")
            )
        refund = ledger.refund_spend_locked(
            account,
            spend=locked.spend_entry,
            today=today,
            reason=locked.reward.name,
            idempotency_key=f"voucher-cancel:{locked.pk}",
        )
        Voucher.objects.filter(pk=locked.pk, status=Voucher.Status.ISSUED).update(
            status=Voucher.Status.CANCELLED, cancelled_at=now, refund_entry=refund.entry
        )
        Reward.objects.filter(pk=locked.reward_id, stock_issued__gt=0).update(
            stock_issued=F("stock_issued") - 1
        )
        locked.status, locked.cancelled_at, locked.refund_entry = (
            Voucher.Status.CANCELLED,
            now,
            refund.entry,
        )
    return locked


# ---------------------------------------------------------------------------------------------
# Partner code pools


@dataclass
class PartnerCodesImport:
    added: int = 0
    already_there: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (line, code, why)


_HEADERS = {"code", "codes", "ma", "mã", "partner_code", "voucher"}


def partner_codes_read_csv(data: bytes) -> list[tuple[int, str]]:
    """(line number, code) from a CSV upload: the first column of each row, an optional
    header row (``code``), blank rows skipped. UTF-8, with or without BOM."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError({"file": [_("The file is not UTF-8 text.")]}) from exc
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cell = (row[0] if row else "").strip()
        if not cell or (number == 1 and cell.lower() in _HEADERS):
            continue
        rows.append((number, cell))
    return rows


def partner_codes_import(
    *, reward: Reward, rows: Iterable[tuple[int, str]], acting_user: User | None = None
) -> PartnerCodesImport:
    """Add codes to a partner reward's pool; each is handed out once. Codes already in the
    pool (or twice in the file) are counted, not added again; malformed ones are listed."""
    if reward.kind != Reward.Kind.PARTNER:
        raise ValidationError({"file": [_("Only a partner voucher has a pool of codes.")]})
    result = PartnerCodesImport()
    wanted: dict[str, int] = {}
    for number, code in rows:
        if len(code) > PARTNER_CODE_MAX or any(ch.isspace() for ch in code):
            result.rejected.append((number, code[:80], _("not a code")))
        elif code in wanted:
            result.already_there += 1
        else:
            wanted[code] = number
    with transaction.atomic():
        Reward.objects.select_for_update().filter(pk=reward.pk).first()
        codes, existing = list(wanted), set()
        for start in range(0, len(codes), 500):  # stay under SQLite's parameter limit
            existing.update(
                PartnerCode.objects.filter(
                    reward=reward, code__in=codes[start : start + 500]
                ).values_list("code", flat=True)
            )
        new = [code for code in wanted if code not in existing]
        PartnerCode.objects.bulk_create(
            [PartnerCode(reward=reward, code=code) for code in new], batch_size=1000
        )
        result.added = len(new)
        result.already_there += len(existing)
        if not (result.added or result.rejected):
            return result  # nothing happened: nothing to record (a re-run of the same file)
        AuditEntry.objects.create(
            actor=acting_user,
            actor_label="" if acting_user else "import",
            action="rewards.partner_codes_imported",
            data={
                "reward": reward.code,
                "added": result.added,
                "already_there": result.already_there,
                "rejected": len(result.rejected),
            },
        )
    return result

"""The purchase flow of the POS: quote, record, return. It crosses the domain apps (points,
tier multiplier, vouchers, promotions), which is why it lives in ``pos`` and not in any of
them. The server computes every price, discount and point; nothing the POS sends about them
is trusted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from insights.services import purchase_mark_dirty
from loyalty import metrics
from loyalty.errors import DomainError
from loyalty.money import CENT, money_round, money_text
from members.identifiers import card_number_clean, card_number_is_valid
from members.models import (
    Member,
    PointAccount,
    Program,
    Purchase,
    PurchaseReturn,
    Store,
)
from members.selectors import earn_category_multipliers, member_find, program_cached
from members.services import points as ledger
from pos.services import purchases_sql
from pos.services.idempotency import (
    Outcome,
    replay,
    request_hash,
    retry_on_conflict,
    run_idempotent,
)
from promotions.selectors import promotion_awards_body, promotions_running
from promotions.services import (
    PromotionOutcome,
    promotion_awards_record,
    promotions_for_purchase,
)
from rewards.services import (
    VoucherApplication,
    vouchers_consume_locked,
    vouchers_for_purchase,
    vouchers_restore_for_return,
)
from tiers.models import Tier
from tiers.selectors import tier_from_id, tier_of_member, tiers_ordered
from tiers.services import (
    tier_retained_until,
    tier_undo_upgrade_for_return_locked,
    tier_upgrade_for_purchase_locked,
)
from tiers.services_sql import tier_live_window

logger = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(minutes=5)


def _late_purchase_mark(occurred_at: datetime | None) -> None:
    """A purchase recorded on a later day than it was made (a till back online) changed a
    closed day of the overview's facts: mark it, after the purchase committed (no lock on
    the mark inside the purchase; a mark lost to a crash is made good by the nightly build,
    which re-builds every day a purchase may still be backdated to)."""
    if occurred_at is None:
        return
    if timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at)
    try:
        purchase_mark_dirty(occurred_at)
    except DatabaseError:  # the purchase is recorded; the nightly build will see it
        logger.warning("late purchase's day not marked for the overview", exc_info=True)


def _validation(field_name: str, message: str) -> DomainError:
    return DomainError("validation_error", message, details={field_name: [message]})


@dataclass
class PurchaseInput:
    member: str
    total_amount: Decimal
    currency: str | None = None
    occurred_at: datetime | None = None
    items: list[dict] = field(default_factory=list)
    redeem_points: int = 0
    voucher_codes: list[str] = field(default_factory=list)
    external_id: str | None = None
    payment_fingerprint: str = ""

    def idempotency_payload(self) -> dict:
        """What a repeat must match. Fields added to the contract later count only when
        given, so a retry of a request recorded before they existed still matches."""
        payload = dict(self.__dict__)
        if not payload["payment_fingerprint"]:
            del payload["payment_fingerprint"]
        return payload


@dataclass
class Plan:
    """What a purchase would do: the figures of the response, before anything is written."""

    member: Member
    occurred_at: datetime
    total_amount: Decimal
    voucher_discount: Decimal
    points_redeemed: int
    points_discount: Decimal
    amount_due: Decimal
    points_earned: int
    max_redeemable_points: int
    tier: Tier
    items: list[dict]
    vouchers: VoucherApplication = field(default_factory=VoucherApplication)
    promotions: PromotionOutcome | None = None


def earn_points(
    *,
    amount_due: Decimal,
    total_amount: Decimal,
    items: list[dict],
    program: Program,
    multiplier: Decimal,
    category_multipliers: dict[str, Decimal],
) -> int:
    """Points for what the customer paid in money: each item's share of ``amount_due``
    weighted by its category's multiplier (0 excludes it), per the programme's rate, times
    the tier and promotion multiplier, rounded down once for the whole purchase."""
    if amount_due <= 0 or total_amount <= 0:
        return 0
    weighted = amount_due
    if items and category_multipliers:
        weighted_total = sum(
            (
                Decimal(item["quantity"])
                * item["unit_price"]
                * category_multipliers.get((item.get("category") or "").lower(), Decimal(1))
                for item in items
            ),
            Decimal(0),
        )
        weighted = weighted_total * amount_due / total_amount
    raw = weighted / program.earn_per_amount * program.earn_points * multiplier
    return int(raw.to_integral_value(rounding=ROUND_FLOOR))


def _check_time(occurred_at: datetime | None, program: Program, now: datetime) -> datetime:
    if occurred_at is None:
        return now
    if timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at)
    if occurred_at > now + CLOCK_SKEW:
        raise _validation("occurred_at", _("The purchase time is in the future."))
    if occurred_at < now - timedelta(days=program.backdate_days):
        raise _validation(
            "occurred_at",
            _("Purchases older than %(days)s days cannot be recorded from the till.")
            % {"days": program.backdate_days},
        )
    return occurred_at


def line_amount(item: dict, currency: str) -> Decimal:
    """What a line comes to: quantity (up to 3 decimals for goods sold by weight) times unit
    price, rounded to the currency's minor unit."""
    return money_round(Decimal(item["quantity"]) * item["unit_price"], currency)


def _check_items(data: PurchaseInput, currency: str) -> list[dict]:
    items = []
    for item in data.items:
        items.append(
            {
                "sku": item["sku"],
                "name": item.get("name") or "",
                "category": item.get("category") or "",
                "quantity": item["quantity"],
                "unit_price": item["unit_price"],
            }
        )
    if items:
        total = sum((line_amount(i, currency) for i in items), Decimal(0))
        if total != data.total_amount:
            raise _validation(
                "items",
                _("The items add up to %(items)s, not the total %(total)s.")
                % {"items": total, "total": data.total_amount},
            )
    return items


def _member(query: str) -> Member:
    member = member_find(query)
    if member is None:
        raise DomainError("not_found", _("No member with this card number."))
    if member.is_blocked:
        raise DomainError("member_blocked", _("This membership is blocked."))
    return member


def _member_and_locked_account(query: str) -> tuple[Member, PointAccount]:
    """The member and their account, locked: one query for a card number (the hot path)."""
    card = card_number_clean(query)
    if card_number_is_valid(card):
        account = (
            PointAccount.objects.select_for_update(of=("self",))
            .select_related("member")
            .filter(member__card_number=card)
            .first()
        )
        if account is None:
            raise DomainError("not_found", _("No member with this card number."))
        if account.member.is_blocked:
            raise DomainError("member_blocked", _("This membership is blocked."))
        return account.member, account
    member = _member(query)
    return member, ledger.account_lock(member.pk)


def purchase_plan(
    *,
    data: PurchaseInput,
    program: Program,
    member: Member | None = None,
    account: PointAccount | None = None,
    tier: Tier | None = None,
    lock_vouchers: bool = False,
    store: Store | None = None,
) -> Plan:
    """Validate and compute a purchase without writing. ``account`` is the locked account
    when recording; a quote reads it unlocked; a purchase that redeems nothing needs none
    (``max_redeemable_points`` is then 0). Recording locks the vouchers' rows
    (``lock_vouchers``) until the purchase commits."""
    now = timezone.now()
    if data.currency and data.currency.upper() != program.currency:
        raise _validation(
            "currency",
            _("This programme works in %(currency)s.") % {"currency": program.currency},
        )
    if data.total_amount < 0:
        raise _validation("total_amount", _("The total cannot be negative."))
    if data.total_amount > program.max_purchase_total:
        raise _validation(
            "total_amount",
            _("The total is above the largest this programme accepts (%(max)s).")
            % {"max": money_text(program.max_purchase_total)},
        )
    occurred_at = _check_time(data.occurred_at, program, now)
    items = _check_items(data, program.currency)
    if member is None:
        member = _member(data.member)
    redeem = data.redeem_points
    if account is None and redeem:
        account = PointAccount.objects.get(pk=member.pk)
    vouchers = vouchers_for_purchase(
        codes=data.voucher_codes,
        member=member,
        amount=data.total_amount,
        # An offline till syncing later: the voucher's dates are checked on the purchase's day.
        today=timezone.localdate(occurred_at),
        lock=lock_vouchers,
    )
    voucher_discount = vouchers.discount
    after_vouchers = data.total_amount - voucher_discount
    available = max(account.available, 0) if account is not None else 0
    max_redeemable = min(
        available, int((after_vouchers / program.point_value).to_integral_value(ROUND_FLOOR))
    )
    if redeem < 0:
        raise _validation("redeem_points", _("Points to redeem cannot be negative."))
    points_discount = (Decimal(redeem) * program.point_value).quantize(CENT)
    if redeem and points_discount > after_vouchers:
        raise DomainError(
            "redeem_exceeds_amount",
            _("%(points)s points are worth more than the %(amount)s left to pay.")
            % {"points": redeem, "amount": after_vouchers},
            details={"max_redeemable_points": max_redeemable},
        )
    if redeem:
        ledger.check_can_spend(account, redeem)
    amount_due = after_vouchers - points_discount
    if tier is None:
        tier = tier_of_member(member.pk)
    points = earn_points(
        amount_due=amount_due,
        total_amount=data.total_amount,
        items=items,
        program=program,
        multiplier=tier.multiplier,
        category_multipliers=earn_category_multipliers() if items else {},
    )
    promotions = None
    running = promotions_running(at=occurred_at)
    if running:
        promotions = promotions_for_purchase(
            member=member,
            tier=tier,
            store=store,
            items=items,
            amount_due=amount_due,
            total_amount=data.total_amount,
            occurred_at=occurred_at,
            base_points=points,
            program=program,
            running=running,
        )
        points += promotions.points
    return Plan(
        member=member,
        occurred_at=occurred_at,
        total_amount=data.total_amount,
        voucher_discount=voucher_discount,
        points_redeemed=redeem,
        points_discount=points_discount,
        amount_due=amount_due,
        points_earned=points,
        max_redeemable_points=max_redeemable,
        tier=tier,
        items=items,
        vouchers=vouchers,
        promotions=promotions,
    )


def balance(account: PointAccount) -> dict:
    return {"available": account.available, "pending": account.pending}


def tier_body(tier: Tier) -> dict:
    return {"code": tier.code, "name": tier.name}


def purchase_quote(*, store: Store, data: PurchaseInput) -> dict:
    program = program_cached()
    member = _member(data.member)
    account = PointAccount.objects.get(pk=member.pk)
    plan = purchase_plan(data=data, program=program, member=member, account=account, store=store)
    status = "available" if _matures_on_or_before_today(plan, program) else "pending"
    if not plan.points_earned:
        status = "available"
    body = _result(
        plan,
        purchase_id=None,
        available=account.available,
        pending=account.pending,
        status=status,
    )
    body["max_redeemable_points"] = plan.max_redeemable_points
    return body


def _matures_on_or_before_today(plan: Plan, program: Program) -> bool:
    earned_on = timezone.localdate(plan.occurred_at)
    return earned_on + timedelta(days=program.pending_days) <= timezone.localdate()


def _fast_path(data: PurchaseInput) -> bool:
    """A purchase that only earns (no points or vouchers spent) on PostgreSQL is written
    with one statement (``purchases_sql.record_earn_only``)."""
    return (
        connection.vendor == "postgresql"
        and not data.redeem_points
        and not data.voucher_codes
        and card_number_is_valid(data.member)
    )


def _result(plan: Plan, *, purchase_id, available: int, pending: int, status: str) -> dict:
    return {
        "id": purchase_id,
        "external_id": None,
        "member": plan.member.card_number,
        "total_amount": money_text(plan.total_amount),
        "voucher_discount": money_text(plan.voucher_discount),
        "points_discount": money_text(plan.points_discount),
        "amount_due": money_text(plan.amount_due),
        "points_earned": plan.points_earned,
        "points_status": status,
        "points_redeemed": plan.points_redeemed,
        "balance": {"available": available, "pending": pending},
        "tier": tier_body(plan.tier),
        "tier_changed": False,
        "vouchers": [
            {"code": voucher.code, "discount": money_text(off)}
            for voucher, off in zip(plan.vouchers.vouchers, plan.vouchers.discounts, strict=True)
        ],
        "promotions": promotion_awards_body(plan.promotions) if plan.promotions else [],
    }


def _record_fast(store: Store, data: PurchaseInput, program: Program) -> Outcome | None:
    """The earn-only purchase in one statement (after one read), with its idempotency:
    an earlier request with this id is replayed, or is a conflict. None when the purchase
    needs the general path (points available at once, which may first pay a debt)."""
    digest = request_hash(data.idempotency_payload())
    try:
        row = purchases_sql.member_by_card(card_number_clean(data.member))
        if row is None:
            raise DomainError("not_found", _("No member with this card number."))
        member = Member(pk=row[0], card_number=row[1], status=row[2])
        if member.is_blocked:
            raise DomainError("member_blocked", _("This membership is blocked."))
        plan = purchase_plan(
            data=data, program=program, member=member, tier=tier_from_id(row[3]), store=store
        )
    except DomainError:
        # A retry of a request that succeeded before gets its first answer, even if the
        # member was blocked since or the time is now past the back-dating limit.
        earlier = replay(
            store=store, kind="transaction", external_id=data.external_id, digest=digest
        )
        if earlier is not None:
            return earlier
        raise
    earned_on = timezone.localdate(plan.occurred_at)
    matures_on = earned_on + timedelta(days=program.pending_days)
    if plan.points_earned and matures_on <= timezone.localdate():
        return None
    if plan.promotions is not None and plan.promotions.awards:
        return None  # the awards are recorded (caps, reports) by the general path
    body = _result(
        plan,
        purchase_id=None,
        available=0,
        pending=0,
        status="pending" if plan.points_earned else "available",
    )
    body["external_id"] = data.external_id
    today = timezone.localdate()
    start, end = tier_live_window(today, program.tier_window_months)
    upgrade = purchases_sql.UpgradeCheck(
        current_tier_id=row[3],
        higher=[t for t in tiers_ordered() if t.rank > plan.tier.rank],
        window_start=start,
        window_end=end,
        today=today,
        retained_until=tier_retained_until(today, window_months=program.tier_window_months),
    )
    response = purchases_sql.record_earn_only(
        upgrade=upgrade,
        store_id=store.pk,
        external_id=data.external_id,
        request_hash=digest,
        body=body,
        member_id=member.pk,
        occurred_at=plan.occurred_at,
        total_amount=plan.total_amount,
        items=_stored_items(plan.items),
        payment_fingerprint=data.payment_fingerprint,
        points=plan.points_earned,
        earned_on=earned_on,
        matures_on=matures_on,
        expires_on=ledger.lot_expiry(earned_on, program),
        now=timezone.now(),
    )
    if response is not None:
        return Outcome(201, response, replayed=False)
    earlier = replay(store=store, kind="transaction", external_id=data.external_id, digest=digest)
    if earlier is None:
        raise _recorded_elsewhere(data.external_id)
    return earlier


def _stored_items(items: list[dict]) -> list[dict]:
    return [
        {
            **item,
            "unit_price": money_text(item["unit_price"]),
            # JSON: whole quantities as integers, weights as decimal strings ("1.5").
            "quantity": item["quantity"]
            if isinstance(item["quantity"], int)
            else format(item["quantity"], "f"),
        }
        for item in items
    ]


def _recorded_elsewhere(external_id: str) -> DomainError:
    """The store has this receipt already, recorded without the POS (an import)."""
    return DomainError(
        "idempotency_conflict",
        _("This receipt is already recorded for this store (by an import)."),
        details={"external_id": external_id},
    )


def _record_general(store: Store, data: PurchaseInput, program: Program) -> dict:
    member, account = _member_and_locked_account(data.member)
    plan = purchase_plan(
        data=data,
        program=program,
        member=member,
        account=account,
        lock_vouchers=True,
        store=store,
    )
    if Purchase.objects.filter(store=store, external_id=data.external_id).exists():
        raise _recorded_elsewhere(data.external_id)
    purchase = Purchase.objects.create(
        store=store,
        member=plan.member,
        external_id=data.external_id,
        occurred_at=plan.occurred_at,
        total_amount=plan.total_amount,
        voucher_discount=plan.voucher_discount,
        points_redeemed=plan.points_redeemed,
        points_discount=plan.points_discount,
        amount_due=plan.amount_due,
        points_earned=plan.points_earned,
        items=_stored_items(plan.items),
        payment_fingerprint=data.payment_fingerprint,
    )
    vouchers_consume_locked(application=plan.vouchers, purchase=purchase)
    if plan.points_redeemed:
        ledger.spend_locked(account, points=plan.points_redeemed, purchase=purchase)
    credit = ledger.earn_for_purchase_locked(
        account,
        purchase=purchase,
        points=plan.points_earned,
        program=program,
        today=timezone.localdate(),
    )
    if plan.promotions is not None and plan.promotions.awards:
        promotion_awards_record(purchase=purchase, outcome=plan.promotions)
    pending = credit is not None and credit.lot.status == "pending"
    move = tier_upgrade_for_purchase_locked(purchase=purchase)
    body = _result(
        plan,
        purchase_id=purchase.pk,
        available=account.available,
        pending=account.pending,
        status="pending" if pending else "available",
    )
    body["external_id"] = purchase.external_id
    body["tier"] = tier_body(move.tier)
    body["tier_changed"] = move.changed
    return body


def purchase_record(*, store: Store, data: PurchaseInput) -> Outcome:
    """Record a purchase once per (store, external_id); see ``run_idempotent``. Both paths
    take the receipt's lock first (``idempotency.receipt_lock_sql``); a deadlock that still
    happens is retried (``retry_on_conflict``)."""
    return retry_on_conflict(lambda: _purchase_record(store, data))


def _purchase_record(store: Store, data: PurchaseInput) -> Outcome:
    program = program_cached()
    if _fast_path(data):
        with transaction.atomic():
            outcome = _record_fast(store, data, program)
        if outcome is not None:
            if not outcome.replayed:  # the one statement bypasses the ledger's counters
                metrics.purchase_recorded()
                metrics.points_issued(outcome.body.get("points_earned") or 0, kind="earn")
                _late_purchase_mark(data.occurred_at)
            return outcome

    def action() -> tuple[int, dict]:
        return 201, _record_general(store, data, program)

    outcome = run_idempotent(
        store=store,
        kind="transaction",
        external_id=data.external_id,
        payload=data.idempotency_payload(),
        action=action,
    )
    if not outcome.replayed and outcome.status == 201:
        metrics.purchase_recorded()
        _late_purchase_mark(data.occurred_at)
    return outcome


@dataclass
class ReturnInput:
    external_id: str
    amount: Decimal | None = None
    items: list[dict] = field(default_factory=list)


QUANTITY_STEP = Decimal("0.001")


def _quantity_text(quantity: Decimal) -> int | str:
    """A quantity as the JSON of items holds it: whole as an integer, a weight as a string."""
    if quantity == quantity.to_integral_value():
        return int(quantity)
    return format(quantity.normalize(), "f")


def _returned_quantity(value) -> Decimal:
    """A quantity coming back, as given (an int, a Decimal or a decimal string)."""
    try:
        quantity = Decimal(str(value))
        exact = quantity.is_finite() and quantity == quantity.quantize(QUANTITY_STEP)
    except (InvalidOperation, ValueError):
        exact = False
    if not exact:
        raise _validation("items", _("A quantity is a positive number with at most 3 decimals."))
    if quantity <= 0:
        raise _validation("items", _("Quantities returned must be positive."))
    return quantity


def _sku_value(lines: list[tuple[Decimal, Decimal]], quantity: Decimal, currency: str) -> Decimal:
    """What the first ``quantity`` units of a SKU to come back are worth: its purchase lines
    (quantity, unit price) taken dearest first, each unit at its own line's price, a line
    taken in part rounded to the currency's minor unit. All of a line is worth what the line
    came to on the purchase (``line_amount``); the value only grows with ``quantity``."""
    value, left = Decimal(0), quantity
    for bought, unit_price in lines:
        if left <= 0:
            break
        taken = min(bought, left)
        value += money_round(taken * unit_price, currency)
        left -= taken
    return value


def _return_amount(
    purchase: Purchase, data: ReturnInput, currency: str
) -> tuple[Decimal, list[dict]]:
    """The value of what comes back, and the lines the return stores. By items: each SKU's
    units are matched against the purchase's lines of that SKU, the dearest first; a return
    is worth what the SKU's units returned so far are worth with it, less without it, so the
    returns of a purchase add up to exactly its lines (all units back: the whole total).
    Which lines earlier returns took follows from the quantity of each SKU returned so far,
    since every return takes the dearest lines left."""
    if (data.amount is None) == (not data.items):
        raise _validation("amount", _("Give either an amount or the items coming back."))
    if data.amount is not None:
        if data.amount <= 0:
            raise _validation("amount", _("The amount returned must be positive."))
        return data.amount, []
    by_sku: dict[str, list[tuple[Decimal, Decimal]]] = {}
    for item in purchase.items:
        by_sku.setdefault(item["sku"], []).append(
            (Decimal(str(item["quantity"])), Decimal(str(item["unit_price"])))
        )
    for lines in by_sku.values():
        lines.sort(key=lambda line: line[1], reverse=True)  # stable: ties in receipt order
    returned: dict[str, Decimal] = {}
    for earlier in purchase.returns.all():
        for item in earlier.items:
            returned[item["sku"]] = returned.get(item["sku"], Decimal(0)) + Decimal(
                str(item["quantity"])
            )
    amount, stored = Decimal(0), []
    for item in data.items:
        sku, quantity = item["sku"], _returned_quantity(item["quantity"])
        if sku not in by_sku:
            raise _validation("items", _("%(sku)s was not on this purchase.") % {"sku": sku})
        before = returned.get(sku, Decimal(0))
        left = sum((bought for bought, _price in by_sku[sku]), Decimal(0)) - before
        if quantity > left:
            raise DomainError(
                "return_exceeds_purchase",
                _("Only %(left)s of %(sku)s can still be returned.")
                % {"left": _quantity_text(left), "sku": sku},
                details={"sku": sku, "returnable": _quantity_text(left)},
            )
        returned[sku] = before + quantity
        value = _sku_value(by_sku[sku], before + quantity, currency) - _sku_value(
            by_sku[sku], before, currency
        )
        amount += value
        stored.append(
            {"sku": sku, "quantity": _quantity_text(quantity), "amount": money_text(value)}
        )
    if amount <= 0:
        raise _validation(
            "items",
            _("These items are worth nothing on this purchase: there is nothing to return."),
        )
    return amount, stored


def _share(points: int, part: Decimal, whole: Decimal) -> int:
    if part >= whole:
        return points
    return int((Decimal(points) * part / whole).to_integral_value(rounding=ROUND_FLOOR))


def purchase_return_record(
    *, store: Store, purchase_external_id: str, data: ReturnInput
) -> Outcome:
    """Goods come back: reverse the points the purchase earned and give back the points that
    paid for it, in the proportion returned. Computed from running totals, so repeated
    partial returns add up exactly to a full one, and never past the purchase."""
    purchase = Purchase.objects.filter(store=store, external_id=purchase_external_id).first()
    if purchase is None:
        raise DomainError("not_found", _("No purchase with this id at this store."))

    def action() -> tuple[int, dict]:
        account = ledger.account_lock(purchase.member_id)
        locked = Purchase.objects.select_for_update().get(pk=purchase.pk)
        amount, lines = _return_amount(locked, data, program_cached().currency)
        returned_after = locked.returned_amount + amount
        if returned_after > locked.total_amount:
            returnable = locked.total_amount - locked.returned_amount
            raise DomainError(
                "return_exceeds_purchase",
                _("Only %(left)s of this purchase can still be returned.")
                % {"left": money_text(returnable)},
                details={"returnable_amount": money_text(returnable)},
            )
        reverse = _share(locked.points_earned, returned_after, locked.total_amount)
        reverse -= locked.points_reversed
        refund = _share(locked.points_redeemed, returned_after, locked.total_amount)
        refund -= locked.points_refunded
        record = PurchaseReturn.objects.create(
            purchase=locked,
            store=store,
            external_id=data.external_id,
            amount=amount,
            items=lines,
            points_reversed=reverse,
            points_refunded=refund,
        )
        ledger.reverse_for_return_locked(
            account, purchase=locked, purchase_return=record, points=reverse
        )
        ledger.refund_for_return_locked(
            account,
            purchase=locked,
            purchase_return=record,
            points=refund,
            today=timezone.localdate(),
        )
        Purchase.objects.filter(pk=locked.pk).update(
            returned_amount=returned_after,
            points_reversed=locked.points_reversed + reverse,
            points_refunded=locked.points_refunded + refund,
        )
        locked.returned_amount = returned_after
        # The purchase's day, if closed, now counts less revenue: marked in this transaction.
        purchase_mark_dirty(locked.occurred_at)
        move = tier_undo_upgrade_for_return_locked(purchase=locked)
        restored = vouchers_restore_for_return(purchase=locked)
        return 201, {
            "points_reversed": reverse,
            "points_refunded": refund,
            "balance": balance(account),
            "tier": tier_body(move.tier),
            "tier_changed": move.changed,
            "vouchers_restored": restored,
        }

    def attempt() -> Outcome:
        with transaction.atomic():
            return run_idempotent(
                store=store,
                kind="return",
                external_id=data.external_id,
                payload={"purchase": purchase_external_id, **data.__dict__},
                action=action,
            )

    return retry_on_conflict(attempt)

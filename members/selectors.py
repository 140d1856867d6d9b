"""Reads about members, stores and the programme."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Min, Q, QuerySet, Sum

from loyalty.cache import cached
from members.identifiers import (
    card_number_clean,
    card_number_is_valid,
    phone_looks_like,
    phone_normalize,
)
from members.models import (
    ConsentEvent,
    EarnCategoryRule,
    Member,
    PointEntry,
    PointLot,
    Program,
)


def staff_store_ids(user) -> set[int] | None:
    """The stores whose purchases, returns and figures ``user`` may see and act on on the
    staff side; ``None`` means every store.

    The one rule for store-bound data: a store manager (a user in the Store manager role who
    is neither superuser nor Program admin) is limited to the stores they work for
    (``User.stores``), and one with no stores sees none. Every other staff user sees every
    store (what they may do with it is their permissions' business). Members themselves are
    not store-bound: they stay findable chain-wide, as at any till.
    """
    from members.roles import PROGRAM_ADMIN, STORE_MANAGER

    if not getattr(user, "is_authenticated", False):
        return set()
    if user.is_superuser:
        return None
    cached = getattr(user, "_staff_store_ids", False)
    if cached is not False:
        return cached
    roles = set(
        user.groups.filter(name__in=[PROGRAM_ADMIN, STORE_MANAGER]).values_list("name", flat=True)
    )
    if STORE_MANAGER in roles and PROGRAM_ADMIN not in roles:
        ids = set(user.stores.values_list("id", flat=True))
    else:
        ids = None
    user._staff_store_ids = ids  # once per request: the user object lives as long as it
    return ids


def store_scoped(queryset: QuerySet, user, *paths: str, unbound: bool = False) -> QuerySet:
    """``queryset`` limited to the rows ``user`` may see by ``staff_store_ids``.

    ``paths`` lead from the row to a store (``"store"``, ``"purchase__store"``, ``"pk"`` for
    stores themselves); a row is in scope when any of them is one of the user's stores. With
    ``unbound`` the rows tied to no store at all (every path empty: a points adjustment, an
    unused voucher) stay visible too: they are the member's, not a store's.
    """
    ids = staff_store_ids(user)
    if ids is None:
        return queryset
    allowed = Q(pk__in=[])
    for path in paths:
        allowed |= Q(**{f"{path}__in": ids})
    if unbound:
        allowed |= Q(**{f"{path}__isnull": True for path in paths})
    return queryset.filter(allowed)


def program_get() -> Program:
    """The programme's rules (one row, created by migration)."""
    return Program.objects.get(pk=Program.SINGLETON_ID)


def program_cached() -> Program:
    """The programme's rules as the hot paths read them: kept in process (``loyalty.cache``)."""
    return cached("program", program_get)


def earn_category_multipliers() -> dict:
    """Category (lower-case) -> earning multiplier, for the categories with a rule."""
    return cached(
        "earn_categories",
        lambda: {rule.category.lower(): rule.multiplier for rule in EarnCategoryRule.objects.all()},
    )


def member_find(query: str) -> Member | None:
    """The member a cashier or staff member means by ``query``: a card number, a phone
    number in any common form, or an email address. ``None`` when there is no such member.
    """
    text = (query or "").strip()
    if not text:
        return None
    members = Member.objects.select_related("user")
    if "@" in text:
        return members.filter(email__iexact=text).first()
    if card_number_is_valid(text):
        return members.filter(card_number=card_number_clean(text)).first()
    if phone_looks_like(text):
        try:
            phone = phone_normalize(text)
        except ValidationError:  # not a phone number: no match
            return None
        return members.filter(phone=phone).first()
    return None


def member_search(query: str, *, limit: int = 20) -> list[Member]:
    """The members staff mean by ``query`` (the console's search and the admin's member
    list): a name typed with or without accents, in any word order; a phone in any common
    form; an email (any case); a card number (spaces allowed). Best matches first, at most
    ``limit``. Erased members are found by their card number only. See ``members.search``."""
    from members.search import search

    return search(query, limit=limit)


def member_for_user(user) -> Member | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Member.objects.filter(user=user).first()


def member_consent_history(member: Member) -> QuerySet[ConsentEvent]:
    return member.consent_events.select_related("actor").order_by("-at", "-id")


@dataclass(frozen=True)
class Expiring:
    points: int
    on: date


def points_expiring_next(member_id: int) -> Expiring | None:
    """The next points to expire: the sum of what remains in the available lots with the
    earliest expiry date, or None."""
    lots = PointLot.objects.filter(
        member_id=member_id, status=PointLot.Status.AVAILABLE, remaining__gt=0
    )
    first = lots.order_by("expires_on").values_list("expires_on", flat=True).first()
    if first is None:
        return None
    total = lots.filter(expires_on=first).aggregate(total=Sum("remaining"))["total"]
    # A lot expires at the end of its date: the job of the next day takes it.
    return Expiring(points=total, on=first)


def points_expiring_between(start: date, end: date) -> QuerySet:
    """Members with points expiring in [start, end], with the amount and the first date:
    rows of (member_id, points, first_on). For the 30-days-ahead notice."""
    return (
        PointLot.objects.filter(
            status=PointLot.Status.AVAILABLE,
            remaining__gt=0,
            expires_on__gte=start,
            expires_on__lte=end,
        )
        .values("member_id")
        .annotate(points=Sum("remaining"), first_on=Min("expires_on"))
        .order_by("member_id")
    )


def point_entries_for(member: Member) -> QuerySet[PointEntry]:
    return member.point_entries.select_related("purchase", "actor").order_by("-created_at", "-id")


def ledger_discrepancies() -> list[dict]:
    """Accounts whose cached balances disagree with their entries or lots (``verify_ledger``)."""
    from members.services.points_sql import ledger_discrepancies as check

    return check()


# ---------------------------------------------------------------------------------------------
# The member's points history, said in words (portal page and ``GET /api/v1/me/history/``)

HISTORY_GROUPS = ("earned", "spent", "expired", "returns")

_Kind = PointEntry.Kind


def _history_group_q(group: str) -> Q:
    if group == "earned":
        return Q(kind__in=[_Kind.EARN, _Kind.BONUS]) | Q(kind=_Kind.ADJUST, available_delta__gt=0)
    if group == "spent":
        return Q(kind=_Kind.SPEND) | Q(kind=_Kind.ADJUST, available_delta__lt=0)
    if group == "expired":
        return Q(kind=_Kind.EXPIRE)
    if group == "returns":
        return Q(kind__in=[_Kind.REVERSE, _Kind.REFUND])
    raise ValueError(f"unknown history group {group!r}; expected one of {HISTORY_GROUPS}")


def _history_group_of(entry: PointEntry) -> str:
    if entry.kind == _Kind.ADJUST:
        return "earned" if entry.available_delta > 0 else "spent"
    return {
        _Kind.EARN: "earned",
        _Kind.BONUS: "earned",
        _Kind.SPEND: "spent",
        _Kind.EXPIRE: "expired",
        _Kind.REVERSE: "returns",
        _Kind.REFUND: "returns",
    }.get(entry.kind, "earned")


def member_history(member: Member, *, group: str | None = None) -> QuerySet[PointEntry]:
    """The member's point entries as the history shows them, newest first by the date the
    member thinks of: a purchase's points and a payment with points at the till are dated by
    the purchase (``occurred_on``, an imported year of receipts reads its own dates), every
    other entry by when it was recorded. The internal "became available" entries are left
    out (the purchase's entry says when its points become available). ``group`` is one of
    ``HISTORY_GROUPS`` or None for everything; another value raises ``ValueError``.

    One query per page with the purchase, its store, the return and the lot joined in
    (``history_items`` reads nothing more for them); the count is an index scan of
    ``(member_id, created_at)``."""
    from django.db.models import Case, F, When

    entries = PointEntry.objects.filter(member=member).exclude(kind=_Kind.MATURE)
    if group is not None:
        entries = entries.filter(_history_group_q(group))
    return (
        entries.select_related("purchase__store", "purchase_return__purchase", "lot")
        .annotate(
            occurred=Case(
                When(
                    kind__in=[_Kind.EARN, _Kind.SPEND],
                    purchase__isnull=False,
                    then=F("purchase__occurred_at"),
                ),
                default=F("created_at"),
            )
        )
        .order_by("-occurred", "-id")
    )


@dataclass(frozen=True)
class HistoryItem:
    """One line of the member's history, in words (the active language at the call)."""

    id: int
    kind: str
    group: str
    points: int
    status: str  # "pending", "available", "expired", "cancelled" for credits; "done" else
    available_on: date | None
    occurred_on: date
    recorded_at: datetime
    title: str
    detail: str
    receipt: str | None
    store_code: str | None
    store_name: str | None
    amount: Decimal | None


# The apps above ``members`` know what points at an entry (a voucher paid with it, the
# campaign send behind a bonus, the promotions inside a purchase's points). Each says so in
# its own ``<app>/history.py``, which registers a describer:
# ``fn(entries) -> {entry_id: {"title": ..., "detail": ..., "more": [...]}}`` for the entries
# it knows (``more``: phrases added to the detail), reading them in at most one query per
# page, in the active language. The modules are found like the admin's (autodiscovery of
# every installed app's ``history`` module), so ``members`` imports none of those apps.
_history_describers: list = []
_history_discovered = False


def history_describer_register(describer) -> None:
    if describer not in _history_describers:
        _history_describers.append(describer)


def _history_describers_all() -> list:
    global _history_discovered
    if not _history_discovered:
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("history")
        _history_discovered = True
    return _history_describers


def _history_words(entry: PointEntry) -> tuple[str, str]:
    """(title, detail) from the ledger's own facts: the purchase, the return, the key a
    bonus was paid under, the reason staff gave."""
    from django.utils.translation import gettext as _

    from loyalty.formatting import date_display, money_display

    purchase = entry.purchase
    key = entry.idempotency_key or ""
    reason = entry.reason or ""
    if entry.kind == _Kind.EARN and purchase is not None:
        return (
            _("Purchase at %(store)s") % {"store": purchase.store.name},
            _("Receipt %(receipt)s · %(amount)s")
            % {"receipt": purchase.external_id, "amount": money_display(purchase.amount_due)},
        )
    if entry.kind == _Kind.SPEND:
        if purchase is not None:
            return (
                _("Paid with points at %(store)s") % {"store": purchase.store.name},
                _("Receipt %(receipt)s") % {"receipt": purchase.external_id},
            )
        if reason:
            return _("Reward: %(reward)s") % {"reward": reason}, ""
        return _("Points spent"), ""
    if entry.kind == _Kind.REVERSE:
        original = entry.purchase_return.purchase if entry.purchase_return else purchase
        receipt = original.external_id if original else ""
        return (
            _("Points taken back for a return"),
            _("Return of receipt %(receipt)s") % {"receipt": receipt} if receipt else "",
        )
    if entry.kind == _Kind.REFUND:
        if entry.purchase_return is not None or purchase is not None:
            original = entry.purchase_return.purchase if entry.purchase_return else purchase
            return (
                _("Points given back for a return"),
                _("Return of receipt %(receipt)s") % {"receipt": original.external_id},
            )
        if key.startswith("voucher-cancel:"):
            return (
                _("Points given back: voucher cancelled"),
                _("Reward: %(reward)s") % {"reward": reason} if reason else "",
            )
        return _("Points given back"), reason
    if entry.kind == _Kind.EXPIRE:
        lot = entry.lot
        return (
            _("Points expired"),
            _("Earned on %(day)s") % {"day": date_display(lot.earned_on)} if lot else "",
        )
    if entry.kind == _Kind.ADJUST:
        title = _("Added by our staff") if entry.available_delta > 0 else _("Deducted by our staff")
        if entry.reverses_id:
            title = _("Correction by our staff")
        return title, reason
    if entry.kind == _Kind.BONUS:
        if key.startswith("activity:profile_completed:"):
            return _("Bonus for completing your profile"), ""
        if key.startswith("activity:first_login:"):
            return _("Bonus for your first login"), ""
        if key.startswith("activity:purchase_review:"):
            return _("Bonus for reviewing a purchase"), ""
        if key.startswith("referral:") and key.endswith(":referrer"):
            return _("Referral bonus: a friend you invited joined"), ""
        if key.startswith("referral:"):
            return _("Referral bonus: you joined with a friend's code"), ""
        if key.startswith("send:"):
            return _("Campaign bonus"), reason
        return _("Bonus"), reason
    return str(entry.get_kind_display()), reason


def history_items(entries) -> list[HistoryItem]:
    """The entries of ``member_history`` (a page of them) said in words in the active
    language: what happened, where, the receipt and the amount. Reads nothing more for the
    ledger's own facts; each registered describer adds one query for the entries it knows."""
    from django.utils import timezone

    entries = list(entries)
    extra: dict[int, dict] = {}
    if entries:
        for describer in _history_describers_all():
            for entry_id, words in (describer(entries) or {}).items():
                known = extra.setdefault(entry_id, {})
                known["more"] = known.get("more", []) + list(words.pop("more", []))
                known.update(words)
    items = []
    for entry in entries:
        title, detail = _history_words(entry)
        words = extra.get(entry.pk, {})
        title, detail = words.get("title", title), words.get("detail", detail)
        detail = " · ".join(str(part) for part in [detail, *words.get("more", [])] if part)
        purchase = entry.purchase
        if entry.purchase_return is not None and purchase is None:
            purchase = entry.purchase_return.purchase
        lot = entry.lot
        credit = entry.available_delta + entry.pending_delta > 0
        status = (lot.status if lot is not None else "available") if credit else "done"
        occurred = getattr(entry, "occurred", None) or entry.created_at
        items.append(
            HistoryItem(
                id=entry.pk,
                kind=entry.kind,
                group=_history_group_of(entry),
                points=entry.available_delta + entry.pending_delta,
                status=str(status),
                available_on=lot.matures_on if lot is not None and status == "pending" else None,
                occurred_on=timezone.localdate(occurred),
                recorded_at=entry.created_at,
                title=str(title),
                detail=str(detail),
                receipt=purchase.external_id if purchase is not None else None,
                store_code=purchase.store.code if purchase is not None else None,
                store_name=purchase.store.name if purchase is not None else None,
                amount=(
                    entry.purchase_return.amount
                    if entry.purchase_return is not None
                    else purchase.amount_due
                    if purchase is not None
                    else None
                ),
            )
        )
    return items

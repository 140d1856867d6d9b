"""Reads about members, stores and the programme."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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

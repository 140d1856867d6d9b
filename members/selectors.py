"""Reads about members, stores and the programme."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db.models import Min, QuerySet, Sum

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

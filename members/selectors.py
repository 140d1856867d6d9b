"""Reads about members, stores and the programme."""

from __future__ import annotations

from django.db.models import QuerySet

from members.identifiers import (
    card_number_clean,
    card_number_is_valid,
    phone_looks_like,
    phone_normalize,
)
from members.models import AuditEntry, ConsentEvent, Member, Program


def program_get() -> Program:
    """The programme's rules (one row, created by migration)."""
    return Program.objects.get(pk=Program.SINGLETON_ID)


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
        except Exception:
            return None
        return members.filter(phone=phone).first()
    return None


def member_for_user(user) -> Member | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Member.objects.filter(user=user).first()


def member_consent_history(member: Member) -> QuerySet[ConsentEvent]:
    return member.consent_events.select_related("actor").order_by("-at", "-id")


def member_audit_trail(member: Member) -> QuerySet[AuditEntry]:
    return member.audit_entries.select_related("actor").order_by("-at", "-id")

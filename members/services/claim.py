"""Attaching a login to a member enrolled at the till (the member "claims" their membership).

A member enrolled at the till has a card, points and history, and no login. The portal's
sign-up with that phone creates a login and a ``PhoneClaim`` (``members.adapters``); once the
phone is proven by a one-time code, ``member_claim`` attaches the login to the member. Staff
may call it too (issue #14: "link a till member to an online account"), passing
``acting_user`` and ``proof="staff"`` when they checked the person themselves.

What the till recorded wins: the sign-up's profile fields fill the member's blanks only;
where both have a value and they differ, the member's is kept and the field is reported
(``ClaimResult.kept``) so the page can say so. Consents given at sign-up are recorded (a
"yes" is the member's own decision, now); a consent the till recorded is never withdrawn
here. The referral code of the sign-up form is not applied: the member joined before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _

from loyalty.errors import DomainError
from members.models import AuditEntry, ConsentEvent, Member, PhoneClaim, User
from members.services.people import member_set_consent, member_update_profile

# The sign-up's fields that may fill a till member's blanks.
FILLABLE_FIELDS = ("full_name", "email", "birth_date", "gender", "province", "occupation")
PROOFS = ("phone_code", "staff")


@dataclass
class ClaimResult:
    member: Member
    filled: list[str] = field(default_factory=list)  # blanks filled from the sign-up
    kept: list[str] = field(default_factory=list)  # differed: the member's value kept


def claimable_member(phone: str | None) -> Member | None:
    """The member holding ``phone`` with no login yet, or None."""
    if not phone:
        return None
    return Member.objects.filter(phone=phone, user__isnull=True).first()


def member_claim(
    *,
    user: User,
    phone: str,
    profile: dict | None = None,
    proof: str = "phone_code",
    acting_user: User | None = None,
) -> ClaimResult:
    """Attach ``user`` to the member enrolled with ``phone`` (E.164).

    The caller has proven that ``user``'s person owns ``phone`` (``proof``: a one-time code
    sent to it, or staff checking in person). Raises ``DomainError``: ``member_not_found``
    (no member has the phone), ``member_already_linked`` (it has a login already),
    ``login_has_member`` (the login already belongs to another member).
    """
    if proof not in PROOFS:
        raise ValueError(f"unknown proof {proof!r}")
    profile = dict(profile or {})
    if isinstance(profile.get("birth_date"), str):  # as kept in PhoneClaim.profile (JSON)
        profile["birth_date"] = date.fromisoformat(profile["birth_date"])
    with transaction.atomic():
        member = Member.objects.select_for_update().filter(phone=phone).first()
        if member is None:
            raise DomainError("member_not_found", _("No member has this phone number."))
        if member.user_id is not None:
            raise DomainError(
                "member_already_linked",
                _("This membership already has an online account. Log in with it."),
            )
        if Member.objects.filter(user=user).exists():
            raise DomainError(
                "login_has_member", _("This login already belongs to another membership.")
            )
        member.user = user
        member.save(update_fields=["user", "updated_at"])

        profile.setdefault("email", user.email)
        filled, kept, blanks = [], [], {}
        for name in FILLABLE_FIELDS:
            offered = profile.get(name)
            if offered in (None, ""):
                continue
            current = getattr(member, name)
            if current in (None, ""):
                blanks[name] = offered
            elif str(current).lower() != str(offered).lower():
                kept.append(name)
        if "email" in blanks and Member.objects.filter(email__iexact=blanks["email"]).exists():
            del blanks["email"]  # another member has it: leave the blank
        if blanks:
            member_update_profile(member=member, acting_user=acting_user, **blanks)
            filled = sorted(blanks)
        for channel in ("email", "sms"):
            if profile.get(f"{channel}_consent") and not getattr(member, f"{channel}_consent"):
                source = (
                    ConsentEvent.Source.STAFF if proof == "staff" else ConsentEvent.Source.SIGNUP
                )
                member_set_consent(
                    member=member,
                    channel=channel,
                    granted=True,
                    source=source,
                    acting_user=acting_user,
                )
        AuditEntry.objects.create(
            actor=acting_user or user,
            action="member.login_claimed",
            member=member,
            # Field names only: the values are on the member, the trail needs no copy.
            data={"proof": proof, "user_id": user.pk, "filled": filled, "kept": kept},
        )
        PhoneClaim.objects.filter(user=user).delete()
    return ClaimResult(member=member, filled=filled, kept=kept)

"""Enrolment at the till."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from loyalty.errors import DomainError
from members.identifiers import phone_normalize, referral_code_clean
from members.models import Member, Store
from members.services import member_create
from pos.selectors import member_summary
from pos.services.idempotency import Outcome, run_idempotent


def member_enrol_at_till(
    *,
    store: Store,
    external_id: str,
    full_name: str,
    phone: str,
    email: str | None = None,
    birth_date: date | None = None,
    referral_code: str | None = None,
) -> Outcome:
    payload = {
        "full_name": full_name,
        "phone": phone,
        "email": email,
        "birth_date": birth_date,
        "referral_code": referral_code,
    }

    def action() -> tuple[int, dict]:
        errors: dict[str, list[str]] = {}
        referrer = None
        if referral_code:
            referrer = Member.objects.filter(
                referral_code=referral_code_clean(referral_code)
            ).first()
            if referrer is None:
                errors["referral_code"] = [_("No member has this referral code.")]
        try:
            phone_normalize(phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages
        if errors:
            raise DomainError("validation_error", _("Some fields are invalid."), details=errors)
        try:
            member = member_create(
                full_name=full_name,
                phone=phone,
                email=email,
                birth_date=birth_date,
                enrolled_via=Member.Channel.POS,
                store=store,
                referred_by=referrer,
                # The till is the device: more than a few referees of one code joining at
                # one store in a day are held for review (promotions' referral checks).
                device_id=f"store:{store.code}",
            )
        except ValidationError as exc:
            raise DomainError(
                "validation_error", _("Some fields are invalid."), details=exc.message_dict
            ) from None
        return 201, member_summary(member)

    return run_idempotent(
        store=store, kind="enrol", external_id=external_id, payload=payload, action=action
    )

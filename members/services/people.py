"""Writes about members: enrolment, profile, consents, blocking, stores and the programme."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import DomainError
from members.identifiers import (
    card_number_generate,
    phone_normalize,
    referral_code_generate,
)
from members.models import AuditEntry, ConsentEvent, Member, PointAccount, Store, User
from members.provinces import PROVINCE_NAMES
from members.signals import member_enrolled, profile_updated

PROFILE_FIELDS = (
    "full_name",
    "phone",
    "email",
    "birth_date",
    "gender",
    "province",
    "occupation",
    "language",
)
CONSENT_CHANNELS = ("email", "sms")


def _clean_email(email: str | None) -> str | None:
    email = (email or "").strip()
    return email.lower() or None


def _clean_profile(data: dict) -> dict:
    """Normalise and validate profile fields; raise ``ValidationError`` keyed by field."""
    cleaned = dict(data)
    errors: dict[str, list[str]] = {}
    if "full_name" in cleaned:
        cleaned["full_name"] = " ".join((cleaned["full_name"] or "").split())
        if not cleaned["full_name"]:
            errors["full_name"] = [_("Enter the member's full name.")]
    if "phone" in cleaned:
        raw = cleaned["phone"]
        if raw in (None, ""):
            cleaned["phone"] = None
        else:
            try:
                cleaned["phone"] = phone_normalize(raw)
            except ValidationError as exc:
                errors["phone"] = exc.messages
    if "email" in cleaned:
        cleaned["email"] = _clean_email(cleaned["email"])
    if cleaned.get("birth_date"):
        birth_date = cleaned["birth_date"]
        if not isinstance(birth_date, date):
            errors["birth_date"] = [_("Enter a valid date.")]
        elif birth_date > timezone.localdate() or birth_date.year < 1900:
            errors["birth_date"] = [_("Enter a birth date in the past.")]
    if cleaned.get("gender") and cleaned["gender"] not in Member.Gender.values:
        errors["gender"] = [_("Choose a gender from the list.")]
    if cleaned.get("province") and cleaned["province"] not in PROVINCE_NAMES:
        errors["province"] = [_("Choose a province or city from the list.")]
    if "language" in cleaned and cleaned["language"] not in ("vi", "en"):
        errors["language"] = [_("Choose Vietnamese or English.")]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _ensure_unique_contacts(*, phone: str | None, email: str | None, exclude_id: int | None = None):
    clashes = Member.objects.none()
    if phone:
        clashes = clashes | Member.objects.filter(phone=phone)
    if email:
        clashes = clashes | Member.objects.filter(email__iexact=email)
    if exclude_id is not None:
        clashes = clashes.exclude(pk=exclude_id)
    clash = clashes.only("phone", "email").first()
    if clash is None:
        return
    field = "phone" if phone and clash.phone == phone else "email"
    raise DomainError(
        "member_exists",
        _("A member with this phone number already exists.")
        if field == "phone"
        else _("A member with this email address already exists."),
        details={"field": field},
    )


def _unique_value(generate, field: str) -> str:
    for _attempt in range(20):
        value = generate()
        if not Member.objects.filter(**{field: value}).exists():
            return value
    raise RuntimeError(f"could not find a free {field} after 20 attempts")


@transaction.atomic
def member_create(
    *,
    full_name: str,
    phone: str | None = None,
    email: str | None = None,
    birth_date: date | None = None,
    gender: str = "",
    province: str = "",
    occupation: str = "",
    email_consent: bool = False,
    sms_consent: bool = False,
    user: User | None = None,
    enrolled_via: str = Member.Channel.PORTAL,
    store: Store | None = None,
    acting_user: User | None = None,
    joined_at=None,
    referred_by: Member | None = None,
    ip: str | None = None,
    device_id: str = "",
    language: str = "vi",
) -> Member:
    """Enrol a member: validated profile, fresh card number and referral code, consents.

    Raises ``ValidationError`` (per field) for bad input and ``DomainError('member_exists')``
    when the phone or email already belongs to a member. Sends ``members.signals.
    member_enrolled`` (with ``referred_by`` as the referrer and the client's ``ip`` and
    ``device_id``, which only the referral checks read) before returning, in the same
    transaction.
    """
    data = _clean_profile(
        {
            "full_name": full_name,
            "phone": phone,
            "email": email if email is not None else (user.email if user else None),
            "birth_date": birth_date,
            "gender": gender,
            "province": province,
            "occupation": occupation,
            "language": language,
        }
    )
    if not data["phone"] and not data["email"]:
        raise ValidationError({"phone": [_("Give a phone number or an email address.")]})
    _ensure_unique_contacts(phone=data["phone"], email=data["email"])
    now = timezone.now()
    member = Member(
        **data,
        user=user,
        enrolled_via=enrolled_via,
        enrolled_at_store=store,
        joined_at=joined_at or now,
        referred_by=referred_by,
        card_number=_unique_value(card_number_generate, "card_number"),
        referral_code=_unique_value(referral_code_generate, "referral_code"),
    )
    try:
        with transaction.atomic():
            member.save()
            PointAccount.objects.create(member=member)
    except IntegrityError:
        # Another enrolment with the same phone/email committed between our check and insert.
        _ensure_unique_contacts(phone=data["phone"], email=data["email"])
        raise
    source = {
        Member.Channel.PORTAL: ConsentEvent.Source.SIGNUP,
        Member.Channel.POS: ConsentEvent.Source.POS,
        Member.Channel.STAFF: ConsentEvent.Source.STAFF,
        Member.Channel.IMPORT: ConsentEvent.Source.IMPORT,
    }[enrolled_via]
    for channel, granted in (("email", email_consent), ("sms", sms_consent)):
        if granted:
            member_set_consent(
                member=member,
                channel=channel,
                granted=True,
                source=source,
                acting_user=acting_user,
                at=member.joined_at,
            )
    member_enrolled.send(
        sender=Member,
        member=member,
        referrer=referred_by,
        channel=enrolled_via,
        ip=ip or None,
        device_id=(device_id or "")[:128],
    )
    return member


@transaction.atomic
def member_update_profile(*, member: Member, acting_user: User | None = None, **changes) -> Member:
    """Change profile fields (``PROFILE_FIELDS`` only). Email changes follow to the login.
    Sends ``members.signals.profile_updated`` when something changed."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.is_erased:  # its data is gone for good (members.services.privacy.member_erase)
        raise DomainError("not_found", _("This membership was erased."))
    data = _clean_profile(changes)
    new_phone = data.get("phone", member.phone)
    new_email = data.get("email", member.email)
    if not new_phone and not new_email:
        raise ValidationError({"phone": [_("Keep a phone number or an email address.")]})
    if member.user_id and "email" in data and not new_email:
        raise ValidationError({"email": [_("A member who logs in needs an email address.")]})
    _ensure_unique_contacts(
        phone=new_phone if new_phone != member.phone else None,
        email=new_email if (new_email or "") != (member.email or "") else None,
        exclude_id=member.pk,
    )
    changed = [field for field, value in data.items() if getattr(member, field) != value]
    if not changed:
        return member
    before = {field: _jsonable(getattr(member, field)) for field in changed}
    for field in changed:
        setattr(member, field, data[field])
    member.save(update_fields=[*changed, "updated_at"])
    if "email" in changed and member.user_id:
        user = member.user
        if User.objects.filter(email__iexact=member.email).exclude(pk=user.pk).exists():
            raise DomainError(
                "member_exists",
                _("Another login already uses this email address."),
                details={"field": "email"},
            )
        user.email = member.email
        user.save(update_fields=["email"])
    if acting_user is not None and acting_user != member.user:
        AuditEntry.objects.create(
            actor=acting_user,
            action="member.profile_changed",
            member=member,
            data={"before": before, "after": {f: _jsonable(getattr(member, f)) for f in changed}},
        )
    profile_updated.send(sender=Member, member=member, changed=changed, before=before)
    return member


def _jsonable(value):
    return value.isoformat() if isinstance(value, date) else value


@transaction.atomic
def member_set_consent(
    *,
    member: Member,
    channel: str,
    granted: bool,
    source: str,
    acting_user: User | None = None,
    at=None,
) -> bool:
    """Record a consent decision for one channel; returns False when nothing changed.

    The history row and the cached flag on the member change together, under the member's
    row lock, so concurrent toggles cannot leave them disagreeing.
    """
    if channel not in CONSENT_CHANNELS:
        raise ValueError(f"unknown consent channel {channel!r}")
    if source not in ConsentEvent.Source.values:
        raise ValueError(f"unknown consent source {source!r}")
    locked = Member.objects.select_for_update().get(pk=member.pk)
    current = getattr(locked, f"{channel}_consent")
    has_history = locked.consent_events.filter(channel=channel).exists()
    if current == granted and has_history:
        return False
    if not granted and not has_history:
        # Never granted and still not granted: nothing to record.
        return False
    now = at or timezone.now()
    ConsentEvent.objects.create(
        member=locked, channel=channel, granted=granted, source=source, actor=acting_user, at=now
    )
    Member.objects.filter(pk=locked.pk).update(
        **{f"{channel}_consent": granted, f"{channel}_consent_at": now}
    )
    setattr(member, f"{channel}_consent", granted)
    setattr(member, f"{channel}_consent_at", now)
    if (
        acting_user is not None
        and acting_user != locked.user
        and source == ConsentEvent.Source.STAFF
    ):
        AuditEntry.objects.create(
            actor=acting_user,
            action="member.consent_changed",
            member=locked,
            data={"channel": channel, "granted": granted},
        )
    return True


@transaction.atomic
def member_block(*, member: Member, reason: str, acting_user: User) -> Member:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the member is blocked.")]})
    locked = Member.objects.select_for_update().get(pk=member.pk)
    if locked.is_blocked:
        return locked
    locked.status = Member.Status.BLOCKED
    locked.blocked_reason = reason[:255]
    locked.save(update_fields=["status", "blocked_reason", "updated_at"])
    AuditEntry.objects.create(
        actor=acting_user, action="member.blocked", member=locked, reason=reason
    )
    return locked


@transaction.atomic
def member_unblock(*, member: Member, reason: str, acting_user: User) -> Member:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the member is unblocked.")]})
    locked = Member.objects.select_for_update().get(pk=member.pk)
    if not locked.is_blocked:
        return locked
    locked.status = Member.Status.ACTIVE
    locked.blocked_reason = ""
    locked.save(update_fields=["status", "blocked_reason", "updated_at"])
    AuditEntry.objects.create(
        actor=acting_user, action="member.unblocked", member=locked, reason=reason
    )
    return locked


STORE_FIELDS = ("address", "province", "is_active")


def store_create_or_update(*, code: str, name: str, **fields) -> tuple[Store, bool]:
    """Idempotent: the store with ``code`` ends up with these values; True if it was created."""
    unknown = set(fields) - set(STORE_FIELDS)
    if unknown:
        raise ValueError(f"not store fields: {sorted(unknown)}")
    if fields.get("province") and fields["province"] not in PROVINCE_NAMES:
        raise ValidationError({"province": [_("Choose a province or city from the list.")]})
    code = (code or "").strip().upper()
    if not code or not code.replace("-", "").replace("_", "").isalnum() or len(code) > 32:
        raise ValidationError({"code": [_("Use up to 32 letters, digits, - or _.")]})
    if not (name or "").strip():
        raise ValidationError({"name": [_("Enter the store's name.")]})
    store, created = Store.objects.update_or_create(
        code=code, defaults={"name": name.strip(), **fields}
    )
    return store, created

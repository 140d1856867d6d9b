"""allauth's account adapter: sign-up creates the login and the member together, and
allauth's phone (login by code, phone and password, phone verification) maps onto
``Member.phone``.

Where the phone lives: on ``members.Member`` (unique, E.164), reached from a login through
``Member.user``; staff logins have no member and so no phone. allauth's "verified" flag:

- the phone of a member attached to a login counts as the login's phone (verified): it was
  given at sign-up, or proven by a code (the till claim below, or a login by code);
- a login waiting to claim a till membership has a ``PhoneClaim``: its phone is unverified,
  so allauth's phone verification stage sends a code before the login completes, and
  ``set_phone_verified`` (the code was right) attaches the login to the member.

Never before: an attacker typing someone else's phone at sign-up gets a login with no member,
stuck at "enter the code we sent" (the code went to the real owner's phone).
"""

from __future__ import annotations

import logging

from allauth.account import stages
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import RateLimited
from allauth.core.internal.httpkit import headed_redirect_response
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from loyalty.auth_sms import auth_sms_send
from loyalty.errors import DomainError
from members.identifiers import phone_normalize
from members.models import Member, PhoneClaim
from members.services import member_create, member_update_profile
from members.services.claim import claimable_member, member_claim

logger = logging.getLogger(__name__)

# The sign-up form's profile fields kept on a PhoneClaim until the phone is proven.
_CLAIM_PROFILE_FIELDS = (
    "full_name",
    "birth_date",
    "gender",
    "province",
    "occupation",
    "email_consent",
    "sms_consent",
)


def _phone_or_none(raw: str | None) -> str | None:
    try:
        return phone_normalize(raw or "")
    except ValidationError:
        return None


class AccountAdapter(DefaultAccountAdapter):
    """Creates the login and the member in one transaction, so neither exists alone, except
    for a login claiming a till membership, which has a ``PhoneClaim`` until its phone is
    proven."""

    def save_user(self, request, user, form, commit=True):
        if not commit:
            return super().save_user(request, user, form, commit=False)
        data = form.cleaned_data
        phone = data["phone"]
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=True)
            if claimable_member(phone) is not None:
                # Enrolled at the till: attach only once the phone is proven (the phone
                # verification stage runs next and calls set_phone_verified).
                profile = {name: data.get(name) for name in _CLAIM_PROFILE_FIELDS}
                if profile["birth_date"]:
                    profile["birth_date"] = profile["birth_date"].isoformat()
                PhoneClaim.objects.update_or_create(
                    user=user, defaults={"phone": phone, "profile": profile}
                )
                return user
            code = data.get("referral_code")
            referrer = Member.objects.filter(referral_code=code).first() if code else None
            member_create(
                user=user,
                full_name=data["full_name"],
                phone=phone,
                birth_date=data.get("birth_date"),
                gender=data.get("gender", ""),
                province=data.get("province", ""),
                occupation=data.get("occupation", ""),
                email_consent=data.get("email_consent", False),
                sms_consent=data.get("sms_consent", False),
                enrolled_via=Member.Channel.PORTAL,
                referred_by=referrer,
                ip=self._client_ip(request),
                device_id=request.headers.get("X-Device-Id", "")[:128],
                # Messages go out in the language the member signed up in.
                language="en" if (get_language() or "").startswith("en") else "vi",
            )
        return user

    def _client_ip(self, request) -> str | None:
        """The client's address as allauth's rate limits see it (its trusted proxy
        settings apply), or None."""
        try:
            return self.get_client_ip(request)
        except PermissionDenied:
            return None

    # --- allauth's phone API (65.x): the phone is Member.phone ---

    def get_login_stages(self) -> list[str]:
        return [
            "members.adapters.PhoneVerificationStage"
            if stage == "allauth.account.stages.PhoneVerificationStage"
            else stage
            for stage in super().get_login_stages()
        ]

    def phone_form_field(self, **kwargs):
        """Any Vietnamese way of writing a number (0912 345 678, +84 912345678,
        84912345678), cleaned to E.164."""
        from members.forms import PhoneField

        kwargs.pop("label", None)  # allauth passes "Phone"; ours says "Mobile phone"
        return PhoneField(**kwargs)

    def clean_phone(self, phone: str) -> str:
        return phone_normalize(phone)

    def get_phone(self, user) -> tuple[str, bool] | None:
        claim = PhoneClaim.objects.filter(user=user).only("phone").first()
        if claim is not None:
            if claimable_member(claim.phone) is not None:
                return claim.phone, False
            # Linked to another login meanwhile (staff, another sign-up that proved first):
            # nothing left to claim; the login goes on without a membership.
            claim.delete()
        phone = Member.objects.filter(user=user).values_list("phone", flat=True).first()
        return (phone, True) if phone else None

    def get_user_by_phone(self, phone: str):
        phone = _phone_or_none(phone)
        if phone is None:
            return None
        member = (
            Member.objects.filter(phone=phone, user__isnull=False, user__is_active=True)
            .select_related("user")
            .first()
        )
        return member.user if member else None

    def set_phone(self, user, phone: str, verified: bool) -> None:
        """allauth stores a phone for ``user``: at sign-up (``save_user`` above does the
        work: the member or the PhoneClaim), or on a change of phone, which allauth calls
        with ``verified=False`` first and confirms through ``set_phone_verified``."""
        if verified:
            self.set_phone_verified(user, phone)

    def set_phone_verified(self, user, phone: str) -> None:
        """The code sent to ``phone`` was right: claim the till membership waiting for it,
        or make it the member's phone (a change of phone)."""
        phone = phone_normalize(phone)
        claim = PhoneClaim.objects.filter(user=user, phone=phone).first()
        if claim is not None:
            self._claim(user, claim)
            return
        member = Member.objects.filter(user=user).first()
        if member is not None and member.phone != phone:
            try:
                member_update_profile(member=member, phone=phone)
            except DomainError as exc:  # another member (one enrolled at the till) has it
                if self.request is not None:
                    messages.error(self.request, str(exc.message))

    def _claim(self, user, claim: PhoneClaim) -> None:
        request = self.request
        try:
            result = member_claim(user=user, phone=claim.phone, profile=claim.profile)
        except DomainError as exc:
            # Linked by someone else meanwhile (staff, another sign-up that proved first).
            PhoneClaim.objects.filter(pk=claim.pk).delete()
            if request is not None:
                messages.error(request, str(exc.message))
            return
        if request is None:
            return
        messages.success(
            request,
            _(
                "Welcome back! Card %(card)s is now yours online: your points and history "
                "are all here."
            )
            % {"card": result.member.card_number_display},
        )
        if result.kept:
            labels = ", ".join(
                str(Member._meta.get_field(name).verbose_name) for name in result.kept
            )
            messages.info(
                request,
                _(
                    "The store recorded a different %(fields)s for you; we kept the store's. "
                    "You can change it in your profile."
                )
                % {"fields": labels},
            )

    def send_verification_code_sms(self, user, phone: str, code: str, **kwargs) -> None:
        auth_sms_send(
            phone=phone,
            text=_("Your login code is %(code)s. Never share it with anyone, staff included.")
            % {"code": code},
        )

    def send_unknown_account_sms(self, phone: str, **kwargs) -> None:
        """A login code was asked for a phone with no login. A member enrolled at the till
        is told how to claim the card online; any other number gets nothing (an SMS to a
        stranger's phone is spam, and costs). The page says the same either way."""
        if claimable_member(_phone_or_none(phone)) is None:
            return
        signup = reverse("account_signup")
        if self.request is not None:
            signup = self.request.build_absolute_uri(signup)
        auth_sms_send(
            phone=phone,
            text=_(
                "Your loyalty card has no online account yet. Sign up with this phone "
                "number to use it online: %(url)s"
            )
            % {"url": signup},
        )

    def send_account_already_exists_sms(self, phone: str) -> None:
        auth_sms_send(
            phone=phone,
            text=_(
                "Someone tried to sign up with your phone number. You already have an "
                "account: log in with your phone instead."
            ),
        )


class PhoneVerificationStage(stages.PhoneVerificationStage):
    """allauth's stage, but a phone that was sent a code moments ago (its ``verify_phone``
    rate limit) gets a clear "wait" on the login page instead of an error page (allauth
    65.21 lets ``RateLimited`` escape from the stage)."""

    def handle(self):
        try:
            return super().handle()
        except RateLimited:
            messages.error(
                self.request,
                _("A code was sent to this phone a moment ago. Wait a minute, then log in again."),
            )
            return headed_redirect_response("account_login"), False

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import get_language

from members.models import Member
from members.services import member_create


class AccountAdapter(DefaultAccountAdapter):
    """Creates the login and the member in one transaction, so neither exists alone."""

    def save_user(self, request, user, form, commit=True):
        if not commit:
            return super().save_user(request, user, form, commit=False)
        data = form.cleaned_data
        code = data.get("referral_code")
        referrer = Member.objects.filter(referral_code=code).first() if code else None
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=True)
            member_create(
                user=user,
                full_name=data["full_name"],
                phone=data["phone"],
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

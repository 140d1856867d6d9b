from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction

from members.models import Member
from members.services import member_create


class AccountAdapter(DefaultAccountAdapter):
    """Creates the login and the member in one transaction, so neither exists alone."""

    def save_user(self, request, user, form, commit=True):
        if not commit:
            return super().save_user(request, user, form, commit=False)
        data = form.cleaned_data
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
            )
        return user

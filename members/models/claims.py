"""A login waiting to prove its phone before it is attached to a till-enrolled member.

A member enrolled at the till has a card, a phone and no login. When someone signs up in
the portal with that phone, the login is created but NOT attached: this row keeps the phone
and what they typed on the sign-up form until the phone is proven by a one-time code
(allauth's phone verification stage). Then ``members.services.claim.member_claim`` attaches
the login to the member and deletes the row. Until then the login has no member and cannot
finish logging in (the stage asks for the code again); nothing of the member is shown.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PhoneClaim(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        on_delete=models.CASCADE,
        related_name="phone_claim",
    )
    phone = models.CharField(_("phone"), max_length=16, help_text=_("E.164"))
    # The sign-up form's profile fields (full name, birth date, ...): they fill the blanks of
    # the member's profile once the phone is proven.
    profile = models.JSONField(_("profile entered at sign-up"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("membership claim")
        verbose_name_plural = _("membership claims")
        indexes = [models.Index(fields=["phone"])]

    def __str__(self):
        return f"claim {self.pk} ({self.created_at:%Y-%m-%d %H:%M})"

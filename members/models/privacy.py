"""Requests a member makes about their personal data (Decree 13/2023): a copy of it, the
withdrawal of their consents, the erasure of their account. One row per request carried
out, by the member in the portal or the app, or by staff on their behalf.

The row holds no personal data: the member's id (kept after erasure, when the member row
itself is anonymised), what was done, through which channel, by which staff user, and a
note staff write (a reason, never a copy of the data).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models.people import Member


class DataRequest(models.Model):
    class Kind(models.TextChoices):
        EXPORT = "export", _("Copy of my data")
        WITHDRAW_CONSENTS = "withdraw_consents", _("Withdraw consents")
        ERASE = "erase", _("Delete my account")

    class Channel(models.TextChoices):
        PORTAL = "portal", _("Member portal")
        STAFF = "staff", _("Staff, on the member's behalf")
        API = "api", _("Member app")

    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="data_requests",
    )
    kind = models.CharField(_("request"), max_length=20, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("carried out by (staff)"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The staff user who carried it out for the member; empty: the member."),
    )
    note = models.TextField(_("note"), blank=True, help_text=_("Why staff carried it out."))
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("personal-data request")
        verbose_name_plural = _("personal-data requests")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("export_member_data", _("Can download a member's personal data for them")),
            ("withdraw_member_consents", _("Can withdraw all of a member's consents for them")),
            ("erase_member", _("Can erase a member's account and personal data")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["export", "withdraw_consents", "erase"]),
                name="data_request_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=["portal", "staff", "api"]),
                name="data_request_channel_valid",
            ),
            models.CheckConstraint(
                condition=~Q(channel="staff") | Q(acting_user__isnull=False),
                name="data_request_staff_has_user",
            ),
        ]
        indexes = [models.Index(fields=["member", "created_at"], name="data_request_member")]

    def __str__(self):
        return f"{self.member_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"

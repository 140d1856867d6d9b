"""Admin of the logins waiting to prove a till member's phone (``PhoneClaim``): read only,
for superusers and Program admins (that role holds every members permission). The phone is
shown masked and the profile typed at sign-up not at all: it is the person's until the phone
is proven."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from loyalty.admin import ReadOnlyAdmin
from members.identifiers import phone_mask
from members.models import PhoneClaim


@admin.register(PhoneClaim)
class PhoneClaimAdmin(ReadOnlyAdmin):
    list_display = ["user", "masked_phone", "created_at"]
    list_select_related = ["user"]
    fields = ["user", "masked_phone", "created_at"]
    readonly_fields = fields
    ordering = ["-created_at"]

    @admin.display(description=_("phone"))
    def masked_phone(self, obj):
        return phone_mask(obj.phone)

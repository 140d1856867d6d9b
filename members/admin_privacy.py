"""Staff carry out a member's personal-data request for them (Decree 13/2023), from the
Member admin: download their data, withdraw every consent, erase the account. Each action
asks for the reason (kept on the ``DataRequest`` and in the audit trail) and is gated by its
own permission (``members.export_member_data``, ``members.withdraw_member_consents``,
``members.erase_member``; which roles hold them: ``members.roles``). The requests are
listed read-only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from loyalty.admin import ReadOnlyAdmin
from members.models import DataRequest
from members.services.privacy import (
    data_request_record,
    member_erase,
    member_withdraw_consents,
)
from members.views_privacy import export_response


class PrivacyReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("How the member asked (call, letter, at the store) and any reference."),
    )


class PrivacyExportForm(PrivacyReasonForm):
    format = forms.ChoiceField(
        label=_("Format"),
        choices=[("json", "JSON"), ("csv", _("CSV (a ZIP of tables)"))],
        initial="csv",
    )


class MemberPrivacyActionsMixin:
    """Admin actions on ``MemberAdmin`` (listed in its ``actions``)."""

    privacy_actions = ["export_member_data", "withdraw_member_consents", "erase_members"]

    def has_change_permission(self, request, obj=None):
        # An erased member's profile is gone for good: nobody types it back in.
        if obj is not None and obj.is_erased:
            return False
        return super().has_change_permission(request, obj)

    def has_export_data_permission(self, request):
        return request.user.has_perm("members.export_member_data")

    def has_withdraw_consents_permission(self, request):
        return request.user.has_perm("members.withdraw_member_consents")

    def has_erase_permission(self, request):
        return request.user.has_perm("members.erase_member")

    def _privacy_form(self, request, queryset, *, action, form_class, title, intro, button):
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            return form
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "button": button,
            "members": queryset,
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
            "danger": action == "erase_members",
        }
        return TemplateResponse(request, "admin/members/privacy_action.html", context)

    @admin.action(description=_("Download the member's data"), permissions=["export_data"])
    def export_member_data(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request, _("Choose one member to download their data."), messages.ERROR
            )
            return None
        member = queryset.get()
        result = self._privacy_form(
            request,
            queryset,
            action="export_member_data",
            form_class=PrivacyExportForm,
            title=_("Download the data of %(member)s") % {"member": member},
            intro=_("Everything held about the member, to hand to them at their request."),
            button=_("Download"),
        )
        if isinstance(result, TemplateResponse):
            return result
        response = export_response(member, result.cleaned_data["format"])
        data_request_record(
            member=member,
            kind=DataRequest.Kind.EXPORT,
            acting_user=request.user,
            channel=DataRequest.Channel.STAFF,
            note=result.cleaned_data["reason"],
        )
        return response

    @admin.action(
        description=_("Withdraw all marketing consents"), permissions=["withdraw_consents"]
    )
    def withdraw_member_consents(self, request, queryset):
        result = self._privacy_form(
            request,
            queryset,
            action="withdraw_member_consents",
            form_class=PrivacyReasonForm,
            title=_("Withdraw every marketing consent"),
            intro=_("Email and SMS marketing are turned off for these members, as they asked."),
            button=_("Withdraw consents"),
        )
        if isinstance(result, TemplateResponse):
            return result
        count = 0
        for member in queryset:
            member_withdraw_consents(
                member=member,
                acting_user=request.user,
                channel=DataRequest.Channel.STAFF,
                note=result.cleaned_data["reason"],
            )
            count += 1
        self.message_user(
            request, _("Consents withdrawn for %(n)d member(s).") % {"n": count}, messages.SUCCESS
        )
        return None

    @admin.action(
        description=_("Erase the member's account and personal data"), permissions=["erase"]
    )
    def erase_members(self, request, queryset):
        result = self._privacy_form(
            request,
            queryset,
            action="erase_members",
            form_class=PrivacyReasonForm,
            title=_("Erase these members"),
            intro=_(
                "Their personal data is erased and their login removed; their card stops "
                "working; points and unused vouchers are lost. Purchases and point entries "
                "stay, anonymised. This cannot be undone."
            ),
            button=_("Erase"),
        )
        if isinstance(result, TemplateResponse):
            return result
        count = 0
        for member in queryset:
            member_erase(
                member=member,
                acting_user=request.user,
                channel=DataRequest.Channel.STAFF,
                reason=result.cleaned_data["reason"],
            )
            count += 1
        self.message_user(request, _("Erased %(n)d member(s).") % {"n": count}, messages.SUCCESS)
        return None


@admin.register(DataRequest)
class DataRequestAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "member", "kind", "channel", "acting_user", "completed_at"]
    list_filter = ["kind", "channel"]
    search_fields = ["member__card_number", "note"]
    list_select_related = ["member", "acting_user"]
    date_hierarchy = "created_at"

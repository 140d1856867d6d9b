"""The member's personal-data requests carried out by staff from the member page (Decree
13): ``/staff/member/<id>/export/`` downloads the member's data (JSON or a ZIP of CSV
tables) and records the request; ``/staff/member/<id>/erase/`` erases the member after the
staff user types the card number. Both take how the member asked; the services audit.
Nothing of the member's data reaches the log."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from console.views_actions import member_or_404
from console.views_base import console_context, staff_view
from members.admin_privacy import PrivacyExportForm, PrivacyReasonForm
from members.identifiers import card_number_clean
from members.models import DataRequest, Member
from members.services.privacy import data_request_record, member_erase
from members.views_privacy import export_response


class EraseForm(PrivacyReasonForm):
    confirm = forms.CharField(
        label=gettext_lazy("Type the member's card number to confirm"),
        max_length=40,
        help_text=gettext_lazy("Erasing cannot be undone."),
    )
    field_order = ["reason", "confirm"]

    def __init__(self, *args, member: Member, **kwargs):
        super().__init__(*args, **kwargs)
        self.member = member

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Say how the member asked."))
        return reason

    def clean_confirm(self):
        typed = card_number_clean(self.cleaned_data["confirm"])
        if typed != self.member.card_number:
            raise forms.ValidationError(_("This is not the member's card number."))
        return typed


def _page(request, template, member, form, title):
    response = render(
        request, template, console_context(request, title=title, member=member, form=form)
    )
    if request.method == "POST":
        response.status_code = 400
    return response


@never_cache
@staff_view("members.view_member", "members.export_member_data")
def member_export(request, member_id: int):
    member = member_or_404(member_id)
    form = PrivacyExportForm(request.POST or None)
    if member.is_erased:
        form.add_error(None, _("This member's personal data has been erased."))
    elif request.method == "POST" and form.is_valid():
        response = export_response(member, form.cleaned_data["format"])
        data_request_record(
            member=member,
            kind=DataRequest.Kind.EXPORT,
            acting_user=request.user,
            channel=DataRequest.Channel.STAFF,
            note=form.cleaned_data["reason"],
        )
        return response
    return _page(request, "console/privacy/export.html", member, form, _("Export personal data"))


@staff_view("members.view_member", "members.erase_member")
def member_erase_view(request, member_id: int):
    member = member_or_404(member_id)
    form = EraseForm(request.POST or None, member=member)
    if member.is_erased:
        form.add_error(None, _("This member's personal data has been erased already."))
    elif request.method == "POST" and form.is_valid():
        member_erase(
            member=member,
            acting_user=request.user,
            channel=DataRequest.Channel.STAFF,
            reason=form.cleaned_data["reason"],
        )
        messages.success(request, _("The member's personal data was erased."))
        return redirect("console:member", member_id=member.pk)
    return _page(request, "console/privacy/erase.html", member, form, _("Erase personal data"))

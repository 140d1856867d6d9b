"""The audit log (``/staff/audit/``): who did what to whom and why, searchable by member,
staff user, action and date; 50 entries a page, newest first. Bad filters: the form's
errors, a 400 and no entries."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console.selectors_audit import ACTION_LABELS, action_label, audit_entries
from console.views_base import console_context, staff_view
from members.search import MAX_QUERY_LENGTH

PER_PAGE = 50


class AuditFilterForm(forms.Form):
    member = forms.CharField(
        label=gettext_lazy("Member"),
        required=False,
        max_length=MAX_QUERY_LENGTH,
        help_text=gettext_lazy("Name, phone, email or card number"),
    )
    staff = forms.CharField(
        label=gettext_lazy("Staff user"),
        required=False,
        max_length=120,
        help_text=gettext_lazy("Part of an email or name, or a store's API key"),
    )
    action = forms.ChoiceField(label=gettext_lazy("Action"), required=False)
    start = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labelled = sorted(
            ((code, str(label)) for code, label in ACTION_LABELS.items()), key=lambda c: c[1]
        )
        self.fields["action"].choices = [("", _("Any action")), *labelled]

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise ValidationError(_("The start is after the end."))
        return data


@staff_view("members.view_auditentry", "members.view_member")
def audit_log(request):
    form = AuditFilterForm(request.GET or None)
    page = None
    status = 200
    if not request.GET or form.is_valid():
        data = form.cleaned_data if request.GET else {}
        entries = audit_entries(
            member_query=(data.get("member") or "").strip(),
            staff_query=(data.get("staff") or "").strip(),
            action=data.get("action") or "",
            start=data.get("start"),
            end=data.get("end"),
        )
        page = Paginator(entries, PER_PAGE).get_page(request.GET.get("page"))
        for entry in page.object_list:
            entry.action_shown = action_label(entry.action)
    else:
        status = 400
    query = request.GET.copy()
    query.pop("page", None)
    response = render(
        request,
        "console/audit.html",
        console_context(
            request,
            title=_("Audit log"),
            form=form,
            page=page,
            filters=query.urlencode(),
        ),
    )
    response.status_code = status
    return response

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.fields import InvalidJSONInput
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from campaigns.models import MemberScore, Segment
from campaigns.segment_rules import rules_validate
from campaigns.selectors import segment_preview
from campaigns.services import segment_create, segment_update
from loyalty.admin import ReadOnlyAdmin
from loyalty.errors import DomainError


class RulesField(forms.JSONField):
    """The rules as indented JSON, so a tree of groups stays readable while edited."""

    def prepare_value(self, value):
        if isinstance(value, InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2, cls=self.encoder)


class SegmentAdminForm(forms.ModelForm):
    rules = RulesField(
        label=_("rules"),
        widget=forms.Textarea(attrs={"rows": 18, "cols": 90, "style": "font-family: monospace"}),
        help_text=_(
            'A group {"op": "and" or "or", "rules": [...]} of conditions such as '
            '{"field": "tier", "in": ["gold"]}, {"field": "age", "between": [25, 40]}, '
            '{"field": "spend", "between": [5000000, null], "period": {"last_days": 90}} '
            "and nested groups. Fields: tier, lifecycle, recency, frequency, monetary, age, "
            "gender, province, birthday_month, joined, last_purchase, spend, points_balance, "
            "store_visited, consent, status."
        ),
    )

    class Meta:
        model = Segment
        fields = ["code", "name", "description", "rules"]

    def clean_rules(self):
        return rules_validate(self.cleaned_data["rules"])


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentAdminForm
    list_display = ["code", "name", "updated_at", "updated_by"]
    list_select_related = ["updated_by"]
    search_fields = ["code", "name", "description"]
    readonly_fields = ["members_now", "created_by", "created_at", "updated_by", "updated_at"]

    def get_fields(self, request, obj=None):
        fields = ["code", "name", "description", "rules"]
        if obj is not None:
            fields += ["members_now", "created_by", "created_at", "updated_by", "updated_at"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly.append("code")  # campaigns and rewards refer to it
        return readonly

    @admin.display(description=_("members now"))
    def members_now(self, obj):
        try:
            preview = segment_preview(obj.rules)
        except ValidationError as exc:
            return "; ".join(exc.messages)
        count = ngettext(
            "%(count)s member matches now.", "%(count)s members match now.", preview.count
        ) % {"count": preview.count}
        if not preview.sample:
            return count
        sample = format_html_join(
            "",
            '<li><a href="{}">{}</a> {}</li>',
            (
                (
                    reverse("admin:members_member_change", args=[member.pk]),
                    member.full_name,
                    member.card_number_display,
                )
                for member in preview.sample
            ),
        )
        return format_html(
            "<strong>{}</strong><br>{}<ul>{}</ul>",
            count,
            _("The most recently joined:"),
            sample,
        )

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                segment, preview = segment_update(
                    segment=obj,
                    acting_user=request.user,
                    name=data["name"],
                    description=data["description"],
                    rules=data["rules"],
                )
            else:
                segment, preview = segment_create(
                    code=data["code"],
                    name=data["name"],
                    description=data["description"],
                    rules=data["rules"],
                    acting_user=request.user,
                )
        except DomainError as exc:
            raise PermissionDenied(exc.message) from exc
        # The admin goes on with the form's instance (log entry, redirect): make it the row.
        obj.pk = segment.pk
        obj._state.adding = False
        for field in ("rules", "created_by", "created_at", "updated_by", "updated_at"):
            setattr(obj, field, getattr(segment, field))
        messages.info(
            request,
            ngettext(
                "%(count)s member matches this segment now.",
                "%(count)s members match this segment now.",
                preview.count,
            )
            % {"count": preview.count},
        )


@admin.register(MemberScore)
class MemberScoreAdmin(ReadOnlyAdmin):
    list_display = [
        "member",
        "lifecycle",
        "recency",
        "frequency",
        "monetary",
        "purchases_12m",
        "spend_12m",
        "last_purchase_at",
        "lifecycle_since",
        "computed_on",
    ]
    list_filter = ["lifecycle", "recency", "frequency", "monetary"]
    list_select_related = ["member"]
    search_fields = ["member__card_number", "member__phone", "member__full_name"]
    ordering = ["member_id"]
    show_full_result_count = False  # one row per member: counting them all on every page

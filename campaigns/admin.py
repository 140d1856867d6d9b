from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.fields import InvalidJSONInput
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from campaigns.models import (
    Campaign,
    CampaignMessage,
    CampaignPolicy,
    MemberScore,
    Notification,
    ProgramDate,
    Segment,
    Send,
    SmsLog,
)
from campaigns.observances import BUILT_IN, holiday_choices, holiday_label
from campaigns.rendering import PLACEHOLDERS, placeholders_check
from campaigns.segment_rules import rules_validate
from campaigns.selectors import approval_needed, audience_count, campaign_figures, segment_preview
from campaigns.services import (
    campaign_approve,
    campaign_audience_changed,
    campaign_finish,
    campaign_pause,
    campaign_save,
    campaign_schedule,
    segment_create,
    segment_update,
)
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
        # Monospace from static/css/admin-code.css: a style="" attribute would break the CSP.
        widget=forms.Textarea(attrs={"rows": 18, "cols": 90, "class": "code-input"}),
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

    class Media:
        css = {"all": ["css/admin-code.css"]}

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
                    member.full_name or "—",  # imported from a phone or email alone
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


# ---------------------------------------------------------------------------------------------
# Campaigns


class CampaignMessageForm(forms.ModelForm):
    class Meta:
        model = CampaignMessage
        fields = ["language", "subject", "body", "sms"]
        widgets = {"body": forms.Textarea(attrs={"rows": 6, "cols": 70})}
        help_texts = {
            "body": format_lazy(
                "{} {}",
                _("For the email and the in-app notification. Placeholders:"),
                ", ".join("{" + name + "}" for name in PLACEHOLDERS),
            )
        }

    def clean(self):
        cleaned = super().clean()
        placeholders_check(
            cleaned.get("subject", ""), cleaned.get("body", ""), cleaned.get("sms", "")
        )
        return cleaned


class CampaignMessageInline(admin.StackedInline):
    model = CampaignMessage
    form = CampaignMessageForm
    extra = 0
    min_num = 1
    max_num = len(settings.LANGUAGES)
    verbose_name = _("message")
    verbose_name_plural = _("messages")

    def _parent_editable(self, obj) -> bool:
        return obj is None or obj.is_editable

    def has_add_permission(self, request, obj=None):
        return self._parent_editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._parent_editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._parent_editable(obj) and super().has_delete_permission(request, obj)


class CampaignAdminForm(forms.ModelForm):
    holiday = forms.ChoiceField(label=_("holiday"), required=False)

    class Meta:
        model = Campaign
        fields = [
            "code",
            "name",
            "description",
            "audience",
            "tiers",
            "segment",
            "trigger",
            "send_at",
            "holiday",
            "days",
            "starts_at",
            "ends_at",
            "in_app",
            "by_email",
            "by_sms",
            "reward_kind",
            "reward_points",
            "reward",
            "budget_points",
            "budget_vouchers",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "holiday" in self.fields:  # read-only once the campaign is under way
            self.fields["holiday"].choices = [("", "---------"), *holiday_choices()]
            self.fields["holiday"].help_text = Campaign._meta.get_field("holiday").help_text

    def clean(self):
        cleaned = super().clean()
        # What was spent is not a form field, so the model's constraint cannot see it here.
        spent = {"budget_points": self.instance.spent_points}
        spent["budget_vouchers"] = self.instance.spent_vouchers
        for name, used in spent.items():
            budget = cleaned.get(name)
            if budget is not None and used and budget < used:
                self.add_error(
                    name,
                    _("%(used)s are already spent: the budget cannot be lower.") % {"used": used},
                )
        return cleaned


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignAdminForm
    inlines = [CampaignMessageInline]
    list_display = ["name", "code", "state", "trigger", "audience", "channel_list", "starts_at"]
    list_filter = ["state", "trigger", "audience"]
    search_fields = ["code", "name"]
    filter_horizontal = ["tiers"]
    actions = ["schedule", "approve", "pause", "finish"]
    fieldsets = [
        (None, {"fields": ["code", "name", "description", "state"]}),
        (_("Who"), {"fields": ["audience", "tiers", "segment"]}),
        (_("When"), {"fields": ["trigger", "send_at", "holiday", "days", "starts_at", "ends_at"]}),
        (_("Channels"), {"fields": ["in_app", "by_email", "by_sms"]}),
        (
            _("Reward and budget"),
            {
                "fields": [
                    "reward_kind",
                    "reward_points",
                    "reward",
                    "budget_points",
                    "budget_vouchers",
                ]
            },
        ),
    ]
    status_fields = [
        "approval",
        "spent_points",
        "spent_vouchers",
        "figures",
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(self.fieldsets)
        if obj is not None:
            fieldsets.append((_("Approval and results"), {"fields": self.status_fields}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["state"]
        if not obj.is_editable:
            return [
                field
                for _name, options in self.get_fieldsets(request, obj)
                for field in options["fields"]
            ]
        return ["code", "state", *self.status_fields]

    @admin.display(description=_("channels"))
    def channel_list(self, obj):
        labels = {"email": _("email"), "sms": _("SMS"), "in_app": _("in-app")}
        return ", ".join(str(labels[code]) for code in obj.channels)

    @admin.display(description=_("approval"))
    def approval(self, obj):
        if obj.approved_at:
            return _("Approved by %(user)s on %(when)s for %(count)s members.") % {
                "user": obj.approved_by or "-",
                "when": timezone.localtime(obj.approved_at).strftime("%Y-%m-%d %H:%M"),
                "count": obj.approved_audience,
            }
        try:
            count = audience_count(obj)
        except ValidationError as exc:
            return "; ".join(exc.messages)
        if approval_needed(obj, count=count):
            return _(
                "Reaches %(count)s members now, more than %(limit)s: a programme admin must "
                "approve it before it is scheduled."
            ) % {"count": count, "limit": settings.CAMPAIGNS_APPROVAL_THRESHOLD}
        return _("Reaches %(count)s members now: no approval needed.") % {"count": count}

    @admin.display(description=_("results"))
    def figures(self, obj):
        figures = campaign_figures(obj)
        rows = [
            (_("Sends (members and occurrences)"), figures.audience),
            (_("Sent"), figures.sent),
            (_("Failed"), figures.failed),
            (_("Still to send"), figures.open),
            *(
                (_("Skipped: %(reason)s") % {"reason": Send.SkipReason(reason).label}, count)
                for reason, count in figures.skipped.items()
            ),
            (_("Points granted"), figures.points_granted),
            (_("Vouchers issued"), figures.vouchers_issued),
            (_("Vouchers used"), figures.vouchers_used),
            (_("Revenue from the audience, 30 days after their send"), figures.revenue),
        ]
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )

    def save_model(self, request, obj, form, change):
        if change and not form.has_changed():
            return
        try:
            campaign_save(
                campaign=obj,
                acting_user=request.user,
                audience_changed=bool({"audience", "segment"} & set(form.changed_data)),
            )
        except DomainError as exc:
            raise PermissionDenied(exc.message) from exc

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change and "tiers" in form.changed_data:
            campaign_audience_changed(campaign=form.instance)

    def _each(self, request, queryset, service, done: str, **kwargs):
        for campaign in queryset:
            try:
                service(campaign=campaign, acting_user=request.user, **kwargs)
            except DomainError as exc:
                self.message_user(request, f"{campaign}: {exc.message}", messages.ERROR)
            except ValidationError as exc:
                self.message_user(request, f"{campaign}: {'; '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"{campaign}: {done}", messages.SUCCESS)

    @admin.action(description=_("Schedule (or resume) the selected campaigns"))
    def schedule(self, request, queryset):
        self._each(
            request,
            queryset,
            campaign_schedule,
            _(
                "scheduled. Its work is queued: the campaigns' tick, every minute, picks it up "
                "(also when the task queue is unavailable for a while)."
            ),
        )

    @admin.action(description=_("Approve sending the selected campaigns to their audience"))
    def approve(self, request, queryset):
        self._each(request, queryset, campaign_approve, _("approved."))

    @admin.action(description=_("Pause the selected campaigns"))
    def pause(self, request, queryset):
        self._each(request, queryset, campaign_pause, _("paused."))

    @admin.action(description=_("End the selected campaigns"))
    def finish(self, request, queryset):
        self._each(request, queryset, campaign_finish, _("ended."))


@admin.register(CampaignMessage)
class CampaignMessageAdmin(ReadOnlyAdmin):
    """Edited inside their campaign; listed here read-only."""

    list_display = ["campaign", "language", "subject"]
    list_select_related = ["campaign"]

    def get_model_perms(self, request):
        return {}  # not on the admin index: messages are edited in their campaign


@admin.register(Send)
class SendAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "campaign",
        "member",
        "occurrence",
        "status",
        "skip_reason",
        "in_app_status",
        "email_status",
        "sms_status",
        "attempts",
        "created_at",
    ]
    list_filter = ["status", "skip_reason", "campaign"]
    list_select_related = ["campaign", "member"]
    search_fields = ["member__card_number", "member__phone", "member__full_name", "occurrence"]
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["title", "member", "created_at", "read_at"]
    list_select_related = ["member"]
    search_fields = ["member__card_number", "member__phone", "title"]
    show_full_result_count = False


@admin.register(SmsLog)
class SmsLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "phone", "text", "key"]
    search_fields = ["phone", "key"]


class ProgramDateForm(forms.ModelForm):
    class Meta:
        model = ProgramDate
        fields = ["code", "name", "name_en", "month", "day", "year", "is_active"]

    def clean_code(self):
        code = self.cleaned_data["code"]
        if code in BUILT_IN:
            raise ValidationError(
                _("%(code)s is a holiday of the calendar already (%(label)s)."),
                params={"code": code, "label": holiday_label(code)},
            )
        return code

    def clean(self):
        cleaned = super().clean()
        month, day = cleaned.get("month"), cleaned.get("day")
        if month and day:
            import calendar

            year = cleaned.get("year") or 2024  # a leap year: 29/2 is a day
            if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
                raise ValidationError(_("This day does not exist."))
        return cleaned


@admin.register(ProgramDate)
class ProgramDateAdmin(admin.ModelAdmin):
    form = ProgramDateForm
    list_display = ["name", "code", "day", "month", "year", "is_active"]
    list_filter = ["is_active"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj is not None else []


@admin.register(CampaignPolicy)
class CampaignPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "updated_at"]

    def has_add_permission(self, request):
        return not CampaignPolicy.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

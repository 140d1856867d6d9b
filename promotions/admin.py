from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty.admin import ReadOnlyAdmin
from loyalty.errors import DomainError
from members.admin import StoreScopedAdminMixin
from promotions.forms import PromotionAdminForm, ReportRangeForm
from promotions.models import (
    ActivityBonus,
    Promotion,
    PromotionAward,
    PurchaseReview,
    Referral,
    ReferralProgram,
)
from promotions.selectors import referral_funnel, top_referrers
from promotions.services import REASONS, reason_text, referral_approve, referral_reject


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    form = PromotionAdminForm
    list_display = ["code", "name", "kind", "starts_at", "ends_at", "stacking", "is_active"]
    list_filter = ["is_active", "kind", "stacking"]
    search_fields = ["code", "name", "name_en"]
    filter_horizontal = ["tiers", "stores"]
    date_hierarchy = "starts_at"
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        # Vietnamese (required) and English (optional) side by side, one row per text.
        (None, {"fields": ["code", ("name", "name_en"), ("description", "description_en")]}),
        (
            gettext_lazy("Points"),
            {"fields": ["kind", "multiplier", "bonus_points", "min_amount", "stacking"]},
        ),
        (
            gettext_lazy("When"),
            {"fields": ["starts_at", "ends_at", "days_of_week", "start_time", "end_time"]},
        ),
        (
            gettext_lazy("Who and what"),
            {"fields": ["tiers", "segment", "stores", "categories", "skus"]},
        ),
        (
            gettext_lazy("Limits"),
            {"fields": ["cap_points_per_member", "is_active", "created_at", "updated_at"]},
        ),
    ]


@admin.register(PromotionAward)
class PromotionAwardAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    store_paths = ("purchase__store",)

    list_display = ["created_at", "promotion", "member", "purchase", "points"]
    list_filter = ["promotion"]
    list_select_related = ["promotion", "member", "purchase"]
    search_fields = ["member__card_number", "member__phone", "purchase__external_id"]
    date_hierarchy = "created_at"


@admin.register(ActivityBonus)
class ActivityBonusAdmin(admin.ModelAdmin):
    list_display = ["kind", "points", "is_active", "updated_at"]
    readonly_fields = ["kind", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PurchaseReview)
class PurchaseReviewAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    store_paths = ("purchase__store",)

    list_display = ["created_at", "member", "purchase", "rating", "comment"]
    list_filter = ["rating"]
    list_select_related = ["member", "purchase"]
    search_fields = ["member__card_number", "member__phone", "purchase__external_id", "comment"]
    date_hierarchy = "created_at"


@admin.register(ReferralProgram)
class ReferralProgramAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "is_active",
        "referrer_points",
        "referee_points",
        "min_purchase_amount",
        "window_days",
        "monthly_cap",
    ]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request):
        return not ReferralProgram.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


class ReasonFilter(admin.SimpleListFilter):
    title = gettext_lazy("reason")
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return [(code, text) for code, (_effect, text) in REASONS.items()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(reason_codes__contains=f" {self.value()} ")
        return queryset


@admin.register(Referral)
class ReferralAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    """Referrals are written by the services only; staff with ``review_referral`` approve
    or reject held ones (actions), and see the report (top referrers, funnel)."""

    # The qualifying purchase is a store's; a referral still waiting for one is the members'.
    store_paths = ("purchase__store",)
    store_unbound = True

    list_display = [
        "joined_at",
        "referrer",
        "referee",
        "status",
        "reasons_short",
        "channel",
        "paid_on",
        "referrer_points",
        "referee_points",
    ]
    list_filter = ["status", ReasonFilter, "channel", "referrer_rewarded"]
    list_select_related = ["referrer", "referee"]
    search_fields = [
        "referrer__card_number",
        "referrer__phone",
        "referrer__referral_code",
        "referee__card_number",
        "referee__phone",
    ]
    date_hierarchy = "joined_at"
    actions = ["approve_selected", "reject_selected"]
    exclude = ["reasons", "reason_codes"]
    readonly_fields = ["reasons_list"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("referrer", "referee")

    def has_review_permission(self, request):
        return request.user.has_perm("promotions.review_referral")

    @admin.display(description=gettext_lazy("reasons"))
    def reasons_short(self, obj):
        return ", ".join(reason_text(r["code"]) for r in obj.reasons) or "—"

    @admin.display(description=gettext_lazy("reasons"))
    def reasons_list(self, obj):
        if not obj.reasons:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} <small>({}, {})</small></li>",
                ((reason_text(r["code"]), r["code"], r.get("at", "")) for r in obj.reasons),
            ),
        )

    def _review(self, request, queryset, service, done_message):
        done = failed = 0
        for referral in queryset.filter(status__in=[Referral.Status.HELD, Referral.Status.PENDING]):
            if service is referral_approve and referral.status != Referral.Status.HELD:
                continue
            try:
                service(referral=referral, acting_user=request.user)
            except DomainError as exc:
                failed += 1
                self.message_user(request, f"{referral}: {exc.message}", messages.ERROR)
            else:
                done += 1
        self.message_user(request, done_message % {"count": done}, messages.SUCCESS)

    @admin.action(
        description=gettext_lazy("Approve the selected held referrals"),
        permissions=["review"],
    )
    def approve_selected(self, request, queryset):
        self._review(
            request,
            queryset,
            referral_approve,
            _("%(count)s referrals approved (paid now if their purchase qualifies)."),
        )

    @admin.action(description=gettext_lazy("Reject the selected referrals"), permissions=["review"])
    def reject_selected(self, request, queryset):
        self._review(request, queryset, referral_reject, _("%(count)s referrals rejected."))

    def get_urls(self):
        custom = [
            path(
                "report/",
                self.admin_site.admin_view(self.report_view),
                name="promotions_referral_report",
            )
        ]
        return custom + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "report_url": reverse("admin:promotions_referral_report"),
        }
        return super().changelist_view(request, extra_context=extra_context)

    def report_view(self, request):
        """Top referrers and the referral funnel for a range of join dates."""
        if not request.user.has_perm("promotions.view_referral"):
            raise PermissionDenied
        start, end = ReportRangeForm.default_range()
        form = ReportRangeForm(request.GET or None, initial={"start": start, "end": end})
        if form.is_bound and form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Referral report"),
            "opts": Referral._meta,
            "form": form,
            "start": start,
            "end": end,
            "funnel": referral_funnel(start, end),
            "top": list(top_referrers(start, end, limit=20)),
        }
        return TemplateResponse(request, "admin/promotions/referral_report.html", context)

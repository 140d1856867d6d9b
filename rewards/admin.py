from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from loyalty.admin import ReadOnlyAdmin
from loyalty.errors import DomainError
from members.admin import PhoneAwareSearchMixin, StoreScopedAdminMixin
from rewards.codes import voucher_code_is_valid, voucher_code_normalize
from rewards.forms import GoodwillVoucherForm, PartnerCodesUploadForm
from rewards.models import PartnerCode, Reward, RewardTierPrice, Voucher
from rewards.selectors import rewards_with_pool_counts
from rewards.services import (
    partner_codes_import,
    partner_codes_read_csv,
    voucher_issue_goodwill,
)


class RewardAdminForm(forms.ModelForm):
    class Meta:
        model = Reward
        fields = [f.name for f in Reward._meta.concrete_fields if f.editable and f.name != "id"]

    def clean_stock_total(self):
        # The constraint names ``stock_issued``, which is not on the form, so the form
        # would not check it: say it here rather than fail on save.
        total = self.cleaned_data.get("stock_total")
        if total is not None and self.instance.pk and total < self.instance.stock_issued:
            raise forms.ValidationError(
                _("%(issued)d are already issued: the total stock cannot be lower.")
                % {"issued": self.instance.stock_issued}
            )
        return total


class RewardTierPriceInline(admin.TabularInline):
    model = RewardTierPrice
    extra = 0
    verbose_name_plural = _("Lower points cost for a tier (and the tiers above it)")


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "points_cost",
        "min_tier",
        "stock",
        "pool_left",
        "is_active",
        "available_from",
        "available_until",
    ]
    list_display_links = ["code", "name"]
    list_filter = ["kind", "is_active", "min_tier"]
    search_fields = ["code", "name", "name_en", "partner_name"]
    readonly_fields = ["stock_issued", "pool_left", "created_at", "updated_at"]
    inlines = [RewardTierPriceInline]
    fieldsets = [
        (None, {"fields": ["code", "kind", "is_active", "image"]}),
        (
            _("Texts"),
            {
                # Vietnamese (required) and English (optional: empty shows the Vietnamese)
                # side by side, one row per text.
                "fields": [
                    ("name", "name_en"),
                    ("description", "description_en"),
                    ("terms", "terms_en"),
                    "partner_name",
                ]
            },
        ),
        (
            _("Who can redeem it, and for how much"),
            {
                "fields": [
                    "points_cost",
                    "min_tier",
                    "segment",
                    "available_from",
                    "available_until",
                    "limit_per_member",
                    "limit_per_member_month",
                ]
            },
        ),
        (_("Stock"), {"fields": ["stock_total", "stock_issued", "pool_left"]}),
        (
            _("The voucher"),
            {
                "fields": [
                    "discount_amount",
                    "discount_percent",
                    "discount_cap",
                    "min_spend",
                    "voucher_valid_days",
                    "cancel_grace_hours",
                ]
            },
        ),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    form = RewardAdminForm

    def get_queryset(self, request):
        return rewards_with_pool_counts()

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        # Never write back the stock counter read when the form was opened: redemptions
        # since then moved it (with a conditional UPDATE); overwriting it would oversell.
        fields = [
            f.name for f in Reward._meta.concrete_fields if f.name not in ("id", "stock_issued")
        ]
        obj.save(update_fields=fields)

    @admin.display(description=_("issued / stock"))
    def stock(self, obj):
        total = "∞" if obj.stock_total is None else obj.stock_total
        return f"{obj.stock_issued} / {total}"

    @admin.display(description=_("partner codes left"))
    def pool_left(self, obj):
        if obj is None or obj.pk is None or obj.kind != Reward.Kind.PARTNER:
            return "—"
        return getattr(obj, "partner_codes_left", None)

    def get_urls(self):
        custom = [
            path(
                "<int:reward_id>/partner-codes/",
                self.admin_site.admin_view(self.partner_codes_view),
                name="rewards_reward_partner_codes",
            )
        ]
        return custom + super().get_urls()

    def partner_codes_view(self, request, reward_id):
        """Upload a CSV of partner codes into the reward's pool."""
        reward = get_object_or_404(Reward, pk=reward_id)
        if not self.has_change_permission(request, reward):
            raise PermissionDenied
        form = PartnerCodesUploadForm(request.POST or None, request.FILES or None)
        result = None
        if request.method == "POST" and form.is_valid():
            try:
                rows = partner_codes_read_csv(form.cleaned_data["file"].read())
                result = partner_codes_import(reward=reward, rows=rows, acting_user=request.user)
            except ValidationError as exc:
                form.add_error("file", exc.message_dict.get("file", exc.messages))
            else:
                self.message_user(
                    request,
                    _("%(added)d codes added; %(there)d were already in the pool.")
                    % {"added": result.added, "there": result.already_there},
                    messages.SUCCESS if not result.rejected else messages.WARNING,
                )
                if not result.rejected:
                    return redirect("admin:rewards_reward_change", reward.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Partner codes of %(name)s") % {"name": reward.name},
            "reward": reward,
            "form": form,
            "result": result,
            "left": PartnerCode.objects.filter(reward=reward, voucher__isnull=True).count(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/rewards/partner_codes.html", context)


@admin.register(Voucher)
class VoucherAdmin(StoreScopedAdminMixin, PhoneAwareSearchMixin, ReadOnlyAdmin):
    # A voucher is the member's, good at any till; once redeemed at a store's till or used
    # on a store's purchase it is that store's too. Store managers see the unbound ones and
    # those of their stores.
    store_paths = ("issued_at_store", "used_on__store")
    store_unbound = True
    phone_lookup = "member__phone"
    list_display = [
        "code_display",
        "member",
        "reward",
        "status",
        "source",
        "valid_until",
        "used_on",
        "issued_at",
        "issued_by",
    ]
    list_filter = ["status", "source", "kind", "reward"]
    search_fields = [
        "code",
        "partner_code",
        "member__card_number",
        "member__full_name",
        "member__email",
        "reference",
    ]
    list_select_related = ["member", "reward", "used_on", "issued_by"]
    date_hierarchy = "issued_at"

    @admin.display(description=_("code"), ordering="code")
    def code_display(self, obj):
        return obj.code_display

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if voucher_code_is_valid(search_term):  # ABCD-EFGH-JKX, lower case, spaces
            results |= queryset.filter(code=voucher_code_normalize(search_term))
        return results, may_have_duplicates

    def get_urls(self):
        custom = [
            path(
                "goodwill/",
                self.admin_site.admin_view(self.goodwill_view),
                name="rewards_voucher_goodwill",
            )
        ]
        return custom + super().get_urls()

    def goodwill_view(self, request):
        """Issue a voucher as a goodwill gesture: the service checks the permission, needs
        the reason and writes the audit row."""
        if not request.user.has_perm("rewards.issue_goodwill_voucher"):
            raise PermissionDenied
        form = GoodwillVoucherForm(request.POST or None, initial={"member": request.GET.get("q")})
        if request.method == "POST" and form.is_valid():
            try:
                voucher = voucher_issue_goodwill(
                    member=form.cleaned_data["member"],
                    reward=form.cleaned_data["reward"],
                    reason=form.cleaned_data["reason"],
                    acting_user=request.user,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                self.message_user(
                    request,
                    _("Voucher %(code)s issued to %(member)s.")
                    % {"code": voucher.code_display, "member": voucher.member},
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:rewards_voucher_change", args=[voucher.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Issue a goodwill voucher"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/rewards/goodwill.html", context)


@admin.register(PartnerCode)
class PartnerCodeAdmin(ReadOnlyAdmin):
    list_display = ["code", "reward", "voucher", "imported_at", "assigned_at"]
    list_filter = ["reward"]
    search_fields = ["code", "voucher__code"]
    list_select_related = ["reward", "voucher"]

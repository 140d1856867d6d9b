from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty.admin import ReadOnlyAdmin
from loyalty.errors import DomainError
from members.admin import StoreScopedAdminMixin
from members.models import Member
from tiers.models import MemberTier, Tier, TierChange, TierPolicy
from tiers.selectors import tier_of_member, tier_progress
from tiers.services import tier_set_manually


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = [
        "rank",
        "code",
        "name",
        "multiplier",
        "min_spend",
        "min_purchases",
        "birthday_points",
    ]
    list_display_links = ["code", "name"]
    ordering = ["rank"]
    # What members read, in Vietnamese (required) and English (optional: empty shows the
    # Vietnamese) side by side; then the rules.
    fieldsets = [
        (None, {"fields": ["code", "rank", "color"]}),
        (gettext_lazy("Texts"), {"fields": [("name", "name_en"), ("benefits", "benefits_en")]}),
        (
            gettext_lazy("Rules"),
            {
                "fields": [
                    "multiplier",
                    "min_spend",
                    "min_purchases",
                    "birthday_points",
                ]
            },
        ),
    ]


class SetTierForm(forms.Form):
    tier = forms.ModelChoiceField(
        label=gettext_lazy("Tier"), queryset=Tier.objects.order_by("rank"), empty_label=None
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}))
    locked_until = forms.DateField(
        label=gettext_lazy("Locked until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("Optional: the nightly job does not downgrade before this day."),
    )


@admin.register(MemberTier)
class MemberTierAdmin(ReadOnlyAdmin):
    list_display = ["member", "tier", "since", "retained_until", "locked_until", "updated_at"]
    list_filter = ["tier"]
    list_select_related = ["member", "tier"]
    search_fields = ["member__card_number", "member__phone", "member__full_name"]
    ordering = ["member_id"]

    def get_urls(self):
        custom = [
            path(
                "set/<int:member_id>/",
                self.admin_site.admin_view(self.set_tier_view),
                name="tiers_membertier_set",
            )
        ]
        return custom + super().get_urls()

    def set_tier_view(self, request, member_id):
        """Staff set a member's tier by hand, with a reason and an optional lock; the
        service checks the permission and writes the history and the audit row."""
        if not request.user.has_perm("tiers.change_membertier"):
            raise PermissionDenied
        member = get_object_or_404(Member, pk=member_id)
        current = tier_of_member(member.pk)
        form = SetTierForm(request.POST or None, initial={"tier": current.pk})
        if request.method == "POST" and form.is_valid():
            try:
                tier_set_manually(
                    member=member,
                    tier=form.cleaned_data["tier"],
                    reason=form.cleaned_data["reason"],
                    locked_until=form.cleaned_data["locked_until"],
                    acting_user=request.user,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                self.message_user(request, _("Tier set."), messages.SUCCESS)
                return redirect("admin:members_member_change", member.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Set the tier of %(name)s") % {"name": member.display_name},
            "member": member,
            "current": current,
            "progress": tier_progress(member.pk),
            "history": TierChange.objects.filter(member=member).select_related(
                "from_tier", "to_tier", "actor"
            )[:20],
            "form": form,
            "opts": Member._meta,
        }
        return TemplateResponse(request, "admin/tiers/set_tier.html", context)


@admin.register(TierChange)
class TierChangeAdmin(StoreScopedAdminMixin, ReadOnlyAdmin):
    # A change a purchase brought about is that store's; nightly and manual ones the member's.
    store_paths = ("purchase__store",)
    store_unbound = True

    list_display = ["at", "member", "from_tier", "to_tier", "reason", "actor", "purchase"]
    list_filter = ["reason", "to_tier"]
    list_select_related = ["member", "from_tier", "to_tier", "actor", "purchase"]
    search_fields = ["member__card_number", "member__phone"]
    date_hierarchy = "at"


@admin.register(TierPolicy)
class TierPolicyAdmin(admin.ModelAdmin):
    list_display = ["downgrade_policy", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request):
        return not TierPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

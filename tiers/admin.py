from django.contrib import admin

from loyalty.admin import ReadOnlyAdmin
from tiers.models import MemberTier, Tier, TierChange, TierPolicy


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


@admin.register(MemberTier)
class MemberTierAdmin(ReadOnlyAdmin):
    list_display = ["member", "tier", "since", "retained_until", "locked_until", "updated_at"]
    list_filter = ["tier"]
    list_select_related = ["member", "tier"]
    search_fields = ["member__card_number", "member__phone", "member__full_name"]
    ordering = ["member_id"]


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyAdmin):
    list_display = ["at", "member", "from_tier", "to_tier", "reason", "actor"]
    list_filter = ["reason", "to_tier"]
    list_select_related = ["member", "from_tier", "to_tier", "actor"]
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

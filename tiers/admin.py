from django.contrib import admin

from tiers.models import Tier


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

"""The default tier table: Bronze (entry), Silver, Gold, Diamond, for VND.

Created by migration for a fresh database, and ensured again after every ``migrate`` or
``flush`` (a programme must always have its tiers; tests that flush the database rely on it).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS

# code, name, English name, rank, colour, multiplier, min spend (VND), min purchases,
# birthday points, benefits, benefits in English
DEFAULT_TIERS = [
    ("bronze", "Đồng", "Bronze", 1, "#a0652f", "1.00", 0, 0, 50,
     "Tích điểm cho mỗi lần mua hàng; quà sinh nhật.",
     "Points on every purchase; a birthday gift."),
    ("silver", "Bạc", "Silver", 2, "#9aa1a8", "1.25", 5_000_000, 3, 100,
     "Tích điểm x1,25; quà sinh nhật lớn hơn.",
     "1.25 times the points; a bigger birthday gift."),
    ("gold", "Vàng", "Gold", 3, "#c9a227", "1.50", 20_000_000, 10, 200,
     "Tích điểm x1,5; ưu đãi riêng cho hạng Vàng.",
     "1.5 times the points; offers for Gold members only."),
    ("diamond", "Kim cương", "Diamond", 4, "#3a7bd5", "2.00", 50_000_000, 20, 500,
     "Tích điểm x2; ưu tiên phục vụ và quà tặng đặc biệt.",
     "Double points; priority service and special gifts."),
]  # fmt: skip


def tiers_ensure_default(using: str = DEFAULT_DB_ALIAS, *, tier_model=None) -> None:
    """Create the default tiers when the table is empty (never touches edited tiers).
    ``tier_model`` is the historical model when a migration calls it."""
    from tiers.models import Tier as CurrentTier

    Tier = tier_model or CurrentTier
    if Tier.objects.using(using).exists():
        return
    # A migration before ``benefits_en`` existed passes a historical model without it.
    fields = {f.name for f in Tier._meta.get_fields()}
    for row in DEFAULT_TIERS:
        code, name, name_en, rank, color, mult, spend, purchases, bday, benefits, benefits_en = row
        extra = {"benefits_en": benefits_en} if "benefits_en" in fields else {}
        Tier.objects.using(using).create(
            code=code,
            name=name,
            name_en=name_en,
            rank=rank,
            color=color,
            multiplier=Decimal(mult),
            min_spend=Decimal(spend),
            min_purchases=purchases,
            birthday_points=bday,
            benefits=benefits,
            **extra,
        )


def tiers_fill_english_benefits(using: str = DEFAULT_DB_ALIAS, *, tier_model=None) -> None:
    """Give the default tiers their English benefits where staff left the Vietnamese default
    as it was (a tier staff rewrote keeps its texts)."""
    from tiers.models import Tier as CurrentTier

    Tier = tier_model or CurrentTier
    for code, *_rest, benefits, benefits_en in DEFAULT_TIERS:
        Tier.objects.using(using).filter(code=code, benefits=benefits, benefits_en="").update(
            benefits_en=benefits_en
        )


def on_post_migrate(sender, using=DEFAULT_DB_ALIAS, **kwargs):
    if sender.name == "tiers":
        tiers_ensure_default(using=using)

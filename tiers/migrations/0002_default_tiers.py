from decimal import Decimal

from django.db import migrations

DEFAULT_TIERS = [
    # code, name, English name, rank, colour, multiplier, min spend (VND), min purchases,
    # birthday points, benefits
    ("bronze", "Đồng", "Bronze", 1, "#a0652f", "1.00", 0, 0, 50,
     "Tích điểm cho mỗi lần mua hàng; quà sinh nhật."),
    ("silver", "Bạc", "Silver", 2, "#9aa1a8", "1.25", 5_000_000, 3, 100,
     "Tích điểm x1,25; quà sinh nhật lớn hơn."),
    ("gold", "Vàng", "Gold", 3, "#c9a227", "1.50", 20_000_000, 10, 200,
     "Tích điểm x1,5; ưu đãi riêng cho hạng Vàng."),
    ("diamond", "Kim cương", "Diamond", 4, "#3a7bd5", "2.00", 50_000_000, 20, 500,
     "Tích điểm x2; ưu tiên phục vụ và quà tặng đặc biệt."),
]


def create_default_tiers(apps, schema_editor):
    Tier = apps.get_model("tiers", "Tier")
    if Tier.objects.exists():
        return
    for code, name, name_en, rank, color, mult, spend, purchases, bday, benefits in DEFAULT_TIERS:
        Tier.objects.create(
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
        )


class Migration(migrations.Migration):
    dependencies = [("tiers", "0001_initial")]

    operations = [migrations.RunPython(create_default_tiers, migrations.RunPython.noop)]

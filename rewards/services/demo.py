"""Demo catalogue for development databases (called by ``seed_demo``)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from rewards.models import Reward, RewardTierPrice
from rewards.services.issuing import partner_codes_import
from tiers.models import Tier

DEMO_PARTNER_CODES = [f"DEMO-PHIM-{n:04d}" for n in range(1, 6)]

# code -> (fields, {tier code: points cost})
DEMO_REWARDS: dict[str, tuple[dict, dict[str, int]]] = {
    "giam-50k": (
        {
            "kind": Reward.Kind.AMOUNT,
            "name": "Giảm 50.000đ",
            "name_en": "50,000 VND off",
            "description": "Giảm 50.000đ cho hóa đơn từ 200.000đ.",
            "description_en": "50,000 VND off a bill of 200,000 VND or more.",
            "terms": "Mỗi hóa đơn dùng một phiếu. Không quy đổi thành tiền mặt.",
            "terms_en": "One voucher per bill. Not exchangeable for cash.",
            "points_cost": 500,
            "discount_amount": Decimal("50000"),
            "min_spend": Decimal("200000"),
            "limit_per_member_month": 2,
            "voucher_valid_days": 30,
        },
        {},
    ),
    "giam-10-phan-tram": (
        {
            "kind": Reward.Kind.PERCENT,
            "name": "Giảm 10% tối đa 100.000đ",
            "name_en": "10% off, up to 100,000 VND",
            "description": "Giảm 10% tổng hóa đơn, tối đa 100.000đ. Dành cho hạng Bạc trở lên.",
            "description_en": "10% off the bill, up to 100,000 VND. Silver and above.",
            "terms": "Không áp dụng cùng chương trình khuyến mãi khác.",
            "terms_en": "Cannot be combined with other promotions.",
            "points_cost": 800,
            "discount_percent": Decimal("10"),
            "discount_cap": Decimal("100000"),
            "voucher_valid_days": 30,
            "min_tier_code": "silver",
        },
        {"gold": 600},
    ),
    "ly-nuoc-mien-phi": (
        {
            "kind": Reward.Kind.PRODUCT,
            "name": "Ly nước miễn phí",
            "name_en": "A free drink",
            "description": "Một ly nước size M bất kỳ trong thực đơn.",
            "description_en": "Any medium drink on the menu.",
            "terms": "Áp dụng tại tất cả cửa hàng. Giá trị tối đa 45.000đ.",
            "terms_en": "At every store. Worth up to 45,000 VND.",
            "points_cost": 400,
            "discount_amount": Decimal("45000"),
            "stock_total": 200,
            "limit_per_member": 5,
            "voucher_valid_days": 14,
        },
        {"diamond": 300},
    ),
    "mien-phi-giao-hang": (
        {
            "kind": Reward.Kind.DELIVERY,
            "name": "Miễn phí giao hàng",
            "name_en": "Free delivery",
            "description": "Miễn phí giao hàng cho đơn đặt qua hotline hoặc ứng dụng.",
            "description_en": "Free delivery on an order by phone or in the app.",
            "terms": "Phí giao hàng tối đa 30.000đ.",
            "terms_en": "Delivery fee up to 30,000 VND.",
            "points_cost": 250,
            "discount_amount": Decimal("30000"),
            "voucher_valid_days": 14,
        },
        {},
    ),
    "ve-xem-phim": (
        {
            "kind": Reward.Kind.PARTNER,
            "name": "Vé xem phim 2D",
            "name_en": "2D cinema ticket",
            "description": "Một vé xem phim 2D tại rạp đối tác.",
            "description_en": "One 2D cinema ticket at our partner's cinemas.",
            "terms": "Đổi mã tại quầy vé của rạp đối tác. Không hủy được sau khi đổi.",
            "terms_en": "Show the code at the partner's box office. Cannot be cancelled.",
            "partner_name": "Rạp phim đối tác",
            "points_cost": 1200,
            "voucher_valid_days": 60,
            "min_tier_code": "gold",
        },
        {},
    ),
}


@transaction.atomic
def rewards_seed_demo() -> list[Reward]:
    """Create the demo rewards (and the partner codes of the cinema tickets). Idempotent:
    keyed by reward code; an existing reward is left as staff edited it."""
    tiers = {tier.code: tier for tier in Tier.objects.all()}
    rewards = []
    for code, (fields, prices) in DEMO_REWARDS.items():
        fields = dict(fields)
        min_tier = tiers.get(fields.pop("min_tier_code", ""))
        reward, created = Reward.objects.get_or_create(
            code=code, defaults={**fields, "min_tier": min_tier}
        )
        if created:
            for tier_code, cost in prices.items():
                if tier_code in tiers:
                    RewardTierPrice.objects.create(
                        reward=reward, tier=tiers[tier_code], points_cost=cost
                    )
        if reward.kind == Reward.Kind.PARTNER:
            partner_codes_import(reward=reward, rows=list(enumerate(DEMO_PARTNER_CODES, start=1)))
        rewards.append(reward)
    return rewards

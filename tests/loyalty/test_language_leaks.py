"""No language leaks into the other: every portal page a member reads, rendered in English,
shows no Vietnamese programme content (tier names and benefits, reward and promotion texts,
the programme's name), no Vietnamese-written money or dates; rendered in Vietnamese, none of
the English ones. Programme content is entered by staff in both languages."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from members.models import Program
from pos.services.purchases import PurchaseInput, purchase_record
from promotions.models import Promotion
from rewards.models import Voucher
from tests.factories import StoreFactory
from tests.rewards.conftest import give_points, local, make_reward, redeem, set_tier
from tiers.models import Tier

pytestmark = pytest.mark.django_db

NOW = local(2026, 12, 3, 10, 0)

# Letters only Vietnamese uses (with its tone marks); English pages must have none of them
# outside what is the member's own data (their name) and the language switcher.
VIETNAMESE_LETTERS = re.compile(
    "[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]",
    re.IGNORECASE,
)
PROGRAMME_VI = ["Cà phê Sữa Đá", "Đồng", "Vàng", "Kim cương", "Bạc", "Giảm giá ly nước"]
PROGRAMME_EN = ["Iced Milk Coffee", "Bronze", "Gold", "Diamond", "Silver", "Drink discount"]


@pytest.fixture
def world(client, member_user):
    """A member in Gold with a purchase, points, a voucher and a running promotion; every
    text staff entered is in both languages."""
    with time_machine.travel(NOW, tick=False):
        Program.objects.filter(pk=1).update(name="Cà phê Sữa Đá", name_en="Iced Milk Coffee")
        member = member_user.member
        store = StoreFactory(code="HCM01", name="HCM01 Nguyen Hue")
        purchase_record(
            store=store,
            data=PurchaseInput(
                member=member.card_number,
                total_amount=Decimal("1250000"),
                external_id="R-LEAK-1",
                occurred_at=timezone.now() - timedelta(days=10),
            ),
        )
        set_tier(member, "gold")
        give_points(member, 2000)
        reward = make_reward(
            name="Giảm giá ly nước",
            name_en="Drink discount",
            description="Giảm 45.000 đồng cho một ly nước bất kỳ.",
            description_en="45,000 off any drink.",
            terms="Mỗi hóa đơn một phiếu.",
            terms_en="One voucher per bill.",
            points_cost=300,
            discount_amount=Decimal("45000"),
            min_spend=Decimal("100000"),
        )
        voucher = redeem(member, reward)
        Promotion.objects.create(
            code="double",
            name="Nhân đôi điểm cuối tuần",
            name_en="Double points weekend",
            description="Tích gấp đôi vào thứ bảy và chủ nhật.",
            description_en="Twice the points on Saturdays and Sundays.",
            kind="multiplier",
            multiplier=Decimal("2"),
            starts_at=NOW - timedelta(days=1),
            ends_at=NOW + timedelta(days=30),
        )
        client.force_login(member_user)
    voucher = voucher if isinstance(voucher, Voucher) else Voucher.objects.get(member=member)
    return {"member": member, "reward": reward, "voucher": voucher}


def _pages(world) -> list[str]:
    return [
        reverse("portal:home"),
        reverse("portal:card"),
        reverse("portal:points"),
        reverse("portal:profile"),
        reverse("portal:consents"),
        reverse("portal:my_data"),
        reverse("tiers:my_tier"),
        reverse("rewards:catalogue"),
        reverse("rewards:reward", args=[world["reward"].pk]),
        reverse("rewards:vouchers"),
        reverse("rewards:voucher", args=[world["voucher"].code]),
        reverse("campaigns:messages"),
        reverse("promotions:promotions"),
        reverse("promotions:referrals"),
        reverse("promotions:reviews"),
    ]


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    # The language switcher names each language in itself ("Tiếng Việt" on English pages).
    html = re.sub(r"<option[^>]*lang=\"vi\"[^>]*>.*?</option>", " ", html, flags=re.S)
    # Province names are proper nouns, written the Vietnamese way in English too (Hà Nội).
    html = re.sub(r"<select[^>]*name=\"province\".*?</select>", " ", html, flags=re.S)
    # The language a member reads messages in is named in itself too (Tiếng Việt, English).
    html = re.sub(r"<option[^>]*value=\"vi\"[^>]*>Tiếng Việt</option>", " ", html)
    html = re.sub(r"<[^>]+>", " ", html)
    return " ".join(html.split())


def _get(client, path: str, language: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    with time_machine.travel(NOW, tick=False):
        response = client.get(path)
    assert response.status_code == 200, path
    assert response.headers["Content-Language"] == language
    return response.content.decode()


def test_english_pages_show_no_vietnamese(client, world):
    member = world["member"]
    for path in _pages(world):
        text = _visible_text(_get(client, path, "en")).replace(member.full_name, "")
        leaks = sorted({m.group(0) for m in VIETNAMESE_LETTERS.finditer(text)})
        assert leaks == [], f"{path}: {_context(text, VIETNAMESE_LETTERS)}"
        # Money as English writes it: ₫ before the number, commas between thousands.
        assert not re.search(r"\d[ \u00a0]₫(?!\d)|\d{1,3}\.\d{3}\b", text), path


def test_vietnamese_pages_show_no_english_programme_content(client, world):
    for path in _pages(world):
        text = _visible_text(_get(client, path, "vi"))
        for english in [*PROGRAMME_EN, "Double points weekend", "One voucher per bill."]:
            assert not re.search(rf"\b{re.escape(english)}\b", text), f"{path}: {english!r}"
        # Money as Vietnamese writes it: dots between thousands, ₫ after the number.
        assert not re.search(r"₫\d|\d{1,3},\d{3}\b", text), path
        # Dates as Vietnamese write them (03/12/2026), never "3 Dec 2026".
        assert not re.search(r"\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b", text)


def test_programme_content_is_in_the_members_language(client, world):
    tier_vi = _visible_text(_get(client, reverse("tiers:my_tier"), "vi"))
    tier_en = _visible_text(_get(client, reverse("tiers:my_tier"), "en"))
    gold = Tier.objects.get(code="gold")
    assert gold.name in tier_vi and gold.benefits in tier_vi
    assert gold.name_en in tier_en and gold.benefits_en in tier_en
    reward_en = _visible_text(
        _get(client, reverse("rewards:reward", args=[world["reward"].pk]), "en")
    )
    assert "Drink discount" in reward_en and "One voucher per bill." in reward_en
    assert "₫45,000" in reward_en
    reward_vi = _visible_text(
        _get(client, reverse("rewards:reward", args=[world["reward"].pk]), "vi")
    )
    assert "Giảm giá ly nước" in reward_vi and "45.000\u00a0₫" in _get(
        client, reverse("rewards:reward", args=[world["reward"].pk]), "vi"
    )
    promotions_en = _visible_text(_get(client, reverse("promotions:promotions"), "en"))
    assert "Double points weekend" in promotions_en
    assert "Twice the points on Saturdays and Sundays." in promotions_en


def _context(text: str, pattern: re.Pattern) -> list[str]:
    return [text[max(0, m.start() - 30) : m.end() + 30] for m in pattern.finditer(text)][:5]

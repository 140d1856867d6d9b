"""Switching language in Chromium, on a 360 px phone and a 1280 px desktop: a member goes
Vietnamese → English → Vietnamese with the footer's picker on the card, tier, rewards and
history pages, and each page is wholly in the language chosen: the tier's name and
benefits, the reward's texts, money (1.250.000 ₫ / ₫1,250,000) and dates (03/12/2026 /
3 Dec 2026). Screenshots: var/screenshots/language-<width>-<page>-<language>.png."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty.formatting import date_display, money_display
from members.models import Program
from members.selectors import program_get
from members.services.points import points_grant
from pos.services.purchases import PurchaseInput, purchase_record
from rewards.models import Reward
from tests.browser.test_history import context_for, fits
from tests.factories import MemberFactory, StoreFactory, UserFactory
from tiers.models import MemberTier, Tier

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIETNAMESE_LETTERS = re.compile(
    "[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]",
    re.IGNORECASE,
)
MEMBER_NAME = "Phạm Thu Hà"
PAGES = {"card": "/me/", "tier": "/me/tier/", "rewards": "/me/rewards/", "history": "/me/points/"}


def _world(width_name: str):
    """A Gold member with a purchase of 1,250,000 ₫ at a store, points, and a reward whose
    texts staff entered in both languages."""
    Program.objects.filter(pk=1).update(name="Cà phê Sữa Đá", name_en="Iced Milk Coffee")
    user = UserFactory(email=f"ha-{width_name}@example.com")
    member = MemberFactory(user=user, full_name=MEMBER_NAME, email=user.email)
    store = StoreFactory(code=f"HN{width_name[:2].upper()}", name="Store Ba Dinh")
    bought = timezone.now() - timedelta(days=2)
    purchase_record(
        store=store,
        data=PurchaseInput(
            member=member.card_number,
            total_amount=Decimal("1250000"),
            external_id=f"R-LANG-{width_name}",
            occurred_at=bought,
        ),
    )
    gold = Tier.objects.get(code="gold")
    today = timezone.localdate()
    MemberTier.objects.update_or_create(
        member=member,
        defaults={"tier": gold, "since": today, "retained_until": today + timedelta(days=365)},
    )
    points_grant(
        member=member,
        points=1500,
        idempotency_key=f"lang-{width_name}",
        reason="test",
        program=program_get(),
    )
    Reward.objects.create(
        code=f"ly-nuoc-{width_name}",
        kind=Reward.Kind.AMOUNT,
        name="Giảm giá ly nước",
        name_en="Drink discount",
        description="Giảm 45.000 đồng cho một ly nước bất kỳ.",
        description_en="45,000 off any drink.",
        points_cost=300,
        discount_amount=Decimal("45000"),
        min_spend=Decimal("100000"),
    )
    return user, gold, bought


def _text(page) -> str:
    """What the member reads: header and main (the footer's picker names each language in
    itself, "Tiếng Việt" on an English page, as it should)."""
    return page.evaluate(
        "() => [...document.querySelectorAll('header, main')].map(e => e.innerText).join('\\n')"
    )


def _switch(page, language: str) -> None:
    with page.expect_navigation():
        page.select_option("#lang-select", language)
    assert page.locator("html").get_attribute("lang") == language


def _check_english(page, name: str, gold: Tier) -> None:
    text = _text(page)
    leaks = [
        text[max(0, m.start() - 25) : m.end() + 25]
        for m in VIETNAMESE_LETTERS.finditer(text.replace(MEMBER_NAME, ""))
    ]
    assert leaks == [], f"{name}: {leaks[:5]}"
    assert not re.search(r"\d[ \u00a0]₫(?!\d)|\d{1,3}\.\d{3}\b", text), name
    if name == "tier":
        assert gold.name_en in text and gold.benefits_en in text
    if name == "rewards":
        assert "Drink discount" in text and "₫45,000" in text
    if name == "history":
        assert "₫1,250,000" in text


def _check_vietnamese(page, name: str, gold: Tier, bought) -> None:
    text = _text(page)
    for english in ("Gold", "Iced Milk Coffee", "Drink discount", gold.benefits_en):
        assert english not in text, f"{name}: {english!r}"
    assert not re.search(r"₫\d|\d{1,3},\d{3}\b", text), name
    assert not re.search(r"\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b", text)
    if name == "tier":
        assert gold.name in text and gold.benefits in text
    if name == "rewards":
        assert "Giảm giá ly nước" in text
        assert money_display(45000, "VND", language="vi") in text
    if name == "history":
        assert money_display(1250000, "VND", language="vi") in text
        assert date_display(bought, language="vi") in text


@pytest.mark.parametrize("width_name", ["phone", "desktop"])
def test_switching_language_changes_every_text_and_format(
    browser, live_server, screenshot_dir, width_name
):
    user, gold, bought = _world(width_name)
    context = context_for(browser, live_server, user, width_name)
    page = context.new_page()
    try:
        for name, path in PAGES.items():
            page.goto(path)
            assert page.locator("html").get_attribute("lang") == "vi"
            _check_vietnamese(page, name, gold, bought)
            _switch(page, "en")
            _check_english(page, name, gold)
            fits(page)
            page.screenshot(
                path=str(screenshot_dir / f"language-{width_name}-{name}-en.png"), full_page=True
            )
            _switch(page, "vi")
            _check_vietnamese(page, name, gold, bought)
            fits(page)
            page.screenshot(
                path=str(screenshot_dir / f"language-{width_name}-{name}-vi.png"), full_page=True
            )
        # English chosen once stays chosen from page to page.
        _switch(page, "en")
        page.goto(PAGES["tier"])
        _check_english(page, "tier", gold)
        _switch(page, "vi")
    finally:
        context.close()

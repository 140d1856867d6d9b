"""The points history and the tier progress in Chromium, on a 360 px phone and a 1280 px
desktop: a purchase the till reports through the POS API (a real HTTP call to the live
server with the store's key, back-dated as an offline till would) shows in the member's
history with its own date and store; the filters work; the tier page says its sentences and
shows a progress bar. Screenshots: var/screenshots/history-*.png, tier-*.png.

The site speaks Vietnamese, so nothing here matches visible English words: dates, numbers,
store names, receipts, ``data-*`` attributes and URLs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from members.selectors import program_get
from members.services.points import points_grant
from pos.services import api_key_create
from tests.factories import MemberFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": (360, 780, 2), "desktop": (1280, 900, 1)}


def pos_post(browser, live_server, raw_key: str, path: str, body: dict) -> dict:
    """A POS request over HTTP to the live server (Playwright's request client)."""
    api = browser.new_context(base_url=live_server.url)
    try:
        response = api.request.post(
            f"/api/v1/pos{path}",
            data=json.dumps(body),
            headers={"Authorization": f"Api-Key {raw_key}", "Content-Type": "application/json"},
        )
        assert response.status in (200, 201), (response.status, response.text())
        return response.json()
    finally:
        api.close()


def context_for(browser, live_server, user, width_name: str):
    width, height, scale = WIDTHS[width_name]
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": width, "height": height},
        device_scale_factor=scale,
        is_mobile=width < 600,
        has_touch=width < 600,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
    )
    context.set_default_timeout(15_000)
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )
    return context


def fits(page) -> None:
    size = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    assert size["scroll"] <= size["client"], size


@pytest.mark.parametrize("width_name", ["phone", "desktop"])
def test_a_till_purchase_shows_in_history_with_its_date_and_store(
    browser, live_server, screenshot_dir, width_name
):
    user = UserFactory(email=f"hoa-{width_name}@example.com")
    member = MemberFactory(user=user, full_name="Phạm Thị Hoa", email=user.email)
    store = StoreFactory(code="HCM07", name="Cửa hàng Nguyễn Huệ")
    _key, raw_key = api_key_create(store=store, label="till 7")
    points_grant(
        member=member,
        points=120,
        idempotency_key=f"activity:first_login:{member.pk}",
        reason="Bonus",
        program=program_get(),
    )
    # An offline till syncing a purchase of 12 days ago (the contract accepts up to the
    # programme's back-dating limit, 30 days by default).
    bought = timezone.localtime() - timedelta(days=12)
    body = pos_post(
        browser,
        live_server,
        raw_key,
        "/transactions/",
        {
            "external_id": "HD/2026/0777",
            "member": member.card_number,
            "occurred_at": bought.isoformat(),
            "total_amount": "1250000",
        },
    )
    assert body["points_earned"] == 125
    pos_post(
        browser,
        live_server,
        raw_key,
        "/transactions/HD%2F2026%2F0777/returns/",
        {"external_id": "RT-0777", "amount": "250000"},
    )

    context = context_for(browser, live_server, user, width_name)
    page = context.new_page()
    page.goto("/me/points/")
    entries = page.get_by_test_id("entries")
    purchase = entries.locator("li[data-kind='earn']")
    assert purchase.count() == 1
    text = purchase.inner_text()
    assert "Cửa hàng Nguyễn Huệ" in text and "HD/2026/0777" in text
    assert bought.strftime("%d/%m/%Y") in text  # the purchase's date, not today's
    assert timezone.localdate().strftime("%d/%m/%Y") not in text
    assert "1.250.000" in text and "+125" in text
    assert purchase.locator("time").get_attribute("datetime") == bought.date().isoformat()
    returned = entries.locator("li[data-kind='reverse']")
    assert "HD/2026/0777" in returned.inner_text() and "-25" in returned.inner_text()
    fits(page)
    page.screenshot(path=str(screenshot_dir / f"history-{width_name}.png"), full_page=True)

    page.locator("a[data-filter='returns']").click()
    page.wait_for_url("**/me/points/?show=returns")
    kinds = page.locator("li.entry").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert kinds == ["reverse"]
    assert page.locator("a[data-filter='returns']").get_attribute("aria-current") == "page"
    page.locator("a[data-filter='earned']").click()
    page.wait_for_url("**/me/points/?show=earned")
    kinds = page.locator("li.entry").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert sorted(kinds) == ["bonus", "earn"]
    page.locator("a[data-filter='spent']").click()
    page.wait_for_url("**/me/points/?show=spent")
    assert page.locator("li.entry").count() == 0
    page.locator("a[data-filter='all']").click()
    page.wait_for_url("**/me/points/")
    assert page.locator("li.entry").count() == 3

    page.goto("/me/tier/")
    bar = page.get_by_test_id("tier-bar")
    assert bar.get_attribute("max") == "100"
    percent = int(bar.get_attribute("value"))
    assert 0 < percent < 100  # 1,000,000 of Silver's 5,000,000, 1 purchase of 3
    lines = page.get_by_test_id("tier-lines").inner_text()
    assert "4.000.000" in lines and "Bạc" in lines
    fits(page)
    page.screenshot(path=str(screenshot_dir / f"tier-{width_name}.png"), full_page=True)
    context.close()

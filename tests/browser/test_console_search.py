"""In Chromium, on a phone (360 px) and a desktop (1280 px): a staff user types "nguyen van a"
without accents on the find page and reaches Nguyễn Văn A's member page. Neither page scrolls
sideways; screenshots go to var/screenshots/."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client

from members.roles import SUPPORT
from members.selectors import program_get
from members.services.points import points_grant
from tests.browser.conftest import DEFAULT_TIMEOUT_MS
from tests.factories import MemberFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _staff_context(browser, live_server, width: int):
    user = UserFactory(email=f"m360-browser-{width}@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name=SUPPORT))
    client = Client()
    client.force_login(user)
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": width, "height": 800},
        is_mobile=width < 768,
        has_touch=width < 768,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return context


def _scrolls_sideways(page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )


@pytest.mark.parametrize("width", [360, 1280])
def test_staff_finds_a_member_typed_without_accents(browser, live_server, screenshot_dir, width):
    target = MemberFactory(full_name="Nguyễn Văn A", phone="0901234567", email="a@example.com")
    MemberFactory(full_name="Nguyễn Văn Anh", phone="0901234568")
    MemberFactory(full_name="Trần Thị B", phone="0901234569")
    points_grant(
        member=target,
        points=1250,
        idempotency_key="browser-m360",
        reason="t",
        program=program_get(),
    )
    context = _staff_context(browser, live_server, width)
    try:
        page = context.new_page()
        page.goto("/staff/find/")
        page.fill("#m360-q", "nguyen van a")
        page.press("#m360-q", "Enter")
        page.wait_for_url("**/staff/find/?q=*")
        links = page.locator(".m360-results tbody a")
        assert links.first.inner_text() == "Nguyễn Văn A"
        assert links.count() == 2  # Nguyễn Văn A, then Nguyễn Văn Anh
        assert not _scrolls_sideways(page)
        page.screenshot(path=str(screenshot_dir / f"console_find_{width}.png"), full_page=True)

        links.first.click()
        page.wait_for_url(f"**/staff/member/{target.pk}/")
        assert page.locator("h1").first.inner_text() == "Nguyễn Văn A"
        assert "1.250" in page.locator(".m360-figures").inner_text()
        assert not _scrolls_sideways(page)
        page.screenshot(path=str(screenshot_dir / f"console_member_{width}.png"), full_page=True)
        # The section links work without script: an anchor jump.
        page.click(".m360-nav a[href='#purchases']")
        assert page.evaluate("() => location.hash") == "#purchases"
    finally:
        context.close()

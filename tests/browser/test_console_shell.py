"""The staff console's frame (Django's admin at /staff/, templates/admin/) on a phone (360 px)
and a tablet (1024 px): log in as a staff user, open the home, a changelist and a change
form; nothing scrolls the page sideways, the phone's menu opens, the CSP reports nothing.
Screenshots go to var/screenshots/console-shell-*.png."""

from __future__ import annotations

import pytest

from members.models import Member
from tests.browser.conftest import DEFAULT_TIMEOUT_MS
from tests.factories import MemberFactory

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
SIZES = {"phone": (360, 740), "tablet": (1024, 768)}


def _context(browser, live_server, width, height):
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": width, "height": height},
        screen={"width": width, "height": height},
        is_mobile=width < 768,
        has_touch=True,
        device_scale_factor=1,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return context


def _no_sideways_scroll(page) -> None:
    size = page.evaluate(
        """() => ({
            scrollWidth: document.documentElement.scrollWidth,
            innerWidth: window.innerWidth,
            clientWidth: document.documentElement.clientWidth,
        })"""
    )
    assert size["scrollWidth"] <= size["clientWidth"], (page.url, size)
    assert size["scrollWidth"] <= size["innerWidth"], (page.url, size)


def _log_in(page, email: str) -> None:
    page.goto("/staff/")
    page.wait_for_url("**/accounts/login/?next=*")
    form = page.locator("form:has(input[name='password'])")
    form.locator("input[name='login']").fill(email)
    form.locator("input[name='password']").fill(PASSWORD)
    form.locator("input[name='password']").press("Enter")
    page.wait_for_url("**/staff/")


def _shoot(page, directory, name: str, chunks: int = 1) -> None:
    """The whole page, and its first ``chunks`` screens one by one (easier to look at)."""
    page.screenshot(path=str(directory / f"console-shell-{name}.png"), full_page=True)
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    total = page.evaluate("() => document.documentElement.scrollHeight")
    for n in range(min(chunks, -(-total // height))):
        clip = {"x": 0, "y": n * height, "width": width, "height": min(height, total - n * height)}
        page.screenshot(
            path=str(directory / f"console-shell-{name}-{n + 1}.png"), full_page=True, clip=clip
        )


def _seed_members() -> Member:
    for n in range(30):
        MemberFactory(
            full_name=f"Nguyễn Thị Phương Thảo Hoàng Bảo Ngọc {n}",
            email=f"phuong.thao.hoang.bao.ngoc.{n}@example.com",
        )
    return Member.objects.order_by("pk").first()


@pytest.mark.parametrize("size", SIZES)
def test_console_frame_fits_phone_and_tablet(browser, live_server, support, screenshot_dir, size):
    width, height = SIZES[size]
    member = _seed_members()
    context = _context(browser, live_server, width, height)
    page = context.new_page()
    violations = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "security policy" in msg.text.lower() else None,
    )
    try:
        _log_in(page, support.email)

        # The home: the search box, the console's pages, the apps.
        assert page.locator("form.console-search input[name='q']").count() == 1
        assert page.locator("#content-main a[href='/staff/members/member/']").count() >= 1
        _no_sideways_scroll(page)
        _shoot(page, screenshot_dir, f"{size}-home", 2)

        # The changelist: a wide table scrolls inside its own box, not the page.
        page.goto("/staff/members/member/")
        assert page.locator("#result_list tbody tr").count() >= 30
        _no_sideways_scroll(page)
        _shoot(page, screenshot_dir, f"{size}-changelist", 2)

        menu = page.locator("details.console-menu")
        if size == "phone":
            # The sidebar is hidden on a phone; the header's menu holds its links.
            assert page.locator("#nav-sidebar").is_hidden()
            menu.locator("summary").click()
            link = menu.locator("a[href='/staff/members/member/']")
            assert link.is_visible()
            _no_sideways_scroll(page)
            page.screenshot(path=str(screenshot_dir / f"console-shell-{size}-menu.png"))
            menu.locator("summary").click()
        else:
            assert menu.is_hidden()
            assert page.locator("#nav-sidebar a[href='/staff/members/member/']").is_visible()

        # The change form: one column on a phone, nothing wider than the screen.
        page.goto(f"/staff/members/member/{member.pk}/change/")
        assert page.locator("form#member_form").count() == 1
        _no_sideways_scroll(page)
        save = page.locator("input[name='_save']")
        box = save.bounding_box()
        assert box["height"] >= 40, box  # a thumb's size
        _shoot(page, screenshot_dir, f"{size}-change", 3)
    finally:
        context.close()
    assert violations == []

"""In Chromium at 360 px: a support user opens a member's page, follows "adjust points",
adds 250 points with a reason and is back on the member page with the new balance. The
form does not scroll sideways; screenshots go to var/screenshots/."""

from __future__ import annotations

import pytest

from members.selectors import program_get
from members.services.points import points_grant
from tests.browser.test_console_search import _scrolls_sideways, _staff_context
from tests.factories import MemberFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_support_adjusts_points_at_360(browser, live_server, screenshot_dir):
    target = MemberFactory(full_name="Nguyễn Văn A", phone="0901234567")
    points_grant(
        member=target,
        points=1000,
        idempotency_key="browser-adjust",
        reason="t",
        program=program_get(),
    )
    context = _staff_context(browser, live_server, 360)
    try:
        page = context.new_page()
        page.goto(f"/staff/member/{target.pk}/")
        assert "1.000" in page.locator(".m360-figures").inner_text()
        page.click(f"a[href='/staff/member/{target.pk}/adjust/']")
        page.wait_for_url(f"**/staff/member/{target.pk}/adjust/")
        page.fill("#id_points", "250")
        page.fill("#id_reason", "Bù điểm hóa đơn thiếu")
        assert not _scrolls_sideways(page)
        page.screenshot(path=str(screenshot_dir / "console_adjust_form_360.png"), full_page=True)
        page.click(".console-action button[type=submit]")
        page.wait_for_url(f"**/staff/member/{target.pk}/")
        assert "1.250" in page.locator(".m360-figures").inner_text()
        assert not _scrolls_sideways(page)
        page.screenshot(path=str(screenshot_dir / "console_adjust_done_360.png"), full_page=True)
    finally:
        context.close()

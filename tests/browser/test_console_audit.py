"""In Chromium at 360 px: support sends a member's voucher again by SMS from the member
page, then finds that in the audit log by the member's name typed without accents. Neither
page scrolls sideways; screenshots go to var/screenshots/."""

from __future__ import annotations

from decimal import Decimal

import pytest

from campaigns.models import SmsLog
from members.selectors import program_get
from members.services.points import points_grant
from rewards.models import Reward
from rewards.services.issuing import reward_redeem
from tests.browser.test_console_search import _scrolls_sideways, _staff_context
from tests.factories import MemberFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_resend_then_find_it_in_the_audit_log_at_360(browser, live_server, screenshot_dir):
    target = MemberFactory(full_name="Nguyễn Văn A", phone="0901234567")
    reward = Reward.objects.create(
        code="browser-cafe",
        kind=Reward.Kind.AMOUNT,
        name="Giảm 50.000đ",
        points_cost=100,
        discount_amount=Decimal("50000"),
    )
    points_grant(member=target, points=100, idempotency_key="b", reason="t", program=program_get())
    voucher = reward_redeem(member=target, reward=reward)
    context = _staff_context(browser, live_server, 360)
    try:
        page = context.new_page()
        page.goto(f"/staff/member/{target.pk}/#vouchers")
        resend = f"/staff/member/{target.pk}/voucher/{voucher.pk}/resend/"
        page.click(f"a[href='{resend}']")
        page.wait_for_url(f"**{resend}")
        page.check("input[name=channel][value=sms]")
        page.fill("#id_reason", "Khách làm mất tin nhắn")
        assert not _scrolls_sideways(page)
        page.screenshot(path=str(screenshot_dir / "console_resend_360.png"), full_page=True)
        page.click(".console-action button[type=submit]")
        page.wait_for_url(f"**/staff/member/{target.pk}/*")
        assert SmsLog.objects.filter(phone=target.phone).count() == 1

        page.goto("/staff/audit/")
        page.fill("#id_member", "nguyen van a")
        page.click(".audit-filters button[type=submit]")
        page.wait_for_url("**/staff/audit/?*")
        table = page.locator(".audit-table").inner_text()
        assert "Khách làm mất tin nhắn" in table
        assert "Nguyễn Văn A" in table
        assert not _scrolls_sideways(page)
        page.screenshot(path=str(screenshot_dir / "console_audit_360.png"), full_page=True)
    finally:
        context.close()

"""In Chromium on a phone (360 x 740): a marketer opens the overview; the page does not
scroll sideways and the KPI cards and the cohort heat map are visible."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from members.roles import MARKETER
from tests.browser.conftest import DEFAULT_TIMEOUT_MS
from tests.factories import MemberFactory, PurchaseFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_marketer_reads_the_overview_on_a_phone(browser, live_server, tmp_path):
    store = StoreFactory(code="HCM01", name="Quận 1")
    member = MemberFactory(full_name="Nguyễn Văn A", phone="0901234567")
    for days in (3, 5):
        PurchaseFactory(
            member=member,
            store=store,
            occurred_at=timezone.now() - timedelta(days=days),
            total_amount=Decimal("1250000"),
        )
    user = UserFactory(email="overview-browser@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name=MARKETER))
    client = Client()
    client.force_login(user)
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
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
    try:
        page = context.new_page()
        response = page.goto("/staff/overview/")
        assert response.status == 200
        assert page.locator(".ov-card").first.is_visible()
        assert page.locator(".ov-card").count() >= 10
        heatmap = page.locator("svg.chart-cohorts")
        heatmap.scroll_into_view_if_needed()
        assert heatmap.is_visible()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
        page.screenshot(path=str(tmp_path / "overview-360.png"), full_page=True)
        (tmp_path / "path.txt").write_text(str(tmp_path))
        print("SCREENSHOT", tmp_path / "overview-360.png")
    finally:
        context.close()

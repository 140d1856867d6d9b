"""Signing up with a referral code and logging in by phone and code, in Chromium at 360 px
(a small phone) and 1280 px (a laptop), with screenshots in var/screenshots/.

The code is read from a test SMS backend (``tests.members.sms_outbox``), as a member reads it
from their phone. Nothing matches on visible text: the site speaks Vietnamese by default.
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from members.models import Member
from tests.factories import MemberFactory, UserFactory
from tests.members import sms_outbox as outbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Sen-Hong-2025-loyalty!"
WIDTHS = {"phone": (360, 780), "laptop": (1280, 800)}


@pytest.fixture(params=sorted(WIDTHS))
def sized_page(request, browser, live_server, settings):
    settings.AUTH_SMS_BACKEND = outbox.BACKEND
    outbox.OUTBOX.clear()
    cache.clear()
    width, height = WIDTHS[request.param]
    phone = request.param == "phone"
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": width, "height": height},
        is_mobile=phone,
        has_touch=phone,
        device_scale_factor=2 if phone else 1,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.size_name = request.param
    yield page
    context.close()
    outbox.OUTBOX.clear()


def _path(page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url).split("?")[0]


def _fits(page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


def _shot(page, screenshot_dir, name):
    page.screenshot(path=str(screenshot_dir / f"login-{name}-{page.size_name}.png"), full_page=True)


def test_sign_up_with_a_referral_code(sized_page, screenshot_dir):
    page = sized_page
    referrer = MemberFactory(full_name="Trần Văn Bình", phone="0987 654 321")
    page.goto(f"/accounts/signup/?ref={referrer.referral_code}")
    form = page.locator("form:has(input[name='password1'])")
    assert form.locator("input[name='referral_code']").input_value() == referrer.referral_code
    form.locator("input[name='email']").fill("mai@example.com")
    form.locator("input[name='full_name']").fill("Nguyễn Thị Mai")
    form.locator("input[name='phone']").fill("0912 345 678")
    form.locator("input[name='password1']").fill(PASSWORD)
    form.locator("input[name='password2']").fill(PASSWORD)
    _fits(page)
    _shot(page, screenshot_dir, "signup-referral")
    form.locator("[type='submit']").click()
    page.wait_for_url("**/me/")
    member = Member.objects.get(user__email="mai@example.com")
    assert member.phone == "+84912345678" and member.referred_by == referrer
    assert page.get_by_test_id("card-number").is_visible()
    _shot(page, screenshot_dir, "signup-referral-card")


def test_log_in_by_phone_and_code(sized_page, screenshot_dir):
    page = sized_page
    user = UserFactory(email="lan@example.com")
    MemberFactory(user=user, full_name="Lê Thị Lan", phone="0903 123 456", email=user.email)
    page.goto("/accounts/login/")
    _fits(page)
    _shot(page, screenshot_dir, "login")
    page.locator("a[href^='/accounts/login/code/']").first.click()
    page.wait_for_url("**/accounts/login/code/")
    page.locator("input[name='login']").fill("0903 123 456")
    _fits(page)
    _shot(page, screenshot_dir, "request-code")
    page.locator("form:has(input[name='login']) [type='submit']").first.click()
    page.wait_for_url("**/accounts/login/code/confirm/")
    code = outbox.last_code("+84903123456")
    code_input = page.locator("input[name='code']")
    assert code_input.get_attribute("autocomplete") == "one-time-code"
    assert code_input.get_attribute("inputmode") == "numeric"
    code_input.fill(code)
    _fits(page)
    _shot(page, screenshot_dir, "enter-code")
    page.locator("form:has(input[name='code']) [type='submit']").first.click()
    page.wait_for_url("**/me/")
    assert _path(page) == "/me/"
    assert page.get_by_test_id("card-number").is_visible()
    _shot(page, screenshot_dir, "logged-in")

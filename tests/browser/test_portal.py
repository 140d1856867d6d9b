"""The member portal and the staff login in a real browser (Chromium, phone-sized).

The site speaks Vietnamese by default, so nothing here matches on visible English text: only
URLs, element names and ids, and ``data-testid`` attributes.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from members.models import Member, User
from promotions.models import Promotion
from rewards.models import Reward

pytestmark = [
    pytest.mark.browser,
    # The flush after each transactional test sends post_migrate, which restores the rows
    # every database must have (programme, tiers, staff roles) for whatever test runs next.
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "Sen-Hong-2025-loyalty!"
DEFAULT_BACKGROUNDS = {"rgba(0, 0, 0, 0)", "transparent", "rgb(255, 255, 255)"}


def _path(page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url).split("?")[0]


def sign_up(page, *, email="mai@example.com", phone="0912 345 678", sms=True):
    """Fill allauth's sign-up form as a visitor would; end on the portal home."""
    page.goto("/accounts/signup/")
    form = page.locator("form:has(input[name='password1'])")
    form.locator("input[name='email']").fill(email)
    form.locator("input[name='full_name']").fill("Nguyễn Thị Mai")
    form.locator("input[name='phone']").fill(phone)
    form.locator("input[name='password1']").fill(PASSWORD)
    form.locator("input[name='password2']").fill(PASSWORD)
    if sms:
        form.locator("input[name='sms_consent']").check()
    form.locator("[type='submit']").click()
    page.wait_for_url("**/me/")


def fits_phone(page) -> dict:
    """Widths to compare. With ``is_mobile`` Chromium zooms out to show overflowing content,
    which widens ``innerWidth`` along with ``scrollWidth``; ``clientWidth`` (the layout
    viewport) stays at the phone's width, so the tests compare against both."""
    return page.evaluate(
        """() => ({
            scrollWidth: document.documentElement.scrollWidth,
            innerWidth: window.innerWidth,
            clientWidth: document.documentElement.clientWidth,
        })"""
    )


def test_signup_lands_on_card_with_number_and_referral_code(page, screenshot_dir):
    sign_up(page)

    assert _path(page) == "/me/"
    card_text = page.get_by_test_id("card-number").inner_text()
    card_number = re.sub(r"\s", "", card_text)
    assert re.fullmatch(r"\d{12}", card_number), card_text
    referral = page.get_by_test_id("referral-code").inner_text().strip()
    assert referral

    member = Member.objects.get(user__email="mai@example.com")
    assert member.phone == "+84912345678"
    assert member.sms_consent is True
    assert member.email_consent is False
    assert member.full_name == "Nguyễn Thị Mai"
    assert member.card_number == card_number
    assert member.referral_code == referral
    assert member.enrolled_via == Member.Channel.PORTAL

    page.screenshot(path=str(screenshot_dir / "portal-home.png"), full_page=True)


def test_member_edits_profile(page):
    sign_up(page)

    page.goto("/me/profile/")
    form = page.locator("form:has(input[name='occupation'])")
    # The phone is shown, not edited here: a new one is proven by a code (Change phone).
    assert form.locator("input[name='phone']").count() == 0
    assert form.locator("a[href='/accounts/phone/change/']").count() == 1
    form.locator("select[name='province']").select_option("da-nang")
    form.locator("input[name='occupation']").fill("Kỹ sư phần mềm")
    form.locator("[type='submit']").click()
    page.wait_for_load_state()

    assert _path(page) == "/me/profile/"
    assert page.locator(".messages .msg-success").count() == 1
    # The form shows the saved values again...
    assert page.locator("select[name='province']").input_value() == "da-nang"
    assert page.locator("input[name='occupation']").input_value() == "Kỹ sư phần mềm"
    # ...because they are in the database.
    member = Member.objects.get(user__email="mai@example.com")
    assert member.province == "da-nang"
    assert member.occupation == "Kỹ sư phần mềm"
    assert member.phone == "+84912345678"


def test_pages_fit_a_phone_screen(new_page):
    anonymous = new_page()
    for url in ("/accounts/login/", "/accounts/signup/"):
        anonymous.goto(url)
        assert _path(anonymous) == url
        size = fits_phone(anonymous)
        assert size["scrollWidth"] <= size["innerWidth"], (url, size)
        assert size["scrollWidth"] <= size["clientWidth"], (url, size)

    Reward.objects.create(
        code="giam-50k",
        kind="amount",
        name="Giảm 50.000đ cho hóa đơn từ 200.000đ tại mọi cửa hàng",
        points_cost=500,
        discount_amount=Decimal("50000"),
    )
    Promotion.objects.create(
        code="x2",
        name="Nhân đôi điểm cuối tuần cho mọi hóa đơn",
        kind="multiplier",
        multiplier=Decimal("2"),
        starts_at=timezone.now() - timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1),
    )
    member_page = new_page()
    sign_up(member_page)
    for url in (
        "/me/",
        "/me/profile/",
        "/me/points/",
        "/me/consents/",
        "/me/tier/",
        "/me/rewards/",
        "/me/rewards/vouchers/",
        "/me/referrals/",
        "/me/promotions/",
        "/me/promotions/reviews/",
        "/me/messages/",
    ):
        member_page.goto(url)
        assert _path(member_page) == url
        size = fits_phone(member_page)
        assert size["scrollWidth"] <= size["innerWidth"], (url, size)
        assert size["scrollWidth"] <= size["clientWidth"], (url, size)


def test_stylesheet_is_served_and_applied(page):
    stylesheets = []
    page.on(
        "response",
        lambda response: (
            stylesheets.append(response) if response.request.resource_type == "stylesheet" else None
        ),
    )
    page.goto("/accounts/login/")
    page.wait_for_load_state("load")

    assert stylesheets, "the page links no stylesheet"
    assert all(response.status == 200 for response in stylesheets), [
        (response.url, response.status) for response in stylesheets
    ]
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background not in DEFAULT_BACKGROUNDS, background


def _totp_code(secret: str) -> str:
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def _fits(page) -> None:
    size = fits_phone(page)
    assert size["scrollWidth"] <= size["innerWidth"], (page.url, size)
    assert size["scrollWidth"] <= size["clientWidth"], (page.url, size)


def _sign_in(page, email: str) -> None:
    """The admin's login page is allauth's: email and password."""
    page.goto("/staff/")
    page.wait_for_url("**/accounts/login/?next=*")
    _fits(page)
    form = page.locator("form:has(input[name='password'])")
    form.locator("input[name='login']").fill(email)
    form.locator("input[name='password']").fill(PASSWORD)
    form.locator("input[name='password']").press("Enter")


def test_staff_logs_in_to_admin_with_the_authenticator_code(page, settings):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    settings.MFA_TOTP_TOLERANCE = 1  # a code computed just before a 30-second boundary
    boss = User.objects.create_superuser(email="boss@example.com", password=PASSWORD)
    secret = generate_totp_secret()
    TOTP.activate(boss, secret)

    _sign_in(page, "boss@example.com")
    page.wait_for_url("**/accounts/2fa/authenticate/")
    _fits(page)
    page.locator("input[name='code']").fill(_totp_code(secret))
    page.locator("input[name='code']").press("Enter")
    page.wait_for_url("**/staff/")

    assert _path(page) == "/staff/"
    assert page.locator("body.dashboard").count() == 1
    assert page.locator("#content-main a[href='/staff/members/member/']").count() >= 1


def test_a_new_superuser_sets_up_the_authenticator_app_first(page, settings):
    settings.MFA_TOTP_TOLERANCE = 1
    User.objects.create_superuser(email="boss@example.com", password=PASSWORD)

    _sign_in(page, "boss@example.com")
    page.wait_for_url("**/accounts/reauthenticate/?next=*")  # on the way to the set-up page
    _fits(page)
    page.locator("input[name='password']").fill(PASSWORD)
    page.locator("input[name='password']").press("Enter")
    page.wait_for_url("**/accounts/2fa/totp/activate/")
    _fits(page)
    qr = page.locator("main img[src^='data:image/svg+xml']")
    assert qr.count() == 1
    assert qr.evaluate("img => img.naturalWidth") > 0  # the SVG drew (CSP allows data: images)
    secret = page.locator("#authenticator_secret").input_value()
    page.locator("input[name='code']").fill(_totp_code(secret))
    page.locator("input[name='code']").press("Enter")
    page.wait_for_url("**/accounts/2fa/recovery-codes/")
    _fits(page)
    page.goto("/staff/")
    assert _path(page) == "/staff/"
    assert page.locator("body.dashboard").count() == 1

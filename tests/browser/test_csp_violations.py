"""No page breaks the Content-Security-Policy in a real browser (Chromium, phone-sized).

Chromium reports every blocked inline script, style attribute, event handler, eval or
foreign origin as a console message naming the Content Security Policy, and fires a
``securitypolicyviolation`` event; each page here is loaded fully and must have neither.
Screenshots go to /tmp/csp-shots/ (one per page) to look at the pages after the styles
moved into files.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from members.models import Program, User
from members.services.points import points_grant
from rewards.models import Reward
from rewards.services.issuing import voucher_issue_goodwill
from tests.conftest import totp_enrol
from tests.factories import MemberFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    # The flush after each transactional test sends post_migrate, which restores the rows
    # every database must have (programme, tiers, staff roles) for whatever test runs next.
    pytest.mark.django_db(transaction=True),
]

# A fixed place to look at the pages by hand after a run (nothing is read back from it).
SHOTS = Path("/tmp/csp-shots")  # noqa: S108
PASSWORD = "Sen-Hong-2025-loyalty!"
# Runs before any page script: records the violations the page itself would see.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"}` +
      ` at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url).split("?")[0]


def _is_csp_message(text: str) -> bool:
    return bool(re.search(r"content[ -]security[ -]policy", text, re.I))


@pytest.fixture
def csp_page(new_page, live_server):
    """Factory: a phone-sized page (logged in as ``user`` if given) that collects every CSP
    message and violation it meets; ``visit`` loads a URL and returns what was collected."""

    def make(user: User | None = None):
        page = new_page()
        if user is not None:
            client = Client()
            client.force_login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME]
            page.context.add_cookies(
                [{"name": cookie.key, "value": cookie.value, "url": live_server.url}]
            )
        messages: list[str] = []
        page.on(
            "console",
            lambda message: (
                messages.append(message.text) if _is_csp_message(message.text) else None
            ),
        )
        page.on("pageerror", lambda error: messages.append(f"page error: {error}"))
        page.add_init_script(RECORD_VIOLATIONS)

        def visit(url: str, shot: str | None, *, expect_path: str | None = None) -> list[str]:
            messages.clear()
            response = page.goto(url, wait_until="load")
            assert response is not None and response.status < 500, (url, response)
            page.wait_for_load_state("networkidle")
            assert _path(page.url) == (expect_path or _path(url)), (url, page.url)
            if shot is not None:
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)
            violations = page.evaluate("window.__cspViolations || []")
            return [*messages, *violations]

        page.visit = visit
        return page

    return make


def assert_no_violations(found: dict[str, list[str]]) -> None:
    assert found, "no page was checked"
    assert {url: seen for url, seen in found.items() if seen} == {}


def _member_with_things_to_show() -> tuple[User, str]:
    """A portal member with points and a voucher; returns the user and the voucher code."""
    user = UserFactory(email="lan@example.com")
    member = MemberFactory(
        user=user, full_name="Lê Thị Lan", phone="0903 123 456", email=user.email
    )
    points_grant(
        member=member,
        points=1200,
        idempotency_key="csp-test-bonus",
        reason="Chào mừng",
        program=Program.objects.get(pk=1),
    )
    reward = Reward.objects.create(
        code="giam-50k",
        kind="amount",
        name="Giảm 50.000đ",
        points_cost=500,
        discount_amount=Decimal("50000"),
    )
    boss = User.objects.create_superuser(email="giver@example.com", password=PASSWORD)
    voucher = voucher_issue_goodwill(
        member=member, reward=reward, reason="Xin lỗi vì chờ lâu", acting_user=boss
    )
    user.refresh_from_db()
    return user, voucher.code


def test_visitor_pages_break_no_csp(csp_page, db):
    page = csp_page()
    found = {}
    for url, shot in (
        ("/", "landing"),
        ("/accounts/login/", "login"),
        ("/accounts/signup/", "signup"),
        ("/accounts/password/reset/", "password-reset"),
        ("/no-such-page/", "error-404"),
    ):
        found[url] = page.visit(url, shot)
    assert_no_violations(found)


def test_member_pages_break_no_csp(csp_page):
    user, voucher_code = _member_with_things_to_show()
    page = csp_page(user)
    found = {}
    for url, shot in (
        ("/me/", "member-home"),
        ("/me/points/", "points"),
        ("/me/profile/", "profile"),
        ("/me/consents/", "consents"),
        ("/me/rewards/", "rewards"),
        (f"/me/rewards/vouchers/{voucher_code}/", "voucher"),
        ("/me/rewards/vouchers/", "vouchers"),
        ("/me/tier/", "tier"),
        ("/me/messages/", "messages"),
        ("/me/referrals/", "referrals"),
        ("/me/promotions/", "promotions"),
        ("/me/promotions/reviews/", "reviews"),
    ):
        found[url] = page.visit(url, shot)
    assert_no_violations(found)

    # The language picker still submits itself (its handler moved to static/js/app.js).
    with page.expect_navigation():
        page.select_option("#lang-select", "en")
    assert page.locator("html").get_attribute("lang") == "en"


def test_staff_pages_and_api_docs_break_no_csp(csp_page):
    user, _code = _member_with_things_to_show()
    member = user.member
    reward = Reward.objects.get(code="giam-50k")
    boss = User.objects.create_superuser(email="boss@example.com", password=PASSWORD)
    totp_enrol(boss)  # superusers need an authenticator app before any admin page
    page = csp_page(boss)
    found = {}
    for url, shot in (
        ("/staff/", "admin-index"),
        ("/staff/members/member/", "admin-member-list"),
        (f"/staff/members/member/{member.pk}/change/", "admin-member-change"),
        (f"/staff/members/member/{member.pk}/adjust-points/", "admin-adjust-points"),
        ("/staff/rewards/reward/add/", "admin-reward-add"),
        ("/staff/campaigns/segment/add/", "admin-segment-add"),
        ("/staff/rewards/voucher/", "admin-voucher-list"),
        ("/staff/promotions/referral/report/", "admin-referral-report"),
        ("/staff/rewards/voucher/goodwill/", "admin-goodwill"),
        (f"/staff/rewards/reward/{reward.pk}/partner-codes/", "admin-partner-codes"),
        (f"/staff/tiers/membertier/set/{member.pk}/", "admin-set-tier"),
        ("/api/docs/", "api-docs"),
    ):
        found[url] = page.visit(url, shot)
    assert_no_violations(found)
    # Swagger UI really rendered (its init script is a file now), not an empty page.
    assert page.locator(".swagger-ui .info").count() == 1


def test_every_admin_list_and_form_breaks_no_csp(csp_page, rf):
    """Each registered model's change list, add form and (for its first row) change form:
    a widget or display method that writes a style="" attribute shows up here."""
    _member_with_things_to_show()
    boss = User.objects.create_superuser(email="boss@example.com", password=PASSWORD)
    totp_enrol(boss)
    request = rf.get("/staff/")
    request.user = boss
    urls = []
    for model, model_admin in admin.site._registry.items():
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls.append(reverse(f"{info}_changelist"))
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"{info}_add"))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(reverse(f"{info}_change", args=[first.pk]))
    assert len(urls) > 40, urls
    page = csp_page(boss)
    found = {url: page.visit(url, None) for url in urls}
    assert_no_violations(found)
    # django-celery-beat's form script, now a file, still runs: it hides the translation row.
    page.visit("/staff/django_celery_beat/periodictask/add/", "admin-periodic-task-add")
    assert page.locator(".field-crontab_translation").count() == 1
    assert page.locator(".field-crontab_translation").is_hidden()


def _log_in(page, email: str) -> None:
    """Sign in through allauth's form, as a person would."""
    page.visit("/accounts/login/", "login-staff")
    form = page.locator("form:has(input[name='password'])")
    form.locator("input[name='login']").fill(email)
    form.locator("input[name='password']").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("[type='submit']").click()


def test_mfa_pages_break_no_csp(csp_page, db):
    if "allauth.mfa" not in settings.INSTALLED_APPS:
        pytest.fail("allauth.mfa is not installed: the staff second factor is missing")
    found = {}
    # A superuser without an authenticator app is sent to set one up: the QR code page.
    User.objects.create_superuser(email="new@example.com", password=PASSWORD)
    page = csp_page()
    _log_in(page, "new@example.com")
    # On the way there allauth asks for the password again.
    found["/accounts/reauthenticate/"] = page.visit(
        "/staff/", "mfa-reauthenticate", expect_path="/accounts/reauthenticate/"
    )
    page.locator("input[name='password']").fill(PASSWORD)
    page.locator("input[name='password']").press("Enter")
    page.wait_for_url("**/accounts/2fa/totp/activate/")
    found["/accounts/2fa/totp/activate/"] = page.visit(page.url, "mfa-totp-activate")
    qr = page.locator("main img[src^='data:'], main svg")
    assert qr.count() >= 1
    assert qr.first.bounding_box()["width"] > 50  # the QR code drew: the policy allows it

    # With one, signing in with a password leads to the second-factor stage...
    enrolled = User.objects.create_superuser(email="boss@example.com", password=PASSWORD)
    totp_enrol(enrolled)
    page = csp_page()
    _log_in(page, "boss@example.com")
    found["/accounts/2fa/authenticate/"] = page.visit(
        page.url, "mfa-authenticate", expect_path="/accounts/2fa/authenticate/"
    )
    # ...and, once past it, the MFA overview and recovery codes are plain pages too.
    page = csp_page(enrolled)
    found["/accounts/2fa/"] = page.visit("/accounts/2fa/", "mfa-index")
    assert_no_violations(found)

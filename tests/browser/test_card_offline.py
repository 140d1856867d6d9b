"""The card scans and works offline, in Chromium at 360 px and 1280 px.

The codes are checked as a till's scanner would see them: each element is screenshotted as
Chromium draws it and decoded by zbar (``zbarimg``, Debian's zbar-tools; .ci/run installs
it for this step). The QR code and the Code 128 barcode must both read the card number (or
the voucher code).

Offline: the service worker keeps the card page; with the network off the card (codes,
number, balance "as of") is still shown, every other page gives the offline page, and after
logging out nothing of the card is left.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from members.models import Member
from rewards.models import Voucher
from tests.factories import MemberFactory, UserFactory
from tests.rewards.conftest import give_points, make_reward

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": (360, 780, 2), "desktop": (1280, 900, 1)}
SW_TIMEOUT_MS = 15_000


def zbar(png: Path) -> dict[str, str]:
    """Symbology -> data of every code zbar finds in ``png`` (``QR-Code``, ``CODE-128``)."""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        pytest.fail("zbarimg is missing: apt-get install zbar-tools (.ci/run does)")
    result = subprocess.run(
        [zbarimg, "--quiet", str(png)], capture_output=True, text=True, timeout=60, check=False
    )
    found = {}
    for line in result.stdout.splitlines():
        symbology, _, data = line.partition(":")
        found[symbology] = data
    return found


def assert_scans(page, testid: str, expected: str, shot: Path) -> None:
    """The QR code and the barcode under ``testid`` decode to ``expected``."""
    qr_png = shot.with_name(shot.stem + "-qr.png")
    barcode_png = shot.with_name(shot.stem + "-barcode.png")
    page.get_by_test_id(f"{testid}-qr").screenshot(path=str(qr_png))
    page.get_by_test_id(f"{testid}-barcode").screenshot(path=str(barcode_png))
    assert zbar(qr_png) == {"QR-Code": expected}, qr_png
    assert zbar(barcode_png) == {"CODE-128": expected}, barcode_png


def new_context(browser, live_server, width_name: str):
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
    context.set_default_timeout(SW_TIMEOUT_MS)
    return context


def log_in(context, live_server, user) -> None:
    """A session for ``user`` in the browser's cookie jar (the login form is tested
    elsewhere; this test is about the card)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )


def member_with_login(email: str, full_name: str, points: int) -> Member:
    user = UserFactory(email=email)
    member = MemberFactory(user=user, full_name=full_name, email=email)
    give_points(member, points)
    return member


KEPT_CARD_STATE = """async () => {
    const registration = await navigator.serviceWorker.ready;
    if (!registration.active || !navigator.serviceWorker.controller) return null;
    const cache = await caches.open("card");
    return (await cache.match("/me/card/")) !== undefined;
}"""


def wait_for_kept_card(page, *, present: bool = True) -> None:
    """Until the service worker controls the page and has (or has not) kept the card.

    Polled from Python with ``page.evaluate``, which awaits the promise: Playwright's
    ``wait_for_function`` does not await an async predicate, and a pending promise is truthy,
    so it would return at once, before the worker has kept or dropped anything."""
    deadline = time.monotonic() + SW_TIMEOUT_MS / 1000
    state = None
    while time.monotonic() < deadline:
        state = page.evaluate(KEPT_CARD_STATE)
        if state is present:
            return
        time.sleep(0.2)
    pytest.fail(f"the kept card: wanted present={present}, last seen {state!r}")


def card_number_shown(page) -> str:
    return re.sub(r"\s", "", page.get_by_test_id("card-number").inner_text())


def fits(page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths


@pytest.mark.parametrize("width_name", list(WIDTHS))
def test_the_card_scans_and_stays_viewable_offline_until_logout(
    browser, live_server, screenshot_dir, width_name
):
    member = member_with_login("lan@example.com", "Lê Thị Lan", 1250)
    context = new_context(browser, live_server, width_name)
    try:
        log_in(context, live_server, member.user)
        page = context.new_page()
        page.goto("/me/")
        shot = screenshot_dir / f"card-{width_name}.png"
        page.screenshot(path=str(shot), full_page=True)
        fits(page)
        assert card_number_shown(page) == member.card_number
        assert_scans(page, "card-codes", member.card_number, shot)
        if width_name == "phone":  # one row of tabs, not two rows of links
            boxes = [a.bounding_box() for a in page.get_by_test_id("tabbar").locator("a").all()]
            assert len(boxes) == 4 and len({round(box["y"]) for box in boxes}) == 1, boxes

        wait_for_kept_card(page)
        context.set_offline(True)
        page.reload()
        shot = screenshot_dir / f"card-offline-{width_name}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert card_number_shown(page) == member.card_number
        assert page.get_by_test_id("points-available").inner_text().strip() == "1.250"
        assert page.get_by_test_id("balance-as-of").is_visible()
        assert_scans(page, "card-codes", member.card_number, shot)
        assert member.user.email not in page.content()  # the kept page is the card alone

        page.goto("/me/rewards/")  # any other page: the offline page, pointing to the card
        page.locator("[data-offline-checked='card']").wait_for()
        page.screenshot(path=str(screenshot_dir / f"card-offline-other-{width_name}.png"))
        page.get_by_test_id("offline-card-link").click()
        page.get_by_test_id("card-number").wait_for()
        assert card_number_shown(page) == member.card_number

        context.set_offline(False)
        page.goto("/me/")
        page.get_by_test_id("logout").click()
        page.wait_for_url("**/accounts/login/**")
        wait_for_kept_card(page, present=False)  # a new worker, and no card kept
        context.set_offline(True)
        page.goto("/me/")
        page.locator("[data-offline-checked='no-card']").wait_for()
        page.screenshot(path=str(screenshot_dir / f"card-offline-after-logout-{width_name}.png"))
        assert page.get_by_test_id("card-number").count() == 0
        assert not page.get_by_test_id("offline-card-link").is_visible()
        assert member.card_number_display not in page.content()
    finally:
        context.close()


def test_a_new_login_never_sees_the_previous_members_card_offline(
    browser, live_server, screenshot_dir
):
    first = member_with_login("lan@example.com", "Lê Thị Lan", 100)
    second = member_with_login("binh@example.com", "Trần Văn Bình", 200)
    context = new_context(browser, live_server, "phone")
    try:
        log_in(context, live_server, first.user)
        page = context.new_page()
        page.goto("/me/card/")
        wait_for_kept_card(page)
        # The first session ends without a logout (expired, cookies wiped) ...
        context.clear_cookies()
        page.goto("/me/card/")
        page.wait_for_url("**/accounts/login/**")
        wait_for_kept_card(page, present=False)  # a login page instead of the card: dropped
        # ... and the second member logs in on the same phone.
        log_in(context, live_server, second.user)
        page.goto("/me/")
        wait_for_kept_card(page)
        context.set_offline(True)
        page.goto("/me/card/")
        page.screenshot(path=str(screenshot_dir / "card-offline-second-login.png"))
        assert card_number_shown(page) == second.card_number
        assert first.card_number_display not in page.content()
    finally:
        context.close()


@pytest.mark.parametrize("width_name", list(WIDTHS))
def test_redeem_a_reward_and_scan_its_voucher(browser, live_server, screenshot_dir, width_name):
    member = member_with_login("lan@example.com", "Lê Thị Lan", 1000)
    reward = make_reward(points_cost=300)
    context = new_context(browser, live_server, width_name)
    try:
        log_in(context, live_server, member.user)
        page = context.new_page()
        page.goto(f"/me/rewards/{reward.pk}/")
        page.get_by_test_id("redeem").click()
        page.wait_for_url("**/me/rewards/vouchers/*/")
        voucher = Voucher.objects.get(member=member)
        assert page.url.rstrip("/").endswith(voucher.code)
        shot = screenshot_dir / f"voucher-{width_name}.png"
        page.screenshot(path=str(shot), full_page=True)
        fits(page)
        assert page.get_by_test_id("voucher-code").inner_text().strip() == voucher.code_display
        assert_scans(page, "voucher-codes", voucher.code, shot)
    finally:
        context.close()

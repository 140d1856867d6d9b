"""The member's "My data" page in Chromium, on a phone (360 px) and a desktop (1280 px):
download my data (JSON after confirming the password, then CSV), delete the account, and
the login no longer works. Screenshots to var/screenshots/my-data-*.png.

The site speaks Vietnamese by default: the test matches URLs, names and data-testid only.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from members.models import DataRequest, Member, User
from tests.browser.conftest import DEFAULT_TIMEOUT_MS
from tests.factories import MemberFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


def _path(page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url).split("?")[0]


def _fits(page):
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page is wider than the screen: {widths}"


def _log_in(page, email):
    page.goto("/accounts/login/")
    form = page.locator("form:has(input[name='password'])")
    form.locator("input[name='login']").fill(email)
    form.locator("input[name='password']").fill(PASSWORD)
    form.locator("[type='submit']").click()


@pytest.mark.parametrize("width,height", [(360, 780), (1280, 900)])
def test_download_my_data_then_delete_the_account(
    browser, live_server, screenshot_dir, tmp_path, width, height
):
    email = f"lan{width}@example.com"
    user = UserFactory(email=email)
    member = MemberFactory(
        user=user, full_name="Lê Thị Lan", phone="0903 123 456", email=email, sms_consent=True
    )
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": width, "height": height},
        is_mobile=width < 600,
        has_touch=width < 600,
        device_scale_factor=2 if width < 600 else 1,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        accept_downloads=True,
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = context.new_page()
        _log_in(page, email)
        page.wait_for_url("**/me/")

        # Reached from the profile page.
        page.goto("/me/profile/")
        page.locator("a[href='/me/my-data/']").click()
        page.wait_for_url("**/me/my-data/")
        _fits(page)
        page.screenshot(path=str(screenshot_dir / f"my-data-{width}.png"), full_page=True)

        # JSON: the password is asked again, then the held request downloads the file.
        page.get_by_test_id("download-json").click()
        page.wait_for_url("**/accounts/reauthenticate/**")
        _fits(page)
        page.screenshot(path=str(screenshot_dir / f"my-data-reauth-{width}.png"), full_page=True)
        with page.expect_download() as info:
            form = page.locator("form:has(input[name='password'])")
            form.locator("input[name='password']").fill(PASSWORD)
            form.locator("[type='submit']").click()
        download = info.value
        assert download.suggested_filename.endswith(".json")
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        data = json.loads(target.read_text(encoding="utf-8"))
        assert data["profile"]["full_name"] == "Lê Thị Lan"
        assert data["profile"]["card_number"] == member.card_number
        assert data["login"]["email"] == email

        # CSV right after: no second password prompt within the timeout.
        page.goto("/me/my-data/")
        with page.expect_download() as info:
            page.get_by_test_id("download-csv").click()
        download = info.value
        assert download.suggested_filename.endswith(".zip")
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        archive = zipfile.ZipFile(io.BytesIO(target.read_bytes()))
        profile = archive.read("profile.csv")
        assert profile.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
        assert "Lê Thị Lan" in profile.decode("utf-8-sig")
        assert list(DataRequest.objects.filter(member=member).values_list("kind", flat=True)) == [
            "export",
            "export",
        ]

        # Delete: the page explains, asks for the tick, then erases and logs out.
        page.get_by_test_id("delete-account").click()
        page.wait_for_url("**/me/my-data/delete/")
        _fits(page)
        page.screenshot(path=str(screenshot_dir / f"my-data-delete-{width}.png"), full_page=True)
        page.get_by_test_id("delete-confirm").click()  # without the tick: the form again
        page.wait_for_load_state()
        assert _path(page) == "/me/my-data/delete/"
        assert page.locator(".error").count() >= 1
        page.locator("input[name='confirm']").check()
        page.get_by_test_id("delete-confirm").click()
        page.wait_for_url("**/me/my-data/deleted/")
        _fits(page)
        page.screenshot(path=str(screenshot_dir / f"my-data-deleted-{width}.png"), full_page=True)

        member.refresh_from_db()
        assert member.status == Member.Status.ERASED
        assert member.full_name == "" and member.phone is None
        assert not User.objects.filter(email=email).exists()

        # The login is gone: signing in again fails, the portal asks to log in.
        _log_in(page, email)
        page.wait_for_load_state()
        assert _path(page) == "/accounts/login/"
        page.goto("/me/")
        assert _path(page) == "/accounts/login/"
    finally:
        context.close()

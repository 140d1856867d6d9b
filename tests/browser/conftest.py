"""Playwright fixtures for the ``browser`` tests: Debian's Chromium, a phone-sized page.

The browser is ``/usr/bin/chromium`` from the Debian package (``.ci/run`` installs it); no
Playwright browser download is ever used. Run with ``.venv/bin/pytest -m browser``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE_WIDTH, PHONE_HEIGHT = 390, 844
SCREENSHOT_DIR = Path(settings.BASE_DIR) / "var" / "screenshots"
DEFAULT_TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def _allow_async_unsafe() -> Iterator[None]:
    """Playwright's sync API keeps an event loop running in the test thread, so Django would
    refuse ORM calls from the test body (and the test database flush) without this."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(_allow_async_unsafe):
    """One headless Chromium for the whole session."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: apt-get install chromium chromium-driver "
            "(never a Playwright browser download)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """Factory for fresh phone-sized pages (each its own cookie jar) on the live server."""
    contexts = []

    def make():
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": PHONE_WIDTH, "height": PHONE_HEIGHT},
            screen={"width": PHONE_WIDTH, "height": PHONE_HEIGHT},
            is_mobile=True,
            has_touch=True,
            device_scale_factor=2,
            locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
        )
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """A phone-sized page (390x844, mobile) whose relative URLs go to the live server."""
    return new_page()


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR

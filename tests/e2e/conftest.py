"""A real headless Chromium (Debian's package) driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from planner.core.extensions import db
from tests.conftest import PASSWORD, skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        skip_or_fail(f"browser tests skipped: {CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "last-journey.png"), full_page=True)
    context.close()


@pytest.fixture
def log_in(browser, live_server: str):
    """A new English browser (or one shaped by `context_options`: a phone's viewport, another
    locale), logged in by the login form as the account with this email. It commits the test's
    session first: the live server must see the data, and on SQLite an open transaction of the
    test would hold the write lock the server needs."""
    contexts = []

    def open_as(email: str, **context_options):
        db.session.commit()
        context = browser.new_context(**({"locale": "en-US"} | context_options))
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live_server}/login")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("input[type=submit]")
        return page

    yield open_as
    for context in contexts:
        context.close()

"""DNS rebinding against a local app (issue 19): a page on another name that resolves to 127.0.0.1 gets nothing.

Chromium's ``--host-resolver-rules`` makes ``evil.example`` resolve to 127.0.0.1, as a rebinding attacker's DNS
would; the browser then sends ``Host: evil.example:<port>`` and treats the app as that site's own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT
from tests.e2e.ui import ERROR, shot, wait_for_app

REBOUND = "evil.example"


@pytest.fixture(scope="module")
def rebinding_browser(browser) -> Iterator[object]:
    """A second Chromium from the session's Playwright (a second ``sync_playwright()`` cannot start while the
    session's runs), whose resolver maps the rebinding name to this machine."""
    rebinding = browser.browser_type.launch(
        executable_path=str(CHROMIUM), headless=True,
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1"])
    yield rebinding
    rebinding.close()


def test_a_page_opened_under_a_foreign_name_gets_only_a_refusal(rebinding_browser, app_url):
    port = app_url.rsplit(":", 1)[1]
    context = rebinding_browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(app_url)  # the same server at its own address works as ever
        wait_for_app(page)
        expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible()

        page.goto(f"http://{REBOUND}:{port}/data")
        wait_for_app(page)
        expect(page.locator(ERROR)).to_contain_text(f"this app was opened as '{REBOUND}:{port}', not as this machine")
        expect(page.get_by_role("heading", name="Data", exact=True)).to_have_count(0)
        expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)
        expect(page.get_by_text("DATASET")).to_have_count(0)
        shot(page, "foreign_host")
    finally:
        context.close()

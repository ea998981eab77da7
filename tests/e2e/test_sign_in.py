"""Sign-in in a real browser (issue 19): a created account signs in, a refresh keeps it signed in, sign-out ends it.

The server runs with ``PIPELINE_STUDIO_AUTH=accounts`` on a fresh store holding one account made the way an
operator makes it (``studio.accounts.create_user``, what ``python -m studio users add-admin`` calls).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from storage import Store
from studio import accounts
from tests.e2e.conftest import VIEWPORT, running_app
from tests.e2e.ui import ERROR, click_button, no_exception, shot, sign_in, wait_for_app

NAME, PASSWORD = "alice", "correct horse battery"
COOKIE = "pipeline_studio_session"
SIDEBAR = '[data-testid="stSidebar"]'


@pytest.fixture(scope="module")
def sign_in_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("sign_in_home")
    accounts.create_user(Store.at(home), NAME, PASSWORD, admin=True)
    log_path = tmp_path_factory.mktemp("sign_in_server") / "streamlit.log"
    with running_app(home, log_path, PIPELINE_STUDIO_AUTH="accounts", PIPELINE_STUDIO_JOBS="threads") as url:
        yield url


def _submit(page: Page, name: str, password: str) -> None:
    sign_in(page, name, password)


def _signed_in_as(page: Page, name: str) -> None:
    sidebar = page.locator(SIDEBAR)
    expect(sidebar.get_by_text(name, exact=True).first).to_be_visible()  # also listed under Members
    expect(sidebar.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible()
    no_exception(page)


def test_a_created_account_signs_in_stays_signed_in_after_a_refresh_and_signs_out(browser, sign_in_url):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(sign_in_url)
        wait_for_app(page)
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)  # no page of the app yet
        shot(page, "sign_in")

        _submit(page, NAME, "not the password")
        expect(page.locator(ERROR)).to_have_text("wrong name or password")
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

        _submit(page, NAME, PASSWORD)
        _signed_in_as(page, NAME)
        page.wait_for_function(f"() => document.cookie.includes('{COOKIE}=')")  # the browser keeps the session
        [cookie] = [c for c in context.cookies() if c["name"] == COOKIE]
        assert cookie["sameSite"] == "Strict" and cookie["expires"] > 0 and COOKIE not in page.url
        shot(page, "signed_in")

        page.reload()
        wait_for_app(page)
        _signed_in_as(page, NAME)  # a new Streamlit session, the same account

        click_button(page, "signout")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.wait_for_function(f"() => !document.cookie.includes('{COOKIE}=')")
        page.reload()
        wait_for_app(page)
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()  # signed out stays signed out
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
        no_exception(page)
    finally:
        context.close()


def test_a_cookie_naming_no_live_session_signs_nobody_in_and_is_cleared(browser, sign_in_url):
    """A made-up, expired or signed-out token in the cookie opens only the sign-in page."""
    context = browser.new_context(viewport=VIEWPORT)
    host = sign_in_url.split("//")[1].split(":")[0]
    context.add_cookies([{"name": COOKIE, "value": "x" * 43, "domain": host, "path": "/"}])
    page = context.new_page()
    try:
        page.goto(sign_in_url)
        wait_for_app(page)
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.wait_for_function(f"() => !document.cookie.includes('{COOKIE}=')")  # the stale cookie is cleared
    finally:
        context.close()


def test_a_page_asked_for_before_signing_in_opens_after_it(browser, sign_in_url):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"{sign_in_url}/train")
        wait_for_app(page)
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.locator('[role="dialog"]')).to_have_count(0)  # no "page not found" on the way
        _submit(page, NAME, PASSWORD)
        expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible()
        no_exception(page)
    finally:
        context.close()

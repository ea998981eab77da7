"""An administrator sets an account's limits in the sidebar's Limits section, in a real browser (issue 19 point 5)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

import storage
from storage import Store
from studio import accounts
from tests.e2e.conftest import VIEWPORT, running_app
from tests.e2e.ui import ERROR, click_button, key, no_exception, shot, sign_in, wait_for_app

PASSWORD = "correct horse battery"
SIDEBAR = '[data-testid="stSidebar"]'


@pytest.fixture(scope="module")
def limits_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store]]:
    home = tmp_path_factory.mktemp("limits_home")
    store = Store.at(home)
    accounts.create_user(store, "root", PASSWORD, admin=True)
    accounts.create_user(store, "bob", PASSWORD)
    log_path = tmp_path_factory.mktemp("limits_server") / "streamlit.log"
    with running_app(home, log_path, PIPELINE_STUDIO_AUTH="accounts", PIPELINE_STUDIO_JOBS="threads") as url:
        yield url, store


def test_an_administrator_sets_bobs_limits_from_the_sidebar(browser, limits_url):
    url, store = limits_url
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(url)
        wait_for_app(page)
        sign_in(page, "root", PASSWORD)
        sidebar = page.locator(SIDEBAR)
        sidebar.get_by_text("Limits", exact=True).click()
        page.locator(key("limits_jobs")).locator("input").fill("2")
        page.locator(key("limits_storage")).locator("input").fill("2GB")
        click_button(page, "limits_set")  # the account picker starts on the first account by name: bob
        no_exception(page)
        expect(page.get_by_text("bob: jobs queued or running: 0 of at most 2; files: 0 bytes of at most 2 GB.")) \
            .to_be_visible()
        bob = storage.get_user_by_name(store, "bob")
        assert (bob.max_jobs, bob.max_storage_bytes) == (2, 2 * 10**9)
        expect(page.locator(key("limits_table"))).to_contain_text("bob · jobs 0 of 2* · files 0 bytes of 2 GB*")
        shot(page, "limits_admin")

        page.locator(key("limits_storage")).locator("input").fill("lots")
        click_button(page, "limits_set")
        expect(page.locator(ERROR)).to_contain_text("Storage: 'lots' is not a size")
        assert storage.get_user_by_name(store, "bob").max_storage_bytes == 2 * 10**9
        shot(page, "limits_admin_refused")
    finally:
        context.close()

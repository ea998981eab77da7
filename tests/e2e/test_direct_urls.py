"""A page opened by its address, even as the very first request of a fresh server, shows the app's menu.

Streamlit treats a ``pages/`` folder beside the entrypoint as a legacy multipage app until
``st.navigation`` has been called once in the server process. So this test starts its own
server and opens ``/profile`` before anything else: that first run used to get Streamlit's
automatic menu of every file in ``pages/`` (``app``, ``charts``, ``common``, ``step editor``…)
and the page without app.py's frame.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import VIEWPORT, running_app
from tests.e2e.ui import no_exception, wait_for_app

pytestmark = pytest.mark.e2e

TITLES = ["Data", "Profile", "Clean", "Features", "Train", "Compare", "Models", "Predict", "Monitor", "Pipelines"]
# the files Streamlit's automatic menu lists
NOT_PAGES = ["app", "charts", "common", "jobs", "registration", "step editor", "monitor charts", "sign in"]
NAV_LABELS = '[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"] span[label]'


@pytest.fixture
def fresh_app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of its own per test, so its first script run is the one the test makes."""
    home = tmp_path_factory.mktemp("direct_urls_home")
    log_path = tmp_path_factory.mktemp("direct_urls_server") / "streamlit.log"
    with running_app(home, log_path, PIPELINE_STUDIO_JOBS="threads") as url:
        yield url


def open_directly(browser, url: str) -> Page:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(url)
    wait_for_app(page)
    return page


def menu(page: Page) -> list[str]:
    return [label.get_attribute("label") for label in page.locator(NAV_LABELS).all()]


def assert_inside_the_app(page: Page, title: str) -> None:
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
    assert menu(page) == TITLES
    assert not set(menu(page)) & set(NOT_PAGES)
    expect(page.locator('[data-testid="stSidebar"]').get_by_text("DATASET")).to_be_visible()  # app.py's sidebar
    no_exception(page)


def test_pages_opened_by_their_address_show_the_app_menu_from_the_first_request(browser, fresh_app_url, shot):
    page = open_directly(browser, f"{fresh_app_url}/profile")  # the server's first script run
    try:
        assert_inside_the_app(page, "Profile")
        shot(page, "direct_url_first_request_profile")
    finally:
        page.context.close()
    for title in TITLES:
        page = open_directly(browser, f"{fresh_app_url}/{title.lower()}")
        try:
            assert_inside_the_app(page, title)
        finally:
            page.context.close()


def test_a_helper_module_address_opens_the_first_page_with_the_app_menu(browser, fresh_app_url):
    page = open_directly(browser, f"{fresh_app_url}/common")
    try:
        expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible()
        assert menu(page) == TITLES
    finally:
        page.context.close()

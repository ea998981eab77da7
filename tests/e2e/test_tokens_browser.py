"""API tokens in a real browser (issue 19 point 3): Alice makes a token on the API tokens page, sees it once in a box
with a copy button, finds it listed without its secret after "Done", and revokes it; the audit log page (point 4)
then shows her sign-in and both token events."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

import storage
from storage import Store
from studio import accounts
from tests.e2e.conftest import VIEWPORT, running_app
from tests.e2e.ui import arm, click_button, key, no_exception, select_option, shot, sign_in, wait_for_app

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store]]:
    home = tmp_path_factory.mktemp("tokens_home")
    store = Store.at(home)
    accounts.create_user(store, "alice", PASSWORD, admin=True)
    log_path = tmp_path_factory.mktemp("tokens_server") / "streamlit.log"
    with running_app(home, log_path, PIPELINE_STUDIO_AUTH="accounts", PIPELINE_STUDIO_JOBS="threads") as url:
        yield url, store


def test_a_token_is_made_shown_once_listed_and_revoked_in_the_browser(browser, server):
    url, store = server
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"{url}/tokens")
        wait_for_app(page)
        shot(page, "tokens_sign_in")
        sign_in(page, "alice", PASSWORD)
        expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
        page.locator(key("tokens_name")).locator("input").fill("nightly scoring")
        select_option(page, "tokens_role", "editor")
        click_button(page, "tokens_create_submit")
        expect(page.get_by_text("it will not be shown again")).to_be_visible()
        code = page.locator('[data-testid="stCode"]')
        expect(code).to_be_visible()
        secret = code.inner_text().strip()
        [row] = storage.list_api_tokens(store, workspace_id=storage.DEFAULT_WORKSPACE_ID)
        assert secret.startswith("pst_") and row.token_sha256 == hashlib.sha256(secret.encode()).hexdigest()
        no_exception(page)
        shot(page, "tokens_created")

        click_button(page, "tokens_done")
        expect(code).to_have_count(0)
        expect(page.get_by_text(secret)).to_have_count(0)
        # "Done" reruns twice (the click, then st.rerun): until the second run ends, the list's table of the run
        # before can still stand beside the new one, one position further down. Wait for it to go.
        listed = page.locator('[data-testid="stDataFrame"]')
        expect(listed).to_have_count(1)
        expect(listed).to_be_visible()
        shot(page, "tokens_listed")

        click_button(page, "tokens_revoke")
        expect(page.get_by_text("Token nightly scoring is revoked")).to_be_visible()
        assert storage.get_api_token(store, row.id).revoked_by == "alice"
        no_exception(page)
        shot(page, "tokens_revoked")

        arm(page)
        page.get_by_role("link", name="Audit log").click()
        wait_for_app(page, armed=True)
        expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
        table = page.locator('[data-testid="stDataFrame"]')
        expect(table).to_have_count(1)
        expect(table).to_be_visible()
        no_exception(page)
        shot(page, "audit_log")
    finally:
        context.close()

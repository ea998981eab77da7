"""Workspaces in a real browser (issue 19 point 2): two accounts on one server. Bob, signed in, sees none of Alice's
work (not even through an address naming her dataset) until Alice, owner of the workspace holding it, invites him
as a viewer; then he sees it, and loading data there is refused with the role it would take.

The server runs with ``PIPELINE_STUDIO_AUTH=accounts`` on a fresh store: Alice is the first administrator (so she
owns the default workspace, where her dataset is), Bob an ordinary account made the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from pipeline_core.io.samples import load_sample
from storage import Store
from studio import accounts
from tests.apptest import store_frame
from tests.e2e.conftest import VIEWPORT, running_app
from tests.e2e.ui import (
    ERROR,
    RERUN_TIMEOUT_MS,
    click_button,
    key,
    no_exception,
    select_option,
    shot,
    sign_in,
    wait_for_app,
)

PASSWORD = "correct horse battery"
SIDEBAR = '[data-testid="stSidebar"]'
ALICES = "alices_flowers"


@pytest.fixture(scope="module")
def two_accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    home = tmp_path_factory.mktemp("workspaces_home")
    store = Store.at(home)
    accounts.create_user(store, "alice", PASSWORD, admin=True)
    accounts.create_user(store, "bob", PASSWORD)
    dataset_id = store_frame(store, load_sample("iris"), ALICES)  # in the default workspace, which Alice owns
    log_path = tmp_path_factory.mktemp("workspaces_server") / "streamlit.log"
    with running_app(home, log_path, PIPELINE_STUDIO_AUTH="accounts", PIPELINE_STUDIO_JOBS="threads") as url:
        yield url, dataset_id


def _signed_in(browser: Browser, url: str, name: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(url)
    wait_for_app(page)
    sign_in(page, name, PASSWORD)
    expect(page.locator(SIDEBAR).get_by_text(name, exact=True).first).to_be_visible()
    return context, page


def test_a_second_account_sees_nothing_of_the_first_until_invited_then_reads_it_as_a_viewer(browser, two_accounts):
    url, dataset_id = two_accounts
    bob_context, bob = _signed_in(browser, url, "bob")
    alice_context, alice = _signed_in(browser, url, "alice")
    try:
        expect(bob.get_by_text("No dataset yet")).to_be_visible()  # his own new workspace, empty
        expect(bob.locator(key("workspace_picker")).get_by_role("combobox")).to_have_value("bob's workspace (owner)")
        bob.goto(f"{url}/?dataset={dataset_id}")  # her dataset's id, typed into the address
        wait_for_app(bob)
        expect(bob.get_by_text("No dataset yet")).to_be_visible()
        expect(bob.locator(SIDEBAR).get_by_text("none loaded")).to_be_visible()
        expect(bob.get_by_text(ALICES)).to_have_count(0)
        no_exception(bob)
        shot(bob, "workspaces_bob_before")

        alice.goto(f"{url}/?dataset={dataset_id}")
        wait_for_app(alice)
        expect(alice.locator(SIDEBAR).get_by_text(ALICES)).to_be_visible(timeout=RERUN_TIMEOUT_MS)
        members = alice.locator(SIDEBAR).locator("summary", has_text="Members")
        members.click()
        alice.locator(key("member_name")).locator("input").fill("bob")
        click_button(alice, "member_invite")  # the role picker's first choice: viewer
        expect(alice.get_by_text("bob is now viewer.")).to_be_visible()
        members_section = alice.locator(SIDEBAR).locator('[data-testid="stExpander"]', has_text="Members")
        expect(members_section.get_by_text("bob", exact=True)).to_be_visible()  # the admin's Limits lists him too
        shot(alice, "workspaces_alice_invites")

        bob.goto(f"{url}/?dataset={dataset_id}")  # a new session opens his first workspace by name: "Default", hers
        wait_for_app(bob)
        expect(bob.locator(key("workspace_picker")).get_by_role("combobox")).to_have_value("Default (viewer)")
        expect(bob.locator(SIDEBAR).get_by_text(ALICES)).to_be_visible(timeout=RERUN_TIMEOUT_MS)
        select_option(bob, "workspace_picker", "bob's workspace (owner)")  # and back: his own is still empty
        expect(bob.get_by_text("No dataset yet")).to_be_visible()
        select_option(bob, "workspace_picker", "Default (viewer)")
        bob.get_by_role("tab", name="Sample datasets").click()
        click_button(bob, "data_load_sample")
        expect(bob.locator(ERROR)).to_contain_text("bob is a viewer of this workspace and may not upload here")
        no_exception(bob)
        shot(bob, "workspaces_bob_viewer")
    finally:
        bob_context.close()
        alice_context.close()

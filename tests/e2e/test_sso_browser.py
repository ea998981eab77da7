"""Single sign-on in a real browser (issue 19 point 1): Streamlit's ``st.login`` against a real OpenID Connect
provider on loopback (``tests/e2e/oidc_provider.py``), mapped to the studio's own account table.

Carol signs in through the provider and sees the app as ``carol@example.com``, in an empty workspace of her own and
nothing of Alice's until Alice invites her; signing out and in again is the same account.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

import storage
from pipeline_core.io.samples import load_sample
from storage import Store
from studio import accounts
from tests.apptest import store_frame
from tests.e2e.conftest import VIEWPORT, running_app
from tests.e2e.oidc_provider import Person, Provider, RunningProvider
from tests.e2e.ui import click_button, no_exception, shot, wait_for_app

SIDEBAR = '[data-testid="stSidebar"]'
CAROL = Person(subject="00u-carol-7781", email="carol@example.com", name="Carol Example")
MISSING_AUTHLIB = "single sign-on needs Authlib (requirements.txt): pip install -r requirements.txt"


@pytest.fixture(scope="module")
def provider() -> Iterator[RunningProvider]:
    if importlib.util.find_spec("authlib") is None:  # st.login's own dependency
        if os.environ.get("CI") == "true":
            pytest.fail(MISSING_AUTHLIB)
        pytest.skip(MISSING_AUTHLIB)
    with RunningProvider(Provider(client_id="pipeline-studio", client_secret=secrets.token_urlsafe(24),
                                  person=CAROL)) as running:
        yield running


@pytest.fixture(scope="module")
def sso_app(provider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store]]:
    home = tmp_path_factory.mktemp("sso_home")
    store = Store.at(home)
    accounts.create_user(store, "alice", "correct horse battery", admin=True)  # owns the default workspace
    store_frame(store, load_sample("iris"), "iris")  # Alice's work there
    secrets_file = tmp_path_factory.mktemp("sso_secrets") / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        f'client_id = "{provider.provider.client_id}"\n'
        f'client_secret = "{provider.provider.client_secret}"\n'
        f'server_metadata_url = "{provider.metadata_url}"\n')
    log_path = tmp_path_factory.mktemp("sso_server") / "streamlit.log"
    with running_app(home, log_path, options=("--secrets.files", str(secrets_file)),
                     PIPELINE_STUDIO_AUTH="accounts,sso", PIPELINE_STUDIO_SSO_LABEL="Example ID",
                     PIPELINE_STUDIO_JOBS="threads") as url:
        yield url, store


def _after_new_document(page: Page, action: Callable[[], None]) -> None:
    """Do ``action``, then wait until the browser has loaded another document (the provider's redirects end on
    the app's address, which the app then extends with ``?draft=``, so the address alone tells nothing) and its
    first script run is over."""
    page.evaluate("() => { window.__studioOldDocument = true; }")
    action()
    page.wait_for_function("() => window.__studioOldDocument === undefined", timeout=60_000)
    wait_for_app(page)


def _sign_in_with_sso(page: Page) -> None:
    button = page.get_by_role("button", name="Sign in with Example ID")
    expect(button).to_be_visible()
    _after_new_document(page, button.click)  # the provider, Streamlit's callback, then the app again


def _signed_in_as(page: Page, name: str) -> None:
    sidebar = page.locator(SIDEBAR)
    expect(sidebar.get_by_text(name, exact=True).first).to_be_visible()
    expect(sidebar.locator('a[href^="mailto:"]')).to_have_count(0)  # an e-mail name is a name, not a link
    expect(sidebar.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible()
    no_exception(page)


def test_a_provider_identity_signs_in_as_its_own_account_and_sees_nothing_until_invited(browser, provider, sso_app):
    url, store = sso_app
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(url)
        wait_for_app(page)
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.get_by_label("Name")).to_be_visible()  # both methods are offered
        shot(page, "sso_sign_in")

        _sign_in_with_sso(page)
        _signed_in_as(page, "carol@example.com")
        assert provider.provider.authorizations == 1 and provider.provider.tokens_issued == 1
        carol = storage.get_user_by_identity(store, issuer=provider.provider.issuer, subject=CAROL.subject)
        assert (carol.name, carol.is_admin, carol.password_hash) == ("carol@example.com", False, "")
        assert [w.name for w in storage.list_workspaces(store, user_id=carol.id)] == ["carol@example.com's workspace"]
        expect(page.get_by_text("No dataset yet")).to_be_visible()  # Alice's iris is not hers to see
        shot(page, "sso_signed_in")

        page.reload()  # a new Streamlit session: the identity is Streamlit's signed cookie, the account the same
        wait_for_app(page)
        _signed_in_as(page, "carol@example.com")

        _after_new_document(page, lambda: click_button(page, "signout"))
        expect(page.get_by_role("button", name="Sign in with Example ID")).to_be_visible()
        page.reload()  # Streamlit's cookie of who signed in is gone: signed out stays signed out
        wait_for_app(page)
        expect(page.get_by_role("button", name="Sign in with Example ID")).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

        storage.set_member(store, workspace_id=storage.DEFAULT_WORKSPACE_ID, user_id=carol.id, role="viewer")
        _sign_in_with_sso(page)  # the same identity again: the same account, now a viewer of Alice's workspace
        _signed_in_as(page, "carol@example.com")
        assert provider.provider.authorizations == 2
        assert [u.name for u in storage.list_users(store)] == ["alice", "carol@example.com"]
        page.locator(SIDEBAR).get_by_role("combobox").first.click()
        expect(page.get_by_role("option", name="Default (viewer)")).to_be_visible()
    finally:
        context.close()


def test_a_sign_in_older_than_the_session_lifetime_is_refused_and_makes_no_account(browser, provider, sso_app):
    """PIPELINE_STUDIO_SESSION_HOURS (12 here) bounds a single sign-on too: a token issued 13 hours ago, though the
    provider vouches for it, signs nobody in."""
    url, store = sso_app
    own = provider.provider
    person, own.person = own.person, Person(subject="00u-dave-1", email="dave@example.com", name="Dave")
    own.issued_seconds_ago = 13 * 3600
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(url)
        wait_for_app(page)
        issued = own.tokens_issued
        _sign_in_with_sso(page)  # the studio then sends the browser through Streamlit's sign-out
        expect(page.get_by_role("button", name="Sign in with Example ID")).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
        assert own.tokens_issued == issued + 1  # the provider did sign Dave in: the refusal is the studio's
        assert storage.get_user_by_identity(store, issuer=own.issuer, subject="00u-dave-1") is None
    finally:
        own.person, own.issued_seconds_ago = person, 0
        context.close()


def test_the_provider_checks_what_a_provider_must(provider):
    """The test provider refuses a wrong client secret and a reused code, so the journey above proves the real
    exchange happened rather than a lenient stub's."""
    import httpx

    token_url = f"{provider.provider.issuer}/token"
    wrong = httpx.post(token_url, data={"grant_type": "authorization_code", "code": "x", "redirect_uri": "y"},
                       auth=(provider.provider.client_id, "not the secret"))
    assert wrong.status_code == 401
    unknown = httpx.post(token_url, data={"grant_type": "authorization_code", "code": "never issued",
                                          "redirect_uri": "y"},
                         auth=(provider.provider.client_id, provider.provider.client_secret))
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_grant"


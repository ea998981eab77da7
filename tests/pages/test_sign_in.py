"""With PIPELINE_STUDIO_AUTH=accounts the app shows only the sign-in form until someone signs in (AppTest)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from studio import accounts
from tests.apptest import PASSWORD, REPO, TIMEOUT, new_session, sign_in, texts


def test_without_an_account_the_form_says_how_to_create_the_first(accounts_on):
    at = new_session()
    assert not at.exception
    assert "python -m studio users add-admin NAME" in texts(at, "info")
    assert [b.label for b in at.button] == ["Sign in"] and not at.sidebar.button


def test_a_wrong_password_is_refused_and_the_right_one_opens_the_app(accounts_on, store):
    accounts.create_user(store, "alice", PASSWORD, admin=True)
    at = sign_in(new_session(), "alice", "wrong password")
    assert texts(at, "error") == "wrong name or password"
    assert not any(b.key == "signout" for b in at.button)
    at = sign_in(at, "alice", PASSWORD)
    assert not at.exception and not at.error
    assert any(b.key == "signout" for b in at.sidebar.button)
    assert "alice" in " ".join(m.value for m in at.sidebar.markdown)
    at.sidebar.button(key="signout").click().run()
    assert [b.label for b in at.button] == ["Sign in"]


def test_without_the_setting_nobody_signs_in(studio):
    at = new_session()
    assert not at.exception and not any(b.key == "signout" for b in at.button)
    assert "Sign in" not in [b.label for b in at.button]


def test_jobs_and_registry_changes_count_under_the_account_in_every_tab(accounts_on, store):
    """The per-user job cap and the registry's 'by' follow the person, not the browser tab."""
    accounts.create_user(store, "alice", PASSWORD)
    first, second = (sign_in(new_session(), "alice", PASSWORD) for _ in range(2))
    assert first.session_state["owner"] == second.session_state["owner"] == "user:alice"
    assert first.session_state["draft_token"] != second.session_state["draft_token"]  # two tabs, two drafts


def test_the_settings_decide_which_sign_in_methods_are_offered(monkeypatch, studio):
    """accounts: the form only; sso: the provider's button only; accounts,sso: both. Single sign-on without an
    [auth] section in the secrets says what to add instead of offering a button that cannot work."""
    monkeypatch.setenv("PIPELINE_STUDIO_JOBS", "threads")
    monkeypatch.setenv("PIPELINE_STUDIO_AUTH", "sso")
    at = new_session()
    assert not at.exception and not at.text_input
    assert texts(at, "error").startswith("Single sign-on is turned on (PIPELINE_STUDIO_AUTH) but "
                                         ".streamlit/secrets.toml has no [auth] section")

    monkeypatch.setenv("PIPELINE_STUDIO_AUTH", "accounts,sso")
    monkeypatch.setenv("PIPELINE_STUDIO_SSO_LABEL", "Example ID")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "studio", "client_secret": "s", "server_metadata_url": "http://127.0.0.1:1/"}
    at.run()
    assert not at.exception and not at.error
    assert [b.label for b in at.button] == ["Sign in with Example ID", "Sign in"]
    assert [t.key for t in at.text_input] == ["signin_name", "signin_password"]

    monkeypatch.setenv("PIPELINE_STUDIO_SSO_PROVIDER", "okta")
    at.run()
    assert texts(at, "error") == ("PIPELINE_STUDIO_SSO_PROVIDER names [auth.okta], which .streamlit/secrets.toml "
                                  "does not have.")

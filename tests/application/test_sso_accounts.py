"""Single sign-on identities as accounts (issue 19 point 1): keyed by the provider's issuer and subject, named from
the e-mail address, made at the first sign-in with no workspace of anyone else's (real SQLite files)."""

from __future__ import annotations

import pytest

import storage
from studio import accounts
from studio.accounts import AccountError, Identity

ISSUER = "https://id.example.com"
PASSWORD = "a long enough password"


def test_the_first_sign_in_makes_the_account_and_the_next_finds_it(store):
    carol = accounts.sso_account(store, Identity(ISSUER, "00u-1", email="Carol@Example.com", name="Carol"))
    again = accounts.sso_account(store, Identity(ISSUER, "00u-1", email="carol.new@example.com"))
    assert (carol.name, carol.is_admin) == ("carol@example.com", False)
    assert again == carol  # a changed e-mail address is still the same person
    row = storage.get_user_by_name(store, "carol@example.com")
    assert (row.oidc_issuer, row.oidc_subject, row.password_hash) == (ISSUER, "00u-1", "")
    assert storage.list_workspaces(store, user_id=carol.id) == []  # nothing of anyone's until invited


def test_an_identity_never_takes_over_a_built_in_account_or_another_issuers_user(store):
    root = accounts.create_user(store, "root", PASSWORD, admin=True)
    claimed = accounts.sso_account(store, Identity(ISSUER, "42", email="root"))
    elsewhere = accounts.sso_account(store, Identity("https://other.example.org", "42", email="root"))
    assert (claimed.name, elsewhere.name) == ("root-2", "root-3")
    assert len({root.id, claimed.id, elsewhere.id}) == 3 and not claimed.is_admin
    result = accounts.authenticate(store, "root-2", "", policy=accounts.SignInPolicy())
    assert not result.ok  # no password opens an account made by single sign-on
    with pytest.raises(AccountError, match="^'root-2' signs in through single sign-on and has no password here$"):
        accounts.set_password(store, "root-2", PASSWORD)


def test_a_name_is_made_from_the_email_else_the_name_else_the_subject(store):
    assert accounts.display_name(Identity(ISSUER, "s", email="d'arcy+ml@example.com")) == "d-arcy-ml@example.com"
    assert accounts.display_name(Identity(ISSUER, "s", name="Zoë Müller")) == "zoë-müller"
    assert accounts.display_name(Identity(ISSUER, "auth0|123")) == "auth0-123"
    assert accounts.display_name(Identity(ISSUER, "!!!")) == accounts.SSO_FALLBACK_NAME
    assert len(accounts.display_name(Identity(ISSUER, "s", email="x" * 200))) <= accounts.MAX_NAME_LENGTH - 4


def test_a_provider_that_does_not_say_who_signed_in_is_refused(store):
    with pytest.raises(AccountError, match="did not say who signed in"):
        accounts.sso_account(store, Identity(ISSUER, "  "))
    assert storage.list_users(store) == []


def test_a_single_sign_on_is_in_the_audit_log_once_per_browser_session(store):
    carol = accounts.sso_account(store, Identity(ISSUER, "00u-7", email="carol@example.com"), signing_in=True)
    accounts.sso_account(store, Identity(ISSUER, "00u-7", email="carol@example.com"))  # the session's later runs
    rows = storage.list_audit_events(store, workspace_id=None, account_ids=None)
    assert [(r.kind, r.actor, r.user_id, r.detail) for r in rows] == [
        ("sign in", carol.name, carol.id, f"single sign-on ({ISSUER})")]

"""The API tokens page (AppTest, with sign-in): make a token and see it once, list it, revoke it."""

from __future__ import annotations

import hashlib

import pytest
from streamlit.testing.v1 import AppTest

import storage
from studio import accounts, tokens
from studio.roles import Actor
from tests.apptest import PASSWORD, signed_in, texts


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_a_token_is_shown_once_listed_and_revoked(accounts_on, store):
    alice = accounts.create_user(store, "alice", PASSWORD, admin=True)
    at = signed_in("alice", "pages/tokens.py")
    assert not at.exception and [h.value for h in at.header] == ["API tokens"]
    assert at.selectbox(key="tokens_role").options == ["viewer", "editor", "owner"]
    at.text_input(key="tokens_name").input("nightly scoring")
    at.selectbox(key="tokens_role").select("editor")
    at = _button(at, "Create token").click().run()
    assert not at.exception
    [shown] = [code.value for code in at.code]
    [row] = storage.list_api_tokens(store, workspace_id=storage.DEFAULT_WORKSPACE_ID)
    assert shown.startswith("pst_") and row.token_sha256 == hashlib.sha256(shown.encode()).hexdigest()
    assert (row.name, row.role, row.user_id) == ("nightly scoring", "editor", alice.id)
    assert "it will not be shown again" in texts(at, "success")
    table = at.dataframe[0].value
    assert list(table["name"]) == ["nightly scoring"] and list(table["state"]) == ["active"]
    assert shown not in table.to_csv()
    at = _button(at, "Done, I have copied it").click().run()
    assert not at.code and not at.exception

    at = _button(at, "Revoke").click().run()
    assert not at.exception
    assert "Token nightly scoring is revoked" in texts(at, "success")
    assert list(at.dataframe[0].value["state"]) == ["revoked"]
    with pytest.raises(tokens.TokenRefused, match="was revoked"):
        tokens.actor_for_token(store, shown)


def test_a_viewer_may_make_viewer_tokens_only_and_sees_only_their_own(accounts_on, store):
    alice = accounts.create_user(store, "alice", PASSWORD, admin=True)
    vera = accounts.create_user(store, "vera", PASSWORD)
    storage.set_member(store, workspace_id=storage.DEFAULT_WORKSPACE_ID, user_id=vera.id, role="viewer")
    tokens.create_token(store, Actor.account(alice.id, "alice", storage.DEFAULT_WORKSPACE_ID), "alice's", "owner")
    at = signed_in("vera", "pages/tokens.py")
    assert not at.exception
    assert at.selectbox(key="tokens_role").options == ["viewer"]
    assert "You have no tokens in this workspace yet." in texts(at, "info")

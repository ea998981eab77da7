"""The audit log page (AppTest, with sign-in): owners read who did what, with filters; others are told it is owners'."""

from __future__ import annotations

import storage
from studio import accounts, members
from studio.roles import Actor
from tests.apptest import PASSWORD, signed_in, texts


def test_an_owner_reads_the_log_and_filters_it_and_a_viewer_is_told_it_is_owners(accounts_on, store):
    alice = accounts.create_user(store, "alice", PASSWORD, admin=True)
    accounts.create_user(store, "vera", PASSWORD)
    members.set_member(store, Actor.account(alice.id, "alice", storage.DEFAULT_WORKSPACE_ID), "vera", "viewer")
    accounts.sign_in(store, "vera", "not her password", policy=accounts.SignInPolicy())
    at = signed_in("alice", "pages/audit_log.py")
    assert not at.exception and [h.value for h in at.header] == ["Audit log"]
    table = at.dataframe[0].value
    assert list(table["kind"]) == ["sign in", "sign-in refused", "member change"]
    assert list(table["who"]) == ["alice", "vera", "alice"]
    assert table["detail"].iloc[1] == "wrong name or password" and table["target"].iloc[2] == "vera"
    at.multiselect(key="audit_kinds").select("member change").run()
    assert list(at.dataframe[0].value["kind"]) == ["member change"]
    at.multiselect(key="audit_kinds").unselect("member change").run()
    at.selectbox(key="audit_who").select("vera").run()
    assert list(at.dataframe[0].value["who"]) == ["vera"]

    at = signed_in("vera", "pages/audit_log.py")
    assert not at.exception and not at.dataframe
    assert "Only owners of this workspace read its audit log." in texts(at, "info")

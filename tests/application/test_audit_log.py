"""The audit log (issue 19 point 4): sign-ins and refused ones are there, token use is counted per token and minute,
only owners read it (their workspace's entries and their members' sign-ins). That every use case which changes
something leaves an entry naming who did it is checked over the table of use cases in ``test_roles.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import storage
from studio import accounts, audit_log, members, tokens
from studio.roles import AccessDenied, Actor
from tests.application.test_registry_cli import cli

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


def _entries(store: storage.Store) -> list[storage.AuditEvent]:
    return storage.list_audit_events(store, workspace_id=storage.DEFAULT_WORKSPACE_ID, account_ids=None)


def test_sign_ins_and_refused_ones_are_logged_without_the_password(store):
    policy = accounts.SignInPolicy(max_failures=2)
    accounts.create_user(store, "alice", PASSWORD, admin=True)
    assert accounts.sign_in(store, "alice", PASSWORD, policy=policy, now=NOW).ok
    assert not accounts.sign_in(store, "alice", "wrong password 1", policy=policy, now=NOW).ok
    assert not accounts.sign_in(store, "mallory", "guess guess 1", policy=policy, now=NOW).ok
    assert not accounts.sign_in(store, "alice", "wrong password 2", policy=policy, now=NOW).ok  # locks
    rows = list(reversed(_entries(store)))
    assert [(r.kind, r.actor, r.workspace_id, r.detail) for r in rows] == [
        ("sign in", "alice", None, ""),
        ("sign-in refused", "alice", None, "wrong name or password"),
        ("sign-in refused", "mallory", None, "wrong name or password"),
        ("sign-in refused", "alice", None, "too many wrong passwords: this account is locked until 12:15 UTC"),
    ]
    assert rows[2].user_id is None and rows[0].user_id == rows[1].user_id
    database = (store.home / "studio.db").read_bytes()
    assert b"wrong password" not in database and b"guess guess" not in database and PASSWORD.encode() not in database


def test_owners_read_their_workspace_and_their_members_sign_ins_and_nobody_else_reads_it(store):
    policy = accounts.SignInPolicy()
    alice = accounts.create_user(store, "alice", PASSWORD, admin=True)  # owns the default workspace
    bob = accounts.create_user(store, "bob", PASSWORD)
    carol = accounts.create_user(store, "carol", PASSWORD)
    as_alice = Actor.account(alice.id, "alice", storage.DEFAULT_WORKSPACE_ID)
    members.set_member(store, as_alice, "bob", "editor")
    own = members.create_workspace(store, user_id=carol.id, name="Carol's")
    as_carol = Actor.account(carol.id, "carol", own.id)
    members.set_member(store, as_carol, "bob", "owner")
    for name in ("bob", "carol", "nobody"):
        accounts.sign_in(store, name, PASSWORD, policy=policy)

    seen = audit_log.audit_log(store, as_carol)
    assert [(e.kind, e.actor, e.target) for e in reversed(seen)] == [
        ("member change", "carol", "carol"), ("member change", "carol", "bob"),
        ("sign in", "bob", ""), ("sign in", "carol", "")]
    assert "created workspace 'Carol's'" in seen[-1].detail and seen[-2].detail == "not a member -> owner"
    by_alice = audit_log.audit_log(store, as_alice.in_workspace(storage.DEFAULT_WORKSPACE_ID))
    assert {e.actor for e in by_alice} == {"alice", "bob", "carol", "nobody"}  # an administrator: every sign-in
    as_bob = Actor.account(bob.id, "bob", storage.DEFAULT_WORKSPACE_ID)
    with pytest.raises(AccessDenied, match="bob is an editor of this workspace and may not read the audit log"):
        audit_log.audit_log(store, as_bob)
    assert [e.kind for e in audit_log.audit_log(store, as_carol, kinds=("sign in",), who="bob")] == ["sign in"]
    assert audit_log.audit_log(store, as_carol, since=datetime.now(UTC) + timedelta(minutes=1)) == []


def test_token_use_is_one_row_per_token_and_minute_counting_its_requests(store):
    alice = accounts.create_user(store, "alice", PASSWORD, admin=True)
    as_alice = Actor.account(alice.id, "alice", storage.DEFAULT_WORKSPACE_ID)
    made = tokens.create_token(store, as_alice, "ci", "viewer")
    via = tokens.actor_for_token(store, made.token)
    counter = audit_log.TokenUseCounter(store, "scoring service of 'iris' (production)")
    firsts = [counter.used(via, NOW + timedelta(seconds=s)) for s in (0, 10, 20, 59, 60, 61)]
    assert firsts == [True, False, False, False, True, False]
    assert [(r.at, r.count) for r in _entries(store) if r.kind == "token used"] == [
        (NOW + timedelta(minutes=1), 1), (NOW, 4)]  # the first minute's rest was added when the second began
    counter.close()
    used = audit_log.audit_log(store, as_alice, kinds=("token used",))
    assert [(e.count, e.via_token, e.actor, e.target) for e in used] == [
        (2, "ci", "alice", "scoring service of 'iris' (production)"), (4, "ci", "alice",
                                                                        "scoring service of 'iris' (production)")]


def test_the_command_line_shows_the_log_to_owners_and_counts_a_token_s_commands(store, monkeypatch):
    alice = accounts.create_user(store, "alice", PASSWORD, admin=True)
    vera = accounts.create_user(store, "vera", PASSWORD)
    as_alice = Actor.account(alice.id, "alice", storage.DEFAULT_WORKSPACE_ID)
    members.set_member(store, as_alice, "vera", "viewer")
    owner_token = tokens.create_token(store, as_alice, "audit reader", "owner").token
    viewer_token = tokens.create_token(store, Actor.account(vera.id, "vera", storage.DEFAULT_WORKSPACE_ID), "v",
                                       "viewer").token
    shown = cli("studio", "audit", "--since", "1h")
    assert shown.returncode == 0, shown.stderr
    assert "token created" in shown.stdout and "member change" in shown.stdout and "not a member -> viewer" in \
        shown.stdout
    kinds = cli("studio", "audit", "--kind", "member change")
    assert "token created" not in kinds.stdout and "member change" in kinds.stdout
    monkeypatch.setenv("PIPELINE_STUDIO_TOKEN", viewer_token)
    refused = cli("studio", "audit")
    assert refused.returncode != 0 and "may not read the audit log" in refused.stderr
    monkeypatch.setenv("PIPELINE_STUDIO_TOKEN", owner_token)
    as_owner = cli("studio", "audit", "--kind", "token used")
    assert as_owner.returncode == 0, as_owner.stderr
    assert "command line" in as_owner.stdout and "audit reader" in as_owner.stdout and "vera" in as_owner.stdout
    bad = cli("studio", "audit", "--since", "yesterday")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --since 'yesterday'")

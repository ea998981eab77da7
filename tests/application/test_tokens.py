"""API tokens (issue 19 point 3): made with a role up to the maker's, stored hashed, shown once, listed, revoked;
checked on every use by the application layer, the command line and a real scoring service on loopback."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

import storage
from storage import WorkspaceRole
from studio import audit_log, members, registry, tokens
from studio.roles import AccessDenied, Actor, NotFound
from tests.application.test_registry_cli import cli
from tests.serving.conftest import records
from tests.serving.service import CliService

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def people(store) -> dict[str, Actor]:
    """Alice owns the default workspace, Bob is an editor there, Vera a viewer; Zed owns a workspace of his own."""
    made = {}
    for name, role in (("alice", "owner"), ("bob", "editor"), ("vera", "viewer"), ("zed", None)):
        user = storage.add_user(store, name=name, password_hash="not a hash")
        if role:
            storage.set_member(store, workspace_id=storage.DEFAULT_WORKSPACE_ID, user_id=user.id, role=role)
        made[name] = Actor.account(user.id, name, storage.DEFAULT_WORKSPACE_ID)
    own = members.create_workspace(store, user_id=made["zed"].user_id, name="Zed's")
    made["zed"] = made["zed"].in_workspace(own.id)
    return made


def test_a_token_is_stored_only_as_its_sha256_and_shown_once(store, people):
    made = tokens.create_token(store, people["bob"], "nightly scoring", "editor", days=30, now=NOW)
    assert made.token.startswith("pst_") and len(made.token) >= 4 + 43
    with sqlite3.connect(store.home / "studio.db") as db:
        [row] = db.execute("SELECT * FROM api_tokens").fetchall()
        names = [c[0] for c in db.execute("SELECT * FROM api_tokens").description]
    stored = dict(zip(names, row, strict=True))
    assert stored["token_sha256"] == hashlib.sha256(made.token.encode()).hexdigest()
    assert made.token not in {str(v) for v in stored.values()} and stored["prefix"] == made.token[:10]
    assert made.token.encode() not in (store.home / "studio.db").read_bytes()
    assert (stored["name"], stored["role"], stored["workspace_id"]) == ("nightly scoring", "editor", 1)
    [listed] = tokens.list_tokens(store, people["bob"])
    assert (listed.name, listed.owner, listed.role, listed.expires_at) == (
        "nightly scoring", "bob", WorkspaceRole.EDITOR, NOW + timedelta(days=30))
    assert not hasattr(listed, "token") and listed.last_used_at is None


def test_a_token_s_role_is_at_most_its_maker_s_and_a_token_makes_no_tokens(store, people):
    with pytest.raises(tokens.TokenError, match="vera is a viewer of this workspace, so a token of theirs can be at "
                                                "most a viewer's, not an editor's"):
        tokens.create_token(store, people["vera"], "ci", "editor")
    with pytest.raises(tokens.TokenError, match="1 to 80 characters"):
        tokens.create_token(store, people["vera"], "   ", "viewer")
    with pytest.raises(tokens.TokenError, match="1 to 3650 days"):
        tokens.create_token(store, people["vera"], "ci", "viewer", days=0)
    with pytest.raises(NotFound):
        tokens.create_token(store, people["zed"].in_workspace(storage.DEFAULT_WORKSPACE_ID), "ci", "viewer")
    with pytest.raises(tokens.TokenError, match="name the account"):
        tokens.create_token(store, Actor.local(), "ci", "viewer")
    for_bob = tokens.create_token(store, Actor.local(), "ci", "editor", owner="bob")
    assert for_bob.info.owner == "bob"
    with pytest.raises(tokens.TokenError, match="at most an editor's, not an owner's"):
        tokens.create_token(store, Actor.local(), "ci", "owner", owner="bob")
    as_token = tokens.actor_for_token(store, for_bob.token)
    with pytest.raises(tokens.TokenError, match="an API token cannot make API tokens"):
        tokens.create_token(store, as_token, "more", "viewer")


def test_a_token_acts_with_the_lower_of_its_role_and_its_account_s_and_only_in_its_workspace(store, people):
    alice_viewer = tokens.actor_for_token(store, tokens.create_token(store, people["alice"], "read", "viewer").token)
    assert (alice_viewer.name, alice_viewer.workspace_id) == ("alice", storage.DEFAULT_WORKSPACE_ID)
    assert registry.production_versions(alice_viewer) == []  # reading is a viewer's
    with pytest.raises(AccessDenied, match="alice's API token 'read' allows what a viewer does and may not save "
                                           "here: that takes an editor"):
        registry.register_model(alice_viewer, 1, by="alice")
    with pytest.raises(NotFound):
        registry.production_versions(alice_viewer.in_workspace(people["zed"].workspace_id))
    bob_editor = tokens.actor_for_token(store, tokens.create_token(store, people["bob"], "ci", "editor").token)
    members.set_member(store, people["alice"], "bob", "viewer")  # demoting Bob demotes his token at once
    with pytest.raises(AccessDenied, match="bob is a viewer of this workspace and may not save"):
        registry.register_model(bob_editor, 1, by="bob")
    members.remove_member(store, people["alice"], "bob")  # and removing him ends it
    with pytest.raises(NotFound):
        registry.production_versions(bob_editor)


def test_revoked_expired_and_unknown_tokens_are_refused_with_their_reason(store, people):
    made = tokens.create_token(store, people["vera"], "laptop", "viewer", days=1, now=NOW)
    assert tokens.actor_for_token(store, made.token, now=NOW + timedelta(hours=23)).name == "vera"
    expired = r"API token 'laptop' \(pst_[\w-]+…\) expired at 2026-12-06 12:00 UTC"
    with pytest.raises(tokens.TokenRefused, match=expired):
        tokens.actor_for_token(store, made.token, now=NOW + timedelta(days=1))
    with pytest.raises(tokens.TokenRefused, match="not known here"):
        tokens.actor_for_token(store, made.token[:-1] + ("A" if made.token[-1] != "A" else "B"))
    with pytest.raises(tokens.TokenRefused, match="not known here"):
        tokens.actor_for_token(store, "something else entirely")
    forever = tokens.create_token(store, people["vera"], "forever", "viewer")
    tokens.revoke_token(store, people["vera"], forever.info.id, now=NOW)
    with pytest.raises(tokens.TokenRefused, match="'forever' .* was revoked at 2026-12-05 12:00 UTC by vera"):
        tokens.actor_for_token(store, forever.token)


def test_the_owner_of_a_token_and_the_workspace_s_owners_may_revoke_it_and_an_owner_sees_every_token(store, people):
    bobs = tokens.create_token(store, people["bob"], "bob's", "viewer").info
    veras = tokens.create_token(store, people["vera"], "vera's", "viewer").info
    assert [t.name for t in tokens.list_tokens(store, people["vera"])] == ["vera's"]
    assert [t.name for t in tokens.list_tokens(store, people["alice"])] == ["vera's", "bob's"]
    with pytest.raises(AccessDenied, match="vera is a viewer of this workspace and may not manage members"):
        tokens.revoke_token(store, people["vera"], bobs.id)
    with pytest.raises(NotFound, match=f"API token #{bobs.id} was not found in this workspace"):
        tokens.revoke_token(store, people["zed"], bobs.id)
    assert tokens.revoke_token(store, people["alice"], bobs.id, now=NOW).revoked_by == "alice"
    assert tokens.revoke_token(store, people["vera"], veras.id).state() is tokens.TokenState.REVOKED
    assert tokens.revoke_token(store, people["alice"], bobs.id).revoked_at == NOW  # again: the first time is kept


def test_a_real_service_takes_the_workspace_s_tokens_and_refuses_the_others_at_once(store, iris_studio, people,
                                                                                   new_rows, monkeypatch):
    """``python -m studio serve --pipeline`` with sign-in configured, on loopback: every request's token is looked up,
    so a revocation holds from the next request, and last use is recorded."""
    monkeypatch.setenv("PIPELINE_STUDIO_AUTH", "accounts")
    viewer = tokens.create_token(store, people["vera"], "scoring", "viewer")
    editor = tokens.create_token(store, people["bob"], "feedback", "editor")
    elsewhere = tokens.create_token(store, people["zed"], "zed's", "owner")
    expired = tokens.create_token(store, people["alice"], "old", "owner", days=1, now=datetime.now(UTC) - timedelta(
        days=2))
    rows = {"rows": records(pd.read_csv(new_rows).head(3))}
    outcomes = {"outcomes": [{"request_id": "nope", "row_id": 0, "outcome": "setosa"}]}
    served = CliService(None, "--pipeline", "iris", module="studio")
    try:
        assert "an API token is required (except /health)" in served.banner
        anonymous = served.client()
        assert anonymous.get("/health").status == 200
        refused = anonymous.post_json("/predict", rows)
        assert refused.status == 401 and "needs a token" in refused.json()["detail"]
        as_viewer = served.client(viewer.token)
        assert len(as_viewer.post_json("/predict", rows).json()["predictions"]) == 3
        assert as_viewer.get("/schema").status == 200 and as_viewer.get("/metrics").status == 200
        feedback = as_viewer.post_json("/feedback", outcomes)
        assert feedback.status == 403
        assert feedback.json()["detail"] == ("vera's API token 'scoring' allows what a viewer does and may not upload "
                                             "here: that takes an editor (ask one of its owners)")
        assert served.client(editor.token).post_json("/feedback", outcomes).status == 200
        foreign = served.client(elsewhere.token).post_json("/predict", rows)
        assert foreign.status == 403
        assert foreign.json()["detail"] == ("API token 'zed's' is for workspace 'Zed's'; this service serves a "
                                            "pipeline of 'Default'")
        old = served.client(expired.token).post_json("/predict", rows)
        assert old.status == 401 and "API token 'old'" in old.json()["detail"] and "expired at" in old.json()["detail"]
        assert old.headers["www-authenticate"] == "Bearer"
        tokens.revoke_token(store, people["alice"], viewer.info.id)
        revoked = as_viewer.post_json("/predict", rows)  # the same keep-alive connection, the very next request
        assert revoked.status == 401 and "API token 'scoring'" in revoked.json()["detail"]
        assert "was revoked at" in revoked.json()["detail"] and "by alice" in revoked.json()["detail"]
    finally:
        served.stop()
    used = {t.name: t.last_used_at for t in tokens.list_tokens(store, people["alice"])}
    assert used["scoring"] is not None and used["feedback"] is not None and used["old"] is None
    counted: dict[str, int] = {}  # the audit log: per token and minute, the requests it let through
    for entry in audit_log.audit_log(store, people["alice"], kinds=("token used",)):
        counted[entry.via_token] = counted.get(entry.via_token, 0) + entry.count
        assert entry.target == "scoring service of 'iris' (production)"
    assert counted == {"scoring": 3, "feedback": 1}


def test_a_service_started_from_the_models_page_counts_requests_with_its_own_metrics_secret(store, iris_studio, people,
                                                                                         new_rows, monkeypatch):
    """With sign-in every endpoint takes a token, and the page holds none: each service it starts is given a secret
    that reads ``/metrics`` (so the page shows the request count, not "no answer") and does nothing else."""
    from studio import services
    from tests.serving.service import Client

    monkeypatch.setenv("PIPELINE_STUDIO_AUTH", "accounts")
    viewer = tokens.create_token(store, people["vera"], "scoring", "viewer")
    started = services.start_service(people["bob"], "iris", by="bob")
    try:
        assert started.requests == 0
        secret = storage.get_service(store, started.id).metrics_secret
        assert secret.startswith("psm_") and len(secret) >= 4 + 43
        port = int(started.url.rsplit(":", 1)[1])
        rows = {"rows": records(pd.read_csv(new_rows).head(3))}
        assert Client("127.0.0.1", port, viewer.token).post_json("/predict", rows).status == 200
        assert Client("127.0.0.1", port).post_json("/predict", rows).status == 401
        with_secret = Client("127.0.0.1", port, secret)
        assert with_secret.get("/metrics").status == 200
        for refused in (with_secret.post_json("/predict", rows), with_secret.get("/schema")):
            assert refused.status == 403
            assert refused.json()["detail"] == "this service's metrics secret reads /metrics and nothing else"
        # any status counts: one scored, one refused without a token, one refused to the secret
        assert [(s.id, s.requests) for s in services.list_services(people["vera"])] == [(started.id, 3)]
    finally:
        services.stop_service(people["bob"], started.id)


def test_the_command_line_makes_lists_and_revokes_tokens_and_acts_as_a_token_s_account(store, iris_studio, people,
                                                                                       monkeypatch):
    made = cli("studio", "tokens", "create", "--user", "vera", "--name", "ci job", "--role", "viewer", "--days", 7)
    assert made.returncode == 0, made.stderr
    assert "for vera: viewer in workspace #1" in made.stdout and "shown this once" in made.stdout
    token = made.stdout.splitlines()[-1]
    assert token.startswith("pst_") and token.encode() not in (store.home / "studio.db").read_bytes()
    listed = cli("studio", "tokens", "list")
    assert listed.returncode == 0 and "ci job" in listed.stdout and token[:10] in listed.stdout
    assert token not in listed.stdout and "active" in listed.stdout

    monkeypatch.setenv("PIPELINE_STUDIO_TOKEN", token)
    versions = cli("studio", "models", "list", "--pipeline", "iris")
    assert versions.returncode == 0, versions.stderr
    promote = cli("studio", "models", "promote", "--pipeline", "iris", "--version", 2, "--stage", "production",
                  "--why", "x")
    assert promote.returncode != 0 and "Traceback" not in promote.stderr
    assert promote.stderr.strip() == ("error: vera's API token 'ci job' allows what a viewer does and may not promote "
                                      "to production here: that takes an owner (ask one of its owners)")
    more = cli("studio", "tokens", "create", "--name", "more", "--role", "viewer")
    assert more.returncode != 0 and "an API token cannot make API tokens" in more.stderr
    other = cli("studio", "tokens", "list", "--workspace", people["zed"].workspace_id)
    assert other.returncode != 0 and "not the API token's workspace" in other.stderr
    assert tokens.list_tokens(store, people["vera"])[0].last_used_at is not None
    monkeypatch.delenv("PIPELINE_STUDIO_TOKEN")

    [info] = tokens.list_tokens(store, people["vera"])
    revoked = cli("studio", "tokens", "revoke", info.id)
    assert revoked.returncode == 0 and "is revoked" in revoked.stdout
    refused = cli("studio", "--token", token, "models", "list", "--pipeline", "iris")
    assert refused.returncode != 0 and len(refused.stderr.strip().splitlines()) == 1
    assert "API token 'ci job'" in refused.stderr and "was revoked at" in refused.stderr and "local user" in \
        refused.stderr

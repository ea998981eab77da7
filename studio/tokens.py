"""API tokens (issue 19 point 3): a program acts as one account, in one workspace, with one role at most.

A member makes a token for the workspace they act in, with a name, a role no higher than their own there and an
optional expiry. The token (``pst_`` and 43 URL-safe characters: 256 random bits from :mod:`secrets`) is returned
once and never stored: the database keeps its SHA-256 and its first characters (the *prefix*, so a list can tell
tokens apart). A fast hash is right here, unlike for passwords: a password is guessable and needs a slow, salted
hash (argon2) to make each guess expensive, but nobody can guess 256 random bits however fast each try is, so
SHA-256 loses nothing, and it lets a request find its token by one indexed lookup on every call (argon2 would cost
64 MiB and tens of milliseconds per request, and cannot be looked up).

A token is checked on every use (:func:`actor_for_token`), so revoking or expiry takes effect on the next request.
It acts with the lower of its role and its account's current role in the workspace (``studio.roles.role_of``), so
demoting a member demotes their tokens, and removing them ends their tokens. Its owner and the workspace's owners
may revoke it; a revoked token stays listed, saying when and by whom. A program holding a token may use it but
not make more tokens with it (that needs the account's own sign-in), so a leaked token cannot outlive its
revocation.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import storage
from pipeline_core.errors import StudioError
from storage import Store, WorkspaceRole
from studio.audit_log import EventKind, record
from studio.roles import RANK, Action, Actor, NotFound, TokenScope, a_role, require, role_of

TOKEN_PREFIX = "pst_"
PREFIX_LENGTH = len(TOKEN_PREFIX) + 6  # shown in lists: enough to tell tokens apart, far too little to guess one
MAX_NAME_LENGTH = 80
MAX_DAYS = 3650


class TokenError(StudioError):
    """A token cannot be made or revoked as asked (an empty name, a role above the maker's, a bad expiry)."""


class TokenRefused(StudioError):
    """A token that does not sign anyone in: unknown, revoked or expired (a service answers 401 with the reason)."""


class TokenState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class TokenInfo:
    """A token as lists show it: never the token, never its hash."""

    id: int
    name: str
    prefix: str
    owner: str
    workspace_id: int
    role: WorkspaceRole
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None

    def state(self, now: datetime | None = None) -> TokenState:
        if self.revoked_at is not None:
            return TokenState.REVOKED
        if self.expires_at is not None and self.expires_at <= _now(now):
            return TokenState.EXPIRED
        return TokenState.ACTIVE


@dataclass(frozen=True)
class NewToken:
    """A token just made: ``token`` is the secret, shown this once; ``info`` is what the list will show."""

    token: str
    info: TokenInfo


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _info(row: storage.ApiToken, owner: str) -> TokenInfo:
    assert row.id is not None
    return TokenInfo(id=row.id, name=row.name, prefix=row.prefix, owner=owner, workspace_id=row.workspace_id,
                     role=WorkspaceRole(row.role), created_at=row.created_at, expires_at=row.expires_at,
                     last_used_at=row.last_used_at, revoked_at=row.revoked_at, revoked_by=row.revoked_by)


def _names(store: Store) -> dict[int, str]:
    return {user.id: user.name for user in storage.list_users(store) if user.id is not None}


def create_token(store: Store, actor: Actor, name: str, role: WorkspaceRole | str, *, days: int | None = None,
                 owner: str | None = None, now: datetime | None = None) -> NewToken:
    """A new token for the actor's account in the actor's workspace, valid ``days`` days (``None``: until revoked).

    Any member may make one, with a role up to their own. The local user (the server's command line, which owns
    every workspace) has no account of its own, so it names the account the token acts as (``owner``), and the role
    is held to that account's role in the workspace."""
    now = _now(now)
    if actor.scope is not None:
        raise TokenError("an API token cannot make API tokens: sign in to the app (or use the server's command line)")
    require(store, actor, Action.READ)
    role = _role(role)
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise TokenError(f"a token's name is 1 to {MAX_NAME_LENGTH} characters (say what uses it, e.g. 'nightly "
                         "scoring')")
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise TokenError(f"a token expires after 1 to {MAX_DAYS} days, or never; got {days}")
    holder = _holder(store, actor, owner)
    own = role_of(store, holder)
    if own is None:
        raise NotFound(f"{holder.name} is not a member of workspace #{actor.workspace_id}")
    if RANK[role] > RANK[own]:
        raise TokenError(f"{holder.name} is {a_role(own)} of this workspace, so a token of theirs can be at most "
                         f"{a_role(own)}'s, not {a_role(role)}'s")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    assert holder.user_id is not None
    row = storage.add_api_token(store, name=cleaned, prefix=token[:PREFIX_LENGTH], token_sha256=token_sha256(token),
                                user_id=holder.user_id, workspace_id=actor.workspace_id, role=role.value,
                                expires_at=now + timedelta(days=days) if days is not None else None)
    info = _info(row, holder.name)
    record(store, actor, EventKind.TOKEN_CREATED, f"API token #{info.id} '{info.name}' ({info.prefix}…)",
           f"for {holder.name}: {role}, expires {info.expires_at:%Y-%m-%d %H:%M} UTC" if info.expires_at
           else f"for {holder.name}: {role}, never expires")
    return NewToken(token=token, info=info)


def _holder(store: Store, actor: Actor, owner: str | None) -> Actor:
    """Whose token it is: the actor's account, or for the local user the account it names."""
    if actor.user_id is not None:
        if owner is not None and owner.strip() != actor.name:
            raise TokenError(f"{actor.name} may make tokens for their own account only, not for {owner.strip()!r}")
        return actor
    if not owner or not owner.strip():
        raise TokenError("name the account the token acts as (--user NAME): a token acts as an account")
    row = storage.get_user_by_name(store, owner.strip())
    if row is None or row.id is None:
        raise TokenError(f"there is no account named {owner.strip()!r}")
    return Actor.account(row.id, row.name, actor.workspace_id)


def _role(role: WorkspaceRole | str) -> WorkspaceRole:
    try:
        return WorkspaceRole(role)
    except ValueError:
        raise TokenError(f"unknown role {role!r}: choose viewer, editor or owner") from None


def list_tokens(store: Store, actor: Actor) -> list[TokenInfo]:
    """The actor's own tokens in its workspace, newest first; an owner sees every member's."""
    role = require(store, actor, Action.READ)
    everyone = role is WorkspaceRole.OWNER and actor.scope is None
    rows = storage.list_api_tokens(store, workspace_id=actor.workspace_id,
                                   user_id=None if everyone else actor.user_id)
    names = _names(store)
    return [_info(row, names.get(row.user_id, f"account #{row.user_id}")) for row in rows]


def revoke_token(store: Store, actor: Actor, token_id: int, *, now: datetime | None = None) -> TokenInfo:
    """Revoke a token of the actor's workspace: its owner and the workspace's owners may. It is refused from the
    next request on; revoking it again changes nothing."""
    require(store, actor, Action.READ)
    row = storage.get_api_token(store, token_id)
    if row is None or row.workspace_id != actor.workspace_id:
        raise NotFound(f"API token #{token_id} was not found in this workspace")
    if row.user_id != actor.user_id or actor.user_id is None:
        require(store, actor, Action.MANAGE_MEMBERS)  # someone else's token: an owner's to revoke
    revoked = storage.revoke_api_token(store, token_id, by=actor.name, now=_now(now))
    info = _info(revoked, _names(store).get(revoked.user_id, f"account #{revoked.user_id}"))
    record(store, actor, EventKind.TOKEN_REVOKED, f"API token #{info.id} '{info.name}' ({info.prefix}…)",
           f"of {info.owner}")
    return info


def actor_for_token(store: Store, token: str, *, now: datetime | None = None) -> Actor:
    """The actor a token acts as, or :class:`TokenRefused` (one line: unknown, revoked when and by whom, expired
    when). Checked afresh on every call: nothing is cached, so a revocation holds from the next request."""
    now = _now(now)
    row = storage.api_token_by_hash(store, token_sha256(token.strip())) if token.startswith(TOKEN_PREFIX) else None
    if row is None or row.id is None:
        raise TokenRefused("this API token is not known here (check it was copied whole; tokens start with "
                           f"'{TOKEN_PREFIX}')")
    if row.revoked_at is not None:
        raise TokenRefused(f"API token '{row.name}' ({row.prefix}…) was revoked at {row.revoked_at:%Y-%m-%d %H:%M} "
                           f"UTC by {row.revoked_by or 'an owner'}")
    if row.expires_at is not None and row.expires_at <= now:
        raise TokenRefused(f"API token '{row.name}' ({row.prefix}…) expired at {row.expires_at:%Y-%m-%d %H:%M} UTC; "
                           "make a new one")
    user = storage.get_user(store, row.user_id)
    if user is None or user.id is None:
        raise TokenRefused(f"API token '{row.name}' ({row.prefix}…) belongs to an account that no longer exists")
    scope = TokenScope(token_id=row.id, name=row.name, workspace_id=row.workspace_id, role=WorkspaceRole(row.role))
    return Actor(name=user.name, user_id=user.id, workspace_id=row.workspace_id, scope=scope)


def record_use(store: Store, token_id: int, *, now: datetime | None = None) -> None:
    """Note that a token was used (its list's *last used*); callers on a hot path call it once a minute at most."""
    storage.touch_api_token(store, token_id, now=_now(now))

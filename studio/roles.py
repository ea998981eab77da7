"""Who may do what in a workspace (issue 19 point 2): the one place that decides.

Every application-layer function that reads or changes a workspace's things takes an :class:`Actor` (who acts,
in which workspace) and calls :func:`require` with its :class:`Action` before touching anything, so a page, the
CLI and the scoring service get the same answer: there is no other door to the store above ``storage``.

Roles nest: a viewer reads and scores; an editor also uploads, trains and saves; an owner also deletes, promotes to
production and manages members (:data:`MINIMUM_ROLE`). Someone who is not a member of the workspace is told it was
*not found* (:class:`NotFound`), never that it exists; a thing asked for by id that belongs to another workspace is
not found either (:func:`check_same_workspace`), so ids in an address reveal nothing.

The *local user* is whoever runs the studio's processes on this machine: the pages when no sign-in is configured,
the command line, and the scoring services the Models page starts. It owns every workspace (it can read the
database file anyway); without sign-in the pages only ever act in the default workspace, where everything made
before workspaces went, so single-user use is unchanged. With sign-in, pages act as the signed-in account, which may
do what its memberships say and no more.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import storage
from pipeline_core.errors import StudioError
from storage import DEFAULT_WORKSPACE_ID, StorageError, Store, WorkspaceRole

LOCAL_USER = "local user"

__all__ = ["DEFAULT_WORKSPACE_ID", "AccessDenied", "Action", "Actor", "NotFound", "TokenScope", "require"]


class Action(StrEnum):
    READ = "read"
    SCORE = "score"
    UPLOAD = "upload"
    TRAIN = "train"
    SAVE = "save"
    DELETE = "delete"
    PROMOTE = "promote to production"
    MANAGE_MEMBERS = "manage members"
    READ_AUDIT_LOG = "read the audit log"


RANK = {WorkspaceRole.VIEWER: 0, WorkspaceRole.EDITOR: 1, WorkspaceRole.OWNER: 2}
MINIMUM_ROLE: dict[Action, WorkspaceRole] = {
    Action.READ: WorkspaceRole.VIEWER,
    Action.SCORE: WorkspaceRole.VIEWER,
    Action.UPLOAD: WorkspaceRole.EDITOR,
    Action.TRAIN: WorkspaceRole.EDITOR,
    Action.SAVE: WorkspaceRole.EDITOR,
    Action.DELETE: WorkspaceRole.OWNER,
    Action.PROMOTE: WorkspaceRole.OWNER,
    Action.MANAGE_MEMBERS: WorkspaceRole.OWNER,
    Action.READ_AUDIT_LOG: WorkspaceRole.OWNER,
}


class NotFound(StorageError):
    """The workspace, or a thing in it, is not one the actor may know of (or does not exist: the same words).

    A :class:`StorageError`, what a missing row has always raised, so every caller that handles a deleted row (the
    CLI's exit status 2, a page's message) handles a foreign one the same way."""


class AccessDenied(StudioError):
    """A member asked for something their role does not allow; says which role would."""


@dataclass(frozen=True)
class TokenScope:
    """What an API token lets its holder do: act in one workspace with one role at most (``studio.tokens``)."""

    token_id: int
    name: str
    workspace_id: int
    role: WorkspaceRole


@dataclass(frozen=True)
class Actor:
    """Who acts, and in which workspace. ``user_id`` is ``None`` for the local user (no sign-in configured).

    ``scope`` is set when the account acts through an API token: then it acts only in the token's workspace and with
    the lower of the token's role and the account's own role there (so demoting or removing a member demotes or
    ends their tokens at once)."""

    name: str
    user_id: int | None
    workspace_id: int = DEFAULT_WORKSPACE_ID
    scope: TokenScope | None = None

    @classmethod
    def local(cls, workspace_id: int = DEFAULT_WORKSPACE_ID) -> Actor:
        return cls(name=LOCAL_USER, user_id=None, workspace_id=workspace_id)

    @classmethod
    def account(cls, user_id: int, name: str, workspace_id: int) -> Actor:
        return cls(name=name, user_id=user_id, workspace_id=workspace_id)

    def in_workspace(self, workspace_id: int) -> Actor:
        return Actor(name=self.name, user_id=self.user_id, workspace_id=workspace_id, scope=self.scope)


def role_of(store: Store, actor: Actor) -> WorkspaceRole | None:
    """The actor's role in its workspace, ``None`` for a non-member (or a workspace that does not exist); through a
    token, no more than the token's role, and nothing outside the token's workspace."""
    if actor.scope is not None and actor.scope.workspace_id != actor.workspace_id:
        return None
    if actor.user_id is None:
        role = WorkspaceRole.OWNER if storage.get_workspace(store, actor.workspace_id) is not None else None
    else:
        found = storage.role_of(store, user_id=actor.user_id, workspace_id=actor.workspace_id)
        role = WorkspaceRole(found) if found else None
    if role is not None and actor.scope is not None and RANK[actor.scope.role] < RANK[role]:
        return actor.scope.role
    return role


def allows(role: WorkspaceRole | None, action: Action) -> bool:
    return role is not None and RANK[role] >= RANK[MINIMUM_ROLE[action]]


def require(store: Store, actor: Actor, action: Action) -> WorkspaceRole:
    """The actor's role, if it allows ``action`` in the actor's workspace; else :class:`NotFound` (not a member) or
    :class:`AccessDenied` (one line: what was refused and which role would allow it)."""
    role = role_of(store, actor)
    if role is None:
        raise NotFound(f"workspace #{actor.workspace_id} was not found among {actor.name}'s workspaces")
    if not allows(role, action):
        who = f"{actor.name} is {a_role(role)} of this workspace"
        if actor.scope is not None and actor.scope.role == role:
            who = f"{actor.name}'s API token '{actor.scope.name}' allows what {a_role(role)} does"
        raise AccessDenied(f"{who} and may not {action} here: that takes {a_role(MINIMUM_ROLE[action])} (ask one of "
                           "its owners)")
    return role


def a_role(role: WorkspaceRole) -> str:
    return f"an {role}" if role[0] in "aeiou" else f"a {role}"


def check_same_workspace(actor: Actor, what: str, key: object, workspace_id: int | None) -> None:
    """Raise :class:`NotFound` for a thing of another workspace, in the words used for one that does not exist."""
    if workspace_id != actor.workspace_id:
        raise NotFound(f"{what} {key} was not found in this workspace")

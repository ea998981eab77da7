"""Workspaces and their members, as the picker and the members section use them (issue 19 point 2).

Owners invite an account by name with a role, change a role, or remove a member; every member may see who else is
in. A workspace always keeps an owner: the last one cannot be removed or demoted, so nobody is locked out of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import storage
from pipeline_core.errors import StudioError
from storage import DEFAULT_WORKSPACE_ID, Store, WorkspaceRole
from studio.audit_log import EventKind, record
from studio.roles import Action, Actor, require


class MembershipError(StudioError):
    """A change of members that cannot be made as asked (an unknown account, the last owner)."""


@dataclass(frozen=True)
class WorkspaceChoice:
    """A workspace the user may open, with their role in it."""

    id: int
    name: str
    role: WorkspaceRole


@dataclass(frozen=True)
class Member:
    name: str
    role: WorkspaceRole


def workspaces_of(store: Store, user_id: int | None) -> list[WorkspaceChoice]:
    """The workspaces an account is a member of, by name; the local user (``None``) has the default one."""
    if user_id is None:
        default = storage.get_workspace(store, DEFAULT_WORKSPACE_ID)
        return [WorkspaceChoice(DEFAULT_WORKSPACE_ID, default.name if default else "Default", WorkspaceRole.OWNER)]
    return [WorkspaceChoice(row.id, row.name, WorkspaceRole(role))
            for row in storage.list_workspaces(store, user_id=user_id) if row.id is not None
            if (role := storage.role_of(store, user_id=user_id, workspace_id=row.id))]


def ensure_workspace(store: Store, user_id: int, name: str) -> list[WorkspaceChoice]:
    """The account's workspaces; one that belongs to none yet first gets its own ("<name>'s workspace"), so a new
    account signs in to an empty space of its own instead of to nothing, and sees others' work only once invited."""
    choices = workspaces_of(store, user_id)
    if choices:
        return choices
    taken = {row.name for row in storage.list_workspaces(store)}
    wanted = next(candidate for n in range(1, 1000)
                  if (candidate := f"{name}'s workspace" + (f" ({n})" if n > 1 else "")) not in taken)
    return [create_workspace(store, user_id=user_id, name=wanted)]


def create_workspace(store: Store, *, user_id: int, name: str) -> WorkspaceChoice:
    """A new workspace named ``name``, its creator its owner (any signed-in account may make one)."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 80:
        raise MembershipError("a workspace name is 1 to 80 characters")
    row = storage.create_workspace(store, name=cleaned, owner_id=user_id)
    assert row.id is not None
    creator = storage.get_user(store, user_id)
    record(store, Actor.account(user_id, creator.name if creator else f"account #{user_id}", row.id),
           EventKind.MEMBER_CHANGE, creator.name if creator else f"account #{user_id}",
           f"created workspace '{row.name}' -> owner")
    return WorkspaceChoice(row.id, row.name, WorkspaceRole.OWNER)


def members(store: Store, actor: Actor) -> list[Member]:
    """Who is in the actor's workspace, by name (any member may see it)."""
    require(store, actor, Action.READ)
    return [Member(user.name, WorkspaceRole(role)) for user, role in storage.list_members(store, actor.workspace_id)]


def set_member(store: Store, actor: Actor, name: str, role: WorkspaceRole | str) -> Member:
    """Invite the account ``name`` with ``role``, or change its role; only owners may."""
    require(store, actor, Action.MANAGE_MEMBERS)
    role = _role(role)
    user = _user(store, name)
    current = storage.role_of(store, user_id=user.id, workspace_id=actor.workspace_id)
    if current == WorkspaceRole.OWNER and role is not WorkspaceRole.OWNER:
        _keep_an_owner(store, actor, user.name)
    storage.set_member(store, workspace_id=actor.workspace_id, user_id=user.id, role=role.value)
    record(store, actor, EventKind.MEMBER_CHANGE, user.name, f"{current or 'not a member'} -> {role}")
    return Member(user.name, role)


def remove_member(store: Store, actor: Actor, name: str) -> None:
    """Remove the account ``name`` from the actor's workspace; only owners may."""
    require(store, actor, Action.MANAGE_MEMBERS)
    user = _user(store, name)
    current = storage.role_of(store, user_id=user.id, workspace_id=actor.workspace_id)
    if current is None:
        raise MembershipError(f"{user.name} is not a member of this workspace")
    if current == WorkspaceRole.OWNER:
        _keep_an_owner(store, actor, user.name)
    storage.remove_member(store, workspace_id=actor.workspace_id, user_id=user.id)
    record(store, actor, EventKind.MEMBER_CHANGE, user.name, f"{current} -> removed")


def _role(role: WorkspaceRole | str) -> WorkspaceRole:
    try:
        return WorkspaceRole(role)
    except ValueError:
        raise MembershipError(f"unknown role {role!r}: choose viewer, editor or owner") from None


def _user(store: Store, name: str) -> storage.User:
    row = storage.get_user_by_name(store, name.strip())
    if row is None or row.id is None:
        raise MembershipError(f"there is no account named {name.strip()!r}; an administrator creates accounts")
    return row


def _keep_an_owner(store: Store, actor: Actor, name: str) -> None:
    if storage.count_owners(store, actor.workspace_id) <= 1:
        raise MembershipError(f"{name} is the workspace's only owner: make someone else owner first")

"""Workspaces and their members: rows only. What a role allows is the application's (``studio.roles``).

A workspace's name is unique; an account holds at most one role per workspace. The default workspace (id
:data:`~storage.models.DEFAULT_WORKSPACE_ID`) is made by migration 0014 and holds everything from before workspaces.
"""

from __future__ import annotations

from sqlmodel import Session, col, delete, select

from storage.db import read, write
from storage.errors import StorageError
from storage.models import DEFAULT_WORKSPACE_ID, Membership, User, Workspace, WorkspaceRole
from storage.store import Store

ROLES = tuple(role.value for role in WorkspaceRole)


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise StorageError(f"Unknown role {role!r}; a member is one of {', '.join(ROLES)}.")
    return role


def create_workspace(store: Store, *, name: str, owner_id: int | None) -> Workspace:
    """A new workspace named ``name`` (unique) with ``owner_id`` as its owner when given, in one transaction."""

    def work(session: Session) -> Workspace:
        if session.exec(select(Workspace.id).where(Workspace.name == name)).first() is not None:
            raise StorageError(f"There is already a workspace named {name!r}.")
        row = Workspace(name=name)
        session.add(row)
        session.flush()
        if owner_id is not None:
            session.add(Membership(workspace_id=row.id, user_id=owner_id, role=WorkspaceRole.OWNER.value))
            session.flush()
        return row

    return write(store, work)


def get_workspace(store: Store, workspace_id: int) -> Workspace | None:
    return read(store, lambda session: session.get(Workspace, workspace_id))


def list_workspaces(store: Store, *, user_id: int | None = None) -> list[Workspace]:
    """Every workspace by name, or only those ``user_id`` is a member of."""
    query = select(Workspace)
    if user_id is not None:
        query = query.join(Membership, col(Membership.workspace_id) == col(Workspace.id)).where(
            Membership.user_id == user_id)
    return read(store, lambda session: list(session.exec(query.order_by(col(Workspace.name)))))


def role_of(store: Store, *, user_id: int, workspace_id: int) -> str | None:
    """The role ``user_id`` holds in ``workspace_id``, or ``None`` for a non-member (or no such workspace)."""
    query = select(Membership.role).where(Membership.user_id == user_id, Membership.workspace_id == workspace_id)
    return read(store, lambda session: session.exec(query).first())


def list_members(store: Store, workspace_id: int) -> list[tuple[User, str]]:
    """The workspace's members with their roles, by name."""
    query = (select(User, Membership.role).join(Membership, col(Membership.user_id) == col(User.id))
             .where(Membership.workspace_id == workspace_id).order_by(col(User.name)))
    return read(store, lambda session: [(user, role) for user, role in session.exec(query)])


def set_member(store: Store, *, workspace_id: int, user_id: int, role: str) -> Membership:
    """Make ``user_id`` a member of ``workspace_id`` with ``role``, or change the role of a member."""
    _check_role(role)

    def work(session: Session) -> Membership:
        if session.get(Workspace, workspace_id) is None:
            raise StorageError(f"Workspace #{workspace_id} does not exist.")
        query = select(Membership).where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
        row = session.exec(query).first() or Membership(workspace_id=workspace_id, user_id=user_id, role=role)
        row.role = role
        session.add(row)
        session.flush()
        return row

    return write(store, work, retry_conflicts=True)


def remove_member(store: Store, *, workspace_id: int, user_id: int) -> bool:
    """End a membership; ``False`` when there was none."""

    def work(session: Session) -> bool:
        result = session.exec(delete(Membership).where(col(Membership.workspace_id) == workspace_id,
                                                       col(Membership.user_id) == user_id))
        return bool(result.rowcount)

    return write(store, work)


def count_owners(store: Store, workspace_id: int) -> int:
    query = select(Membership.id).where(Membership.workspace_id == workspace_id,
                                        Membership.role == WorkspaceRole.OWNER.value)
    return read(store, lambda session: len(session.exec(query).all()))


def adopt_default_workspace(store: Store, user_id: int) -> bool:
    """Make ``user_id`` owner of the default workspace if it has no owner yet: the first administrator created after
    migration 0014 takes over what the local user worked on, as one created before it did. ``True`` if it did."""

    def work(session: Session) -> bool:
        owners = select(Membership.id).where(Membership.workspace_id == DEFAULT_WORKSPACE_ID,
                                             Membership.role == WorkspaceRole.OWNER.value)
        if session.exec(owners).first() is not None:
            return False
        existing = session.exec(select(Membership).where(Membership.workspace_id == DEFAULT_WORKSPACE_ID,
                                                         Membership.user_id == user_id)).first()
        row = existing or Membership(workspace_id=DEFAULT_WORKSPACE_ID, user_id=user_id, role="")
        row.role = WorkspaceRole.OWNER.value
        session.add(row)
        session.flush()
        return True

    return write(store, work)

"""The audit log's rows. What counts as an event, who may read which, and the wording are the application's
(``studio.audit_log``); this layer adds rows, counts token use per minute and reads with filters.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlmodel import Session, col, or_, select

from storage.db import read, write
from storage.models import AuditEvent
from storage.store import Store

TOKEN_USED = "token used"


def add_audit_event(store: Store, *, kind: str, actor: str, user_id: int | None, workspace_id: int | None,
                    target: str = "", detail: str = "", token_id: int | None = None,
                    at: datetime | None = None) -> AuditEvent:
    def work(session: Session) -> AuditEvent:
        row = AuditEvent(kind=kind, actor=actor, user_id=user_id, workspace_id=workspace_id, target=target,
                         detail=detail, token_id=token_id)
        if at is not None:
            row.at = at
        session.add(row)
        session.flush()
        return row

    return write(store, work)


def count_token_use(store: Store, *, token_id: int, minute: datetime, requests: int, actor: str, user_id: int,
                    workspace_id: int, target: str, detail: str = "") -> AuditEvent:
    """Add ``requests`` to the token's row for ``minute`` (made on the minute's first use), in one transaction."""

    def work(session: Session) -> AuditEvent:
        row = session.exec(select(AuditEvent).where(AuditEvent.kind == TOKEN_USED, AuditEvent.token_id == token_id,
                                                    AuditEvent.at == minute)).first()
        if row is None:
            row = AuditEvent(kind=TOKEN_USED, actor=actor, user_id=user_id, workspace_id=workspace_id,
                             target=target, detail=detail, token_id=token_id, at=minute, count=0)
        row.count += requests
        session.add(row)
        session.flush()
        return row

    return write(store, work)


def list_audit_events(store: Store, *, workspace_id: int | None, account_ids: Collection[int] | None = (),
                      since: datetime | None = None, until: datetime | None = None,
                      kinds: Collection[str] = (), actor: str | None = None, limit: int = 1000) -> list[AuditEvent]:
    """Newest first: the events of ``workspace_id``, plus account events (no workspace) of ``account_ids`` (``None``:
    of everyone, unknown names included), within the window and filters."""
    places = [] if workspace_id is None else [AuditEvent.workspace_id == workspace_id]
    if account_ids is None:
        places.append(col(AuditEvent.workspace_id).is_(None))
    elif account_ids:
        places.append(col(AuditEvent.workspace_id).is_(None) & col(AuditEvent.user_id).in_(list(account_ids)))
    query = select(AuditEvent).where(or_(*places)) if places else select(AuditEvent)
    if since is not None:
        query = query.where(col(AuditEvent.at) >= since)
    if until is not None:
        query = query.where(col(AuditEvent.at) < until)
    if kinds:
        query = query.where(col(AuditEvent.kind).in_(list(kinds)))
    if actor:
        query = query.where(AuditEvent.actor == actor)
    query = query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()).limit(limit)
    return read(store, lambda session: list(session.exec(query)))

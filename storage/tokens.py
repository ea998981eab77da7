"""API tokens: rows only. Making, hashing and checking a token, and who may see or revoke it, are the application's
(``studio.tokens``), which passes ``now`` in so tests move time instead of waiting.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select, update

from storage.db import read, write
from storage.errors import StorageError
from storage.models import ApiToken
from storage.store import Store


def add_api_token(store: Store, *, name: str, prefix: str, token_sha256: str, user_id: int, workspace_id: int,
                  role: str, expires_at: datetime | None) -> ApiToken:
    """Record a new token by its hash."""

    def work(session: Session) -> ApiToken:
        row = ApiToken(name=name, prefix=prefix, token_sha256=token_sha256, user_id=user_id,
                       workspace_id=workspace_id, role=role, expires_at=expires_at)
        session.add(row)
        session.flush()
        return row

    return write(store, work)


def api_token_by_hash(store: Store, token_sha256: str) -> ApiToken | None:
    """The token with this hash, revoked and expired ones included (the caller says which refusal applies)."""
    return read(store, lambda session: session.exec(
        select(ApiToken).where(ApiToken.token_sha256 == token_sha256)).first())


def get_api_token(store: Store, token_id: int) -> ApiToken | None:
    return read(store, lambda session: session.get(ApiToken, token_id))


def list_api_tokens(store: Store, *, workspace_id: int, user_id: int | None = None) -> list[ApiToken]:
    """A workspace's tokens (or only ``user_id``'s there), newest first, revoked ones included."""
    query = select(ApiToken).where(ApiToken.workspace_id == workspace_id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return read(store, lambda session: list(session.exec(query.order_by(col(ApiToken.id).desc()))))


def revoke_api_token(store: Store, token_id: int, *, by: str, now: datetime) -> ApiToken:
    """Mark a token revoked (once: revoking it again keeps the first time and name)."""

    def work(session: Session) -> ApiToken:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise StorageError(f"API token #{token_id} does not exist.")
        if row.revoked_at is None:
            row.revoked_at, row.revoked_by = now, by
            session.add(row)
            session.flush()
        return row

    return write(store, work)


def touch_api_token(store: Store, token_id: int, *, now: datetime) -> None:
    """Record that a token was used at ``now`` (never moving the time back)."""

    def work(session: Session) -> None:
        session.exec(update(ApiToken).where(col(ApiToken.id) == token_id)
                     .where((col(ApiToken.last_used_at).is_(None)) | (col(ApiToken.last_used_at) < now))
                     .values(last_used_at=now))

    write(store, work)

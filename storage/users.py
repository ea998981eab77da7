"""Built-in accounts and their sessions: rows only. Hashing, policy and the clock are the application's
(``studio.accounts``), which passes ``now`` in so tests control time.

A failed sign-in and the lockout it may trigger are one write transaction, so two wrong passwords racing
each other are both counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, func, select

from storage.db import read, write
from storage.errors import StorageError
from storage.models import User, UserSession
from storage.store import Store


def add_user(store: Store, *, name: str, password_hash: str, is_admin: bool = False) -> User:
    """A new account; a taken name raises :class:`StorageError` saying so."""

    def work(session: Session) -> User:
        if session.exec(select(User.id).where(User.name == name)).first() is not None:
            raise StorageError(f"There is already an account named {name!r}.")
        row = User(name=name, password_hash=password_hash, is_admin=is_admin)
        session.add(row)
        session.flush()
        return row

    return write(store, work)


def get_user_by_name(store: Store, name: str) -> User | None:
    return read(store, lambda session: session.exec(select(User).where(User.name == name)).first())


def get_user(store: Store, user_id: int) -> User | None:
    return read(store, lambda session: session.get(User, user_id))


def list_users(store: Store) -> list[User]:
    """Every account, by name."""
    return read(store, lambda session: list(session.exec(select(User).order_by(col(User.name))).all()))


def replace_password_hash(store: Store, user_id: int, *, password_hash: str) -> User:
    """A new password: the hash is replaced, the lockout cleared and every session of the account ended, at once."""

    def work(session: Session) -> User:
        row = _user(session, user_id)
        row.password_hash, row.failed_sign_ins, row.locked_until = password_hash, 0, None
        session.add(row)
        session.exec(delete(UserSession).where(col(UserSession.user_id) == user_id))
        session.flush()
        return row

    return write(store, work)


def count_users(store: Store, *, admins_only: bool = False) -> int:
    query = select(func.count()).select_from(User)
    if admins_only:
        query = query.where(col(User.is_admin))
    return read(store, lambda session: int(session.exec(query).one()))


def record_failed_sign_in(store: Store, user_id: int, *, now: datetime, max_failures: int,
                          lockout: timedelta) -> User:
    """Count a wrong password; the ``max_failures``-th locks the account until ``now + lockout`` (and the count
    starts again from zero, so the account is not locked anew by its next mistake after the period)."""

    def work(session: Session) -> User:
        row = _user(session, user_id)
        row.failed_sign_ins += 1
        if row.failed_sign_ins >= max_failures:
            row.failed_sign_ins, row.locked_until = 0, now + lockout
        session.add(row)
        session.flush()
        return row

    return write(store, work)


def record_sign_in(store: Store, user_id: int, *, password_hash: str | None = None) -> User:
    """A successful sign-in: the failure count and lock are cleared; ``password_hash`` replaces an outdated hash."""

    def work(session: Session) -> User:
        row = _user(session, user_id)
        row.failed_sign_ins, row.locked_until = 0, None
        if password_hash is not None:
            row.password_hash = password_hash
        session.add(row)
        session.flush()
        return row

    return write(store, work)


def add_user_session(store: Store, *, user_id: int, token_sha256: str, expires_at: datetime,
                     now: datetime) -> UserSession:
    """Record a signed-in browser; sessions that expired before ``now`` are deleted on the way (no sweeper)."""

    def work(session: Session) -> UserSession:
        session.exec(delete(UserSession).where(col(UserSession.expires_at) <= now))
        row = UserSession(user_id=user_id, token_sha256=token_sha256, expires_at=expires_at)
        session.add(row)
        session.flush()
        return row

    return write(store, work)


def session_user(store: Store, token_sha256: str, *, now: datetime) -> User | None:
    """The account of an unexpired session with this token hash, else ``None``."""
    query = (select(User).join(UserSession, col(UserSession.user_id) == col(User.id))
             .where(UserSession.token_sha256 == token_sha256, col(UserSession.expires_at) > now))
    return read(store, lambda session: session.exec(query).first())


def delete_user_session(store: Store, token_sha256: str) -> bool:
    """End a session; ``False`` when there was none (already signed out or expired and swept)."""

    def work(session: Session) -> bool:
        result = session.exec(delete(UserSession).where(col(UserSession.token_sha256) == token_sha256))
        return bool(result.rowcount)

    return write(store, work)


def _user(session: Session, user_id: int) -> User:
    row = session.get(User, user_id)
    if row is None:
        raise StorageError(f"Account #{user_id} does not exist.")
    return row


def set_user_limits(store: Store, user_id: int, *, max_jobs: int | None, max_storage_bytes: int | None) -> User:
    """Replace the account's limits (``None``: the server's default for that one)."""

    def work(session: Session) -> User:
        row = _user(session, user_id)
        row.max_jobs, row.max_storage_bytes = max_jobs, max_storage_bytes
        session.add(row)
        session.flush()
        return row

    return write(store, work)


def get_user_by_identity(store: Store, *, issuer: str, subject: str) -> User | None:
    """The account a single sign-on identity is, if it signed in before."""
    query = select(User).where(User.oidc_issuer == issuer, User.oidc_subject == subject)
    return read(store, lambda session: session.exec(query).first())


def add_identity_user(store: Store, *, issuer: str, subject: str, name: str) -> User:
    """The account of a single sign-on identity, made on its first sign-in with ``name`` (or ``name-2``, ``-3``… when
    taken: a built-in account's name is never given to, nor taken over by, someone else). Two first sign-ins at once
    make one account."""

    def work(session: Session) -> User:
        query = select(User).where(User.oidc_issuer == issuer, User.oidc_subject == subject)
        if (row := session.exec(query).first()) is not None:
            return row
        taken = set(session.exec(select(User.name).where(col(User.name).startswith(name))).all())
        free = next(candidate for n in range(1, len(taken) + 2)
                    if (candidate := name if n == 1 else f"{name}-{n}") not in taken)
        row = User(name=free, password_hash="", oidc_issuer=issuer, oidc_subject=subject)
        session.add(row)
        session.flush()
        return row

    return write(store, work, retry_conflicts=True)

"""The one engine factory, schema migrations, and short read/write transactions.

The database is the one of the :class:`~storage.store.Store` a call is given; engines are cached
per URL, so every store on one database shares one pool.
SQLite is tuned for a web app with a background trainer writing at the same time:
WAL (readers never block the writer), a 30 s busy timeout, foreign keys on, and
``BEGIN IMMEDIATE`` for every write transaction so two writers queue up at the start
instead of failing half-way with "database is locked" when one upgrades its read lock.
Reads use a plain deferred ``BEGIN``. A write that still meets a lock is retried.

Callers never hold a session: :func:`read` and :func:`write` open one on the store's database, run a
small function in it and close it, returning detached objects (``expire_on_commit=False``).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from storage.errors import StorageError
from storage.store import Store

SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE_ATTEMPTS = 5
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_BEGIN_OPTION = "sqlite_begin"

T = TypeVar("T")

_engines: dict[str, Engine] = {}
_lock = threading.RLock()


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from the sqlite3 module; _on_sqlite_begin emits it ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _on_sqlite_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
    if mode not in ("IMMEDIATE", "DEFERRED"):
        raise ValueError(f"unknown SQLite BEGIN mode {mode!r}")
    connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str) -> Engine:
    """A new engine with the SQLite settings above; most callers want the cached :func:`get_engine`."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, pool_size=10)
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` in one transaction (serialised between processes)."""
    config = _alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as e:
        raise StorageError(f"Could not prepare the database {safe_url(str(engine.url))}: {e.orig}") from e


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (``None`` for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def get_engine(url: str) -> Engine:
    """The cached engine for ``url``, migrated to head on first use (one pool per database, not per store)."""
    key = url
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = make_engine(key)
            try:
                upgrade(engine)
            except BaseException:
                engine.dispose()
                raise
            _engines[key] = engine
        return engine




def reset_engines() -> None:
    """Dispose cached engines, so the next call migrates afresh; tests call this between databases."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _is_locked(error: OperationalError) -> bool:
    message = str(error.orig).lower()
    return "database is locked" in message or "database is busy" in message


def _backoff(attempt: int) -> None:
    time.sleep(0.05 * 2**attempt * (1 + random.random()))


def write(store: Store, work: Callable[[Session], T], *, retry_conflicts: bool = False) -> T:
    """Run ``work`` in one write transaction on ``store``'s database and commit; retried when the database is locked.

    ``work`` must be safe to run again: it re-reads what it needs inside the session. With
    ``retry_conflicts`` a unique-key clash (two processes creating the same row at once) is
    retried too, so ``work`` finds the other writer's row the second time.
    """
    engine = get_engine(store.url)
    for attempt in range(WRITE_ATTEMPTS):
        last = attempt == WRITE_ATTEMPTS - 1
        try:
            with Session(engine, expire_on_commit=False) as session:
                result = work(session)
                session.commit()
                return result
        except OperationalError as e:
            if not _is_locked(e) or last:
                raise StorageError(f"Could not write to the database {safe_url(str(engine.url))}: {e.orig}."
                                   f"{_write_advice(str(e.orig))}") from e
        except IntegrityError as e:
            if not retry_conflicts or last:
                raise StorageError(f"The change conflicts with data already saved: {e.orig}") from e
        _backoff(attempt)
    raise AssertionError("unreachable")


def _write_advice(reason: str) -> str:
    """What to do about a failed write, for the causes a user can fix (disk full, read-only store)."""
    lowered = reason.lower()
    if "full" in lowered or "no space" in lowered or "too large" in lowered:
        advice = "The disk holding the studio data is full: free some space, then try again."
    elif "read-only" in lowered or "readonly" in lowered or "permission denied" in lowered:
        advice = ("The studio data is read-only here: make the data directory and database writable for the "
                  "server, then try again.")
    else:
        return ""
    return f" {advice} Nothing was saved; everything saved before is intact."


def read(store: Store, work: Callable[[Session], T]) -> T:
    """Run ``work`` in a read-only (deferred) transaction on ``store``'s database; returned rows stay readable."""
    engine = get_engine(store.url).execution_options(**{_BEGIN_OPTION: "DEFERRED"})
    for attempt in range(WRITE_ATTEMPTS):
        try:
            with Session(engine, expire_on_commit=False) as session:
                return work(session)
        except OperationalError as e:
            if not _is_locked(e) or attempt == WRITE_ATTEMPTS - 1:
                raise StorageError(f"Could not read the database {safe_url(str(engine.url))}: {e.orig}") from e
        _backoff(attempt)
    raise AssertionError("unreachable")


def lock_key(session: Session, key: str) -> None:
    """Serialise writers touching the same stored file on PostgreSQL (SQLite's BEGIN IMMEDIATE already does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})

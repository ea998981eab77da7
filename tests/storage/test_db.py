from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

import storage
from storage import StorageError, Store
from storage.db import get_engine, make_engine
from tests.storage.helpers import PG_ENV, PG_SKIP_REASON


def test_default_database_is_a_sqlite_file_in_the_studio_home(sqlite_store: Store, sqlite_studio: Path) -> None:
    assert not sqlite_studio.exists()
    assert sqlite_store.url == f"sqlite:///{sqlite_studio / 'studio.db'}"
    storage.list_pipelines(sqlite_store)
    assert (sqlite_studio / "studio.db").is_file()
    assert sqlite_store.home == sqlite_studio


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(sqlite_store: Store) -> None:
    with storage.get_engine(sqlite_store.url).connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000}


def test_a_store_url_wins_over_the_home_file_and_engines_are_cached_per_url(
    sqlite_studio: Path, tmp_path: Path
) -> None:
    other = tmp_path / "elsewhere" / "team.db"
    store = Store.at(sqlite_studio, f"sqlite:///{other}")
    storage.save_pipeline_version(store, name="p", definition={})
    assert other.is_file() and not (sqlite_studio / "studio.db").exists()
    assert get_engine(store.url) is get_engine(Store.at(tmp_path, store.url).url)  # one pool per database
    storage.reset_engines()
    assert get_engine(store.url) is not None


def test_init_db_prepares_the_database_the_store_names(sqlite_studio: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'chosen.db'}"
    store = Store.at(sqlite_studio, url)
    assert storage.init_db(store) == 0
    storage.save_pipeline_version(store, name="p", definition={})
    assert store.url == url
    with sqlite3.connect(tmp_path / "chosen.db") as connection:
        assert connection.execute("SELECT name FROM pipelines").fetchall() == [("p",)]


def test_write_transactions_take_the_write_lock_at_begin(sqlite_store: Store, sqlite_studio: Path) -> None:
    """BEGIN IMMEDIATE: a second writer is told at once, not after it has done half its work."""
    engine = storage.get_engine(sqlite_store.url)
    with engine.connect() as connection:
        connection.begin()
        connection.execute(text("SELECT 1"))
        other = sqlite3.connect(sqlite_studio / "studio.db", timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
        connection.rollback()


def test_reads_are_not_blocked_by_an_open_write(sqlite_store: Store) -> None:
    store = sqlite_store
    storage.save_pipeline_version(store, name="p", definition={})
    with storage.get_engine(store.url).connect() as writer:
        writer.begin()
        writer.execute(text("INSERT INTO pipelines (name, created_at) VALUES ('pending', '2024-01-01 00:00:00')"))
        # a blocked read would wait out the busy timeout and then fail with "database is locked"
        assert [p.name for p in storage.list_pipelines(store)] == ["p"]
        writer.rollback()


def test_an_unusable_database_path_is_a_storage_error(sqlite_studio: Path, tmp_path: Path) -> None:
    (tmp_path / "a-directory.db").mkdir()
    store = Store.at(sqlite_studio, f"sqlite:///{tmp_path / 'a-directory.db'}")
    with pytest.raises(StorageError, match="Could not prepare the database"):
        storage.list_pipelines(store)


def test_postgres_runs_are_enabled() -> None:
    """Stands for the PostgreSQL half of every ``studio`` test: skipped, with the reason, when not configured."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(PG_SKIP_REASON)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.dialect.name == "postgresql"
    finally:
        engine.dispose()

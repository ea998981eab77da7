from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

import storage
from storage import StorageError
from storage.db import database_url, get_engine, make_engine
from tests.storage.helpers import PG_ENV, PG_SKIP_REASON


def test_default_database_is_a_sqlite_file_in_the_studio_home(sqlite_studio: Path) -> None:
    assert not sqlite_studio.exists()
    assert database_url() == f"sqlite:///{sqlite_studio / 'studio.db'}"
    storage.list_pipelines()
    assert (sqlite_studio / "studio.db").is_file()
    assert storage.studio_home() == sqlite_studio


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(sqlite_studio: Path) -> None:
    with get_engine().connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000}


def test_database_url_env_var_wins_and_engines_are_cached_per_url(
    sqlite_studio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "elsewhere" / "team.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{other}")
    storage.save_pipeline_version(name="p", definition={})
    assert other.is_file() and not (sqlite_studio / "studio.db").exists()
    assert get_engine() is get_engine()
    storage.reset_engines()
    assert get_engine() is not None


def test_init_db_with_a_url_makes_it_the_database_of_this_process(sqlite_studio: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'chosen.db'}"
    assert storage.init_db(url) == 0
    storage.save_pipeline_version(name="p", definition={})
    assert storage.database_url() == url
    with sqlite3.connect(tmp_path / "chosen.db") as connection:
        assert connection.execute("SELECT name FROM pipelines").fetchall() == [("p",)]


def test_write_transactions_take_the_write_lock_at_begin(sqlite_studio: Path) -> None:
    """BEGIN IMMEDIATE: a second writer is told at once, not after it has done half its work."""
    engine = get_engine()
    with engine.connect() as connection:
        connection.begin()
        connection.execute(text("SELECT 1"))
        other = sqlite3.connect(sqlite_studio / "studio.db", timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
        connection.rollback()


def test_reads_are_not_blocked_by_an_open_write(sqlite_studio: Path) -> None:
    storage.save_pipeline_version(name="p", definition={})
    with get_engine().connect() as writer:
        writer.begin()
        writer.execute(text("INSERT INTO pipelines (name, created_at) VALUES ('pending', '2024-01-01 00:00:00')"))
        started = time.monotonic()
        assert [p.name for p in storage.list_pipelines()] == ["p"]
        assert time.monotonic() - started < 5
        writer.rollback()


def test_an_unusable_database_path_is_a_storage_error(
    sqlite_studio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a-directory.db").mkdir()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'a-directory.db'}")
    with pytest.raises(StorageError, match="Could not prepare the database"):
        storage.list_pipelines()


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

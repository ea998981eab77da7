"""Fixtures: a fresh studio home (and database) per test, on SQLite and optionally PostgreSQL.

``studio`` runs a test on a SQLite file in the fresh home of ``tests/conftest.py::studio_home``
and, when ``TEST_DATABASE_URL`` is set (``postgresql+psycopg://user@host:port/db``), again on that
PostgreSQL database, whose storage tables are dropped before each test. Without the variable the PostgreSQL runs are
not generated; ``test_db.py::test_postgres_runs_are_enabled`` is skipped with the reason,
so the summary says so once instead of once per test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from storage import Store
from storage.db import reset_engines
from tests.storage.helpers import PG_ENV, REPO_ROOT

STORAGE_TABLES = (
    "audit_events, api_tokens, memberships, workspaces, user_sessions, users, "
    "retrains, alert_thresholds, ground_truths, prediction_minutes, prediction_logs, scoring_services, "
    "model_stage_changes, "
    "registered_models, model_artifacts, runs, pipeline_versions, pipelines, "
    "drafts, datasets, "
    "alembic_version"
)


def _wipe_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {STORAGE_TABLES} CASCADE")
    finally:
        engine.dispose()


def _open_studio(backend: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``home`` (``tests/conftest.py::studio_home``) with the database of ``backend`` in force."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    if backend == "postgres":
        url = os.environ[PG_ENV]
        _wipe_postgres(url)
        monkeypatch.setenv("DATABASE_URL", url)
        reset_engines()
    return home


BACKENDS = ["sqlite", "postgres"] if os.environ.get(PG_ENV) else ["sqlite"]


@pytest.fixture(params=BACKENDS)
def studio(request: pytest.FixtureRequest, studio_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The studio home directory, with the database of this parametrisation in force."""
    return _open_studio(request.param, studio_home, monkeypatch)


@pytest.fixture
def sqlite_studio(studio_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """For behaviour that only SQLite has (PRAGMAs, the default database file)."""
    return _open_studio("sqlite", studio_home, monkeypatch)


@pytest.fixture
def sqlite_store(sqlite_studio: Path) -> Store:
    """The store on ``sqlite_studio``'s default SQLite file."""
    return Store.at(sqlite_studio)

"""Fixtures every test folder shares: a fresh studio home (so a fresh database and file store) per test.

``studio_home`` points ``PIPELINE_STUDIO_HOME`` at ``tmp_path / "home"``, forgets ``DATABASE_URL``,
``PIPELINE_STUDIO_MEMORY_BUDGET_MB`` and the SQL source settings (so no SQL source is allowed unless a test
allows one) from the environment, and resets the storage engines around the test. ``studio`` is the same
home under the name the storage, security and job tests use; ``tests/storage/conftest.py`` narrows it to
run each test on every configured database. ``store`` is the :class:`storage.Store` on that home and
database, the one the app would open (``studio.workspace.current_store``): tests pass it to storage calls,
as the application layer does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import storage
from storage import Store


@pytest.fixture
def studio_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    monkeypatch.setenv("PIPELINE_STUDIO_HOME", str(home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("PIPELINE_STUDIO_MEMORY_BUDGET_MB", raising=False)
    for limit in ("MAX_TUNING_MINUTES", "MAX_JOBS_PER_USER", "MAX_STORAGE_PER_USER"):  # defaults unless a test says
        monkeypatch.delenv(f"PIPELINE_STUDIO_{limit}", raising=False)
    for variable in ("SOURCES", "DIRS", "TIMEOUT_S", "MAX_ROWS"):  # SQL sources: none allowed unless a test says
        monkeypatch.delenv(f"PIPELINE_STUDIO_SQL_{variable}", raising=False)
    for variable in ("PREDICTION_LOG", "LOG_INPUT_SAMPLE", "LOG_RETENTION_DAYS", "LOG_MAX_ROWS", "LOG_QUEUE_ROWS"):
        monkeypatch.delenv(f"PIPELINE_STUDIO_{variable}", raising=False)  # the prediction log's defaults
    monkeypatch.delenv("PIPELINE_STUDIO_TOKEN", raising=False)  # the CLI acts as the local user unless a test says
    storage.reset_engines()
    yield home
    storage.reset_engines()


@pytest.fixture
def studio(studio_home: Path) -> Path:
    return studio_home


@pytest.fixture
def store(studio: Path) -> Store:
    """The store of ``studio``: its home, and ``DATABASE_URL`` when a parametrisation set one (else its SQLite file)."""
    return Store.at(studio, os.environ.get("DATABASE_URL"))

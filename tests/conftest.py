"""Fixtures every test folder shares: a fresh studio home (so a fresh database and file store) per test.

``studio_home`` points ``PIPELINE_STUDIO_HOME`` at ``tmp_path / "home"``, forgets ``DATABASE_URL``,
``PIPELINE_STUDIO_MEMORY_BUDGET_MB`` and the SQL source settings (so no SQL source is allowed unless a test
allows one) from the environment, and resets the storage engines around the test. ``studio`` is the same
home under the name the storage, security and job tests use; ``tests/storage/conftest.py`` narrows it to
run each test on every configured database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import storage


@pytest.fixture
def studio_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    monkeypatch.setenv("PIPELINE_STUDIO_HOME", str(home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("PIPELINE_STUDIO_MEMORY_BUDGET_MB", raising=False)
    for variable in ("SOURCES", "DIRS", "TIMEOUT_S", "MAX_ROWS"):  # SQL sources: none allowed unless a test says
        monkeypatch.delenv(f"PIPELINE_STUDIO_SQL_{variable}", raising=False)
    storage.reset_engines()
    yield home
    storage.reset_engines()


@pytest.fixture
def studio(studio_home: Path) -> Path:
    return studio_home

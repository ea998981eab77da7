"""Fixtures for the page tests: a fresh studio home per test and an app driver.

Each test gets its own ``PIPELINE_STUDIO_HOME`` (``tests/conftest.py::studio_home``: a fresh
SQLite database and file store, storage engines reset around it). ``app`` opens ``app.py`` in Streamlit's
``AppTest`` on a given page; ``loaded_app`` does the same with a sample dataset already stored
and active, the way the Data page leaves it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipeline_core.io.samples import load_sample
from tests.apptest import REPO, TIMEOUT, open_page, store_frame, texts  # noqa: F401 - shared helpers

CHURN = "customer_churn (generated, messy)"


@pytest.fixture(autouse=True)
def _fresh_studio_home(studio_home: Path) -> Path:
    """Every page test gets ``tests/conftest.py::studio_home`` without asking for it."""
    return studio_home






@pytest.fixture
def accounts_on(monkeypatch, studio) -> None:
    """Sign-in with built-in accounts (jobs in threads, so no cluster starts for a page test)."""
    monkeypatch.setenv("PIPELINE_STUDIO_AUTH", "accounts")
    monkeypatch.setenv("PIPELINE_STUDIO_JOBS", "threads")


@pytest.fixture
def app() -> Callable[..., AppTest]:
    return open_page


@pytest.fixture
def iris_id(store) -> int:
    return store_frame(store, load_sample("iris"), "iris")


@pytest.fixture
def churn_id(store) -> int:
    return store_frame(store, load_sample(CHURN), "churn")


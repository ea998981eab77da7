"""Fixtures for the page tests: a fresh studio home per test and an app driver.

Each test gets its own ``PIPELINE_STUDIO_HOME`` (``tests/conftest.py::studio_home``: a fresh
SQLite database and file store, storage engines reset around it). ``app`` opens ``app.py`` in Streamlit's
``AppTest`` on a given page; ``loaded_app`` does the same with a sample dataset already stored
and active, the way the Data page leaves it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import storage
from pipeline_core.io.frames import stored_table_sha256
from pipeline_core.io.samples import load_sample
from storage import Store

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 30
CHURN = "customer_churn (generated, messy)"


@pytest.fixture(autouse=True)
def _fresh_studio_home(studio_home: Path) -> Path:
    """Every page test gets ``tests/conftest.py::studio_home`` without asking for it."""
    return studio_home


def open_page(page: str, *, dataset_id: int | None = None, spec: dict | None = None) -> AppTest:
    """Run ``app.py`` once, then switch to ``page`` (``pages/x.py``) with the given session state."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.run()
    at.session_state["dataset_id"] = dataset_id
    if spec is not None:
        at.session_state["spec"] = spec
    at.switch_page(page).run()
    return at


def store_frame(store: Store, frame: pd.DataFrame, name: str = "table") -> int:
    dataset = storage.save_dataset(store, name=name, file_name=f"{name}.csv", fmt="csv", frame=frame,
                                   sha256=stored_table_sha256(frame))
    return dataset.id


@pytest.fixture
def app() -> Callable[..., AppTest]:
    return open_page


@pytest.fixture
def iris_id(store) -> int:
    return store_frame(store, load_sample("iris"), "iris")


@pytest.fixture
def churn_id(store) -> int:
    return store_frame(store, load_sample(CHURN), "churn")


def texts(at: AppTest, kind: str) -> str:
    """All messages of one kind (``error``, ``warning``, ``info``, ``success``) joined, for asserts."""
    return " | ".join(str(e.value) for e in getattr(at, kind))

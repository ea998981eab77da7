"""Driving pages in Streamlit's ``AppTest``, shared by the page, security and application tests.

``open_page`` runs ``app.py`` once (a new browser session, so page config, storage and the sidebar are
set up as in the real app), then switches to the page with the given session state. ``store_frame``
stores a table the way the Data page does; ``texts`` joins the messages of one kind for asserts.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

import storage
from pipeline_core.io.frames import stored_table_sha256
from storage import Store

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 120  # a deadline for one script run, generous for a machine whose cores are busy


def open_page(page: str, *, dataset_id: int | None = None, spec: dict | None = None, **state: object) -> AppTest:
    """Run ``app.py`` once, then switch to ``page`` (``pages/x.py``) with the given session state."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.run()
    at.session_state["dataset_id"] = dataset_id
    if spec is not None:
        at.session_state["spec"] = spec
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(page).run()
    return at


def store_frame(store: Store, frame: pd.DataFrame, name: str = "table") -> int:
    """Store ``frame`` as a dataset (as an upload of ``<name>.csv``); its id."""
    return storage.save_dataset(store, name=name, file_name=f"{name}.csv", fmt="csv", frame=frame,
                                sha256=stored_table_sha256(frame)).id


def texts(at: AppTest, kind: str) -> str:
    """All messages of one kind (``error``, ``warning``, ``info``, ``success``, ``caption``) joined, for asserts."""
    return " | ".join(str(e.value) for e in getattr(at, kind))

"""Driving pages in Streamlit's ``AppTest``, shared by the page, security and application tests.

``open_page`` runs ``app.py`` once (a new browser session, so page config, storage and the sidebar are
set up as in the real app), then switches to the page with the given session state. ``store_frame``
stores a table the way the Data page does; ``texts`` joins the messages of one kind for asserts. With sign-in
configured (``PIPELINE_STUDIO_AUTH=accounts``), ``signed_in`` opens the app as an account, on a page if given.
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
PASSWORD = "correct horse battery"  # the accounts the sign-in tests create


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


def new_session() -> AppTest:
    """``app.py`` run once in a new browser session (with sign-in configured: the sign-in form)."""
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()


def sign_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    """Fill the sign-in form of ``at`` and press its button."""
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(password)
    return at.button[0].click().run()


def signed_in(name: str, page: str | None = None) -> AppTest:
    """A new session signed in as ``name`` (with :data:`PASSWORD`), switched to ``page`` (``pages/x.py``) if given."""
    at = sign_in(new_session(), name)
    return at.switch_page(page).run() if page else at

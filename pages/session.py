"""The session state several pages share, and the one-shot messages an action leaves for the next rerun.

A page's own widget keys stay in that page (prefixed with its name). What pages share, the active dataset,
the run this session follows and the saved version being edited, is read and written here only, so a
misspelt key is an ``AttributeError`` at once instead of a silent ``None`` on another page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

DATASET_ID = "dataset_id"  # storage id of the active dataset
SPEC = "spec"  # the definition being edited, as a dict
SAVED_HASH = "saved_hash"  # content hash of the version it was opened or saved as (the unsaved-changes flag)
PIPELINE_ID = "pipeline_id"
PIPELINE_VERSION = "pipeline_version"
RUN_ID = "run_id"  # the run this session last started or opened
OWNER = "owner"  # whom this session's training jobs count against (``owner()``); never in the URL

DEFAULTS: dict[str, Any] = {DATASET_ID: None, SPEC: None, SAVED_HASH: None, PIPELINE_ID: None,
                            PIPELINE_VERSION: None, RUN_ID: None}
# kept in the address bar, so a browser refresh (a new session) reopens the same dataset and run
URL_KEYS = {DATASET_ID: "dataset", RUN_ID: "run"}


def init_state() -> None:
    """Defaults for a new session, and the ids a refreshed page carries in its address."""
    fresh = DATASET_ID not in st.session_state
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    if fresh:
        for key, param in URL_KEYS.items():
            value = st.query_params.get(param)
            if value is not None and value.isdigit():
                st.session_state[key] = int(value)


def sync_url() -> None:
    """Mirror the ids that identify this session's work into the URL (ids only, no data)."""
    for key, param in URL_KEYS.items():
        value = st.session_state.get(key)
        if value is None:
            st.query_params.pop(param, None)
        elif st.query_params.get(param) != str(value):
            st.query_params[param] = str(value)


def dataset_id() -> int | None:
    return st.session_state.get(DATASET_ID)


def set_dataset_id(value: int | None) -> None:
    st.session_state[DATASET_ID] = value


def owner() -> str:
    """The submitter this session's training jobs are counted under for the per-user job cap.

    There are no user accounts yet, so it is the browser session's id (a refresh starts a new session, and
    with it a new count); the CLI and a service pass their own owner strings to ``studio.training``.
    """
    value = st.session_state.get(OWNER)
    if value is None:
        context = get_script_run_ctx()
        value = f"session:{context.session_id if context is not None else uuid.uuid4().hex}"
        st.session_state[OWNER] = value
    return value


def run_id() -> int | None:
    return st.session_state.get(RUN_ID)


def set_run_id(value: int | None) -> None:
    st.session_state[RUN_ID] = value


@dataclass(frozen=True)
class Editing:
    """The saved version the definition being edited came from (all ``None`` before the first save)."""

    pipeline_id: int | None
    version: int | None
    saved_hash: str | None


def editing() -> Editing:
    return Editing(st.session_state.get(PIPELINE_ID), st.session_state.get(PIPELINE_VERSION),
                   st.session_state.get(SAVED_HASH))


def set_editing(pipeline_id: int | None, version: int | None, saved_hash: str | None) -> None:
    st.session_state.update({PIPELINE_ID: pipeline_id, PIPELINE_VERSION: version, SAVED_HASH: saved_hash})


# ---- one-shot messages -----------------------------------------------------------------------------------

FlashKind = Literal["success", "info", "error"]
_ICONS = {"success": ":material/check_circle:", "info": ":material/info:", "error": ":material/error:"}


def leave_message(page: str, message: str, kind: FlashKind = "success") -> None:
    """Keep ``message`` for the next run of ``page``: an action that reruns the page says what it did there."""
    st.session_state.setdefault(_flash_key(page), []).append((kind, message))


def show_messages(page: str) -> None:
    """Show, once, the messages left for ``page`` (in a slot that is always drawn, so the layout stays steady)."""
    slot = st.container()
    for kind, message in st.session_state.pop(_flash_key(page), []):
        getattr(slot, kind)(message, icon=_ICONS[kind])


def _flash_key(page: str) -> str:
    return f"{page}_messages"

"""Pipeline Studio: the router and frame. Pages live in ``pages/``; logic lives in the core."""

from __future__ import annotations

import os
import sys

import streamlit as st
from streamlit import config as streamlit_config

from pages import common, jobs, session
from studio.access import StartRefused, check_app_address
from studio.errors import FAILURES
from studio.settings import load_settings
from studio.workspace import Store, current_store, prepare_store

PAGES = [
    ("pages/data.py", "Data", ":material/upload_file:"),
    ("pages/profile.py", "Profile", ":material/query_stats:"),
    ("pages/clean.py", "Clean", ":material/cleaning_services:"),
    ("pages/features.py", "Features", ":material/tune:"),
    ("pages/train.py", "Train", ":material/model_training:"),
    ("pages/compare.py", "Compare", ":material/leaderboard:"),
    ("pages/models.py", "Models", ":material/inventory_2:"),
    ("pages/predict.py", "Predict", ":material/online_prediction:"),
    ("pages/monitor.py", "Monitor", ":material/monitoring:"),
    ("pages/pipelines.py", "Pipelines", ":material/account_tree:"),
]


@st.cache_resource(show_spinner=False)
def _storage_ready(store: Store) -> int:
    """Once per server process and store (holds no user data)."""
    return prepare_store(store)


def _refuse_unsafe_address() -> None:
    """End the server, with ``error: <reason>`` on its terminal, if it listens where others could reach it unasked.

    Streamlit runs no code of ours before it binds, so this runs on every script run: the first visitor (or a
    ``/_stcore/script-health-check``) of a server on ``0.0.0.0`` without sign-in gets no page, and the process
    exits with status 2 before any store is opened or worker started. ``AppTest`` runs scripts with no server
    (``_server_mode`` unset, no socket to protect), so it is left alone.
    """
    if streamlit_config._server_mode is None:
        return
    try:
        check_app_address(st.get_option("server.address"), sign_in=False)
    except StartRefused as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        os._exit(2)  # nothing of ours is running yet; a clean stop would keep serving until every socket closed


def main() -> None:
    _refuse_unsafe_address()
    st.set_page_config(page_title="Pipeline Studio", page_icon="🧪", layout="wide")
    # first, so the menu is right at once, even while the first run of a server starts the workers
    pages = [st.Page(path, title=title, icon=icon, url_path=title.lower()) for path, title, icon in PAGES]
    navigation = st.navigation(pages)
    try:
        load_settings()  # a bad environment variable is named here, before anything uses it
        _storage_ready(current_store())
    except FAILURES as e:
        common.show_error(e)
        st.stop()
    session.init_state()
    session.show_messages("app")  # e.g. a draft address that no longer opens
    jobs.job_runner()  # once per server: starts the training workers and closes runs a restart interrupted
    common.sidebar()
    try:
        with common.inside_app():
            navigation.run()
    finally:  # also after a page stopped early or asked for a rerun
        session.autosave()
        session.sync_url()


if __name__ == "__main__":
    main()

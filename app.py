"""Pipeline Studio: the router and frame. Pages live in ``pages/``; logic lives in the core."""

from __future__ import annotations

import streamlit as st

from pages import common, jobs, session
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


def main() -> None:
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

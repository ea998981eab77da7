"""Pipeline Studio: the router and frame. Pages live in ``pages/``; logic lives in the core."""

from __future__ import annotations

import streamlit as st

import storage
from pages import common, jobs

PAGES = [
    ("pages/data.py", "Data", ":material/upload_file:"),
    ("pages/profile.py", "Profile", ":material/query_stats:"),
    ("pages/clean.py", "Clean", ":material/cleaning_services:"),
    ("pages/features.py", "Features", ":material/tune:"),
    ("pages/train.py", "Train", ":material/model_training:"),
    ("pages/compare.py", "Compare", ":material/leaderboard:"),
    ("pages/predict.py", "Predict", ":material/online_prediction:"),
    ("pages/pipelines.py", "Pipelines", ":material/account_tree:"),
]


@st.cache_resource(show_spinner=False)
def _storage_ready(database: str, home: str) -> int:
    """Once per server process and store: migrate the schema and finish or undo file writes cut short
    by a crash (a killed save leaves no row without its file). Holds no user data."""
    return storage.init_db()


def main() -> None:
    st.set_page_config(page_title="Pipeline Studio", page_icon="🧪", layout="wide")
    # first, so the menu is right at once, even while the first run of a server starts the workers
    pages = [st.Page(path, title=title, icon=icon, url_path=title.lower()) for path, title, icon in PAGES]
    navigation = st.navigation(pages)
    try:
        _storage_ready(storage.database_url(), str(storage.studio_home()))
    except storage.StorageError as e:
        common.show_error(e)
        st.stop()
    common.init_state()
    jobs.job_runner()  # once per server: starts the training workers and closes runs a restart interrupted
    common.sidebar()
    try:
        with common.inside_app():
            navigation.run()
    finally:  # also after a page stopped early
        common.sync_url()


if __name__ == "__main__":
    main()

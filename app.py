"""Pipeline Studio: the router and frame. Pages live in ``pages/``; logic lives in the core."""

from __future__ import annotations

import streamlit as st

from pages import common

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


def main() -> None:
    st.set_page_config(page_title="Pipeline Studio", page_icon=":material/hub:", layout="wide")
    common.init_state()
    pages = [st.Page(path, title=title, icon=icon, url_path=title.lower()) for path, title, icon in PAGES]
    navigation = st.navigation(pages)
    common.sidebar()
    navigation.run()


if __name__ == "__main__":
    main()

"""Pipeline Studio: the router and frame. Pages live in ``pages/``; logic lives in the core."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import streamlit as st
from streamlit import config as streamlit_config

from pages import common, jobs, limits_admin, session, sign_in, workspaces
from studio.access import HostRefused, StartRefused, check_app_address, check_host
from studio.accounts import Account
from studio.errors import FAILURES
from studio.settings import Settings, load_settings
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
ACCOUNT_PAGES = [  # with sign-in only: they act as an account (path, title, icon, address)
    ("pages/tokens.py", "API tokens", ":material/key:", "tokens"),
    ("pages/audit_log.py", "Audit log", ":material/history:", "audit"),
]


@st.cache_resource(show_spinner=False)
def _storage_ready(store: Store) -> int:
    """Once per server process and store (holds no user data)."""
    return prepare_store(store)


def _refuse_unsafe_address(config: Settings | None) -> None:
    """End the server, with ``error: <reason>`` on its terminal, if it listens where others could reach it unasked.

    Streamlit runs no code of ours before it binds, so this runs on every script run: the first visitor (or a
    ``/_stcore/script-health-check``) of a server on ``0.0.0.0`` without sign-in gets no page, and the process
    exits with status 2 before any store is opened or worker started. Settings that do not load count as no
    sign-in. ``AppTest`` runs scripts with no server (``_server_mode`` unset, no socket to protect): left alone.
    """
    if streamlit_config._server_mode is None:
        return
    try:
        check_app_address(st.get_option("server.address"), sign_in=config is not None and config.sign_in)
    except StartRefused as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        os._exit(2)  # nothing of ours is running yet; a clean stop would keep serving until every socket closed


def _refuse_foreign_host(config: Settings | None) -> None:
    """Without sign-in, show only a one-line refusal to a page opened under a name other than this machine's (a DNS
    rebinding page: see ``studio.access``). With sign-in a stranger's page meets the sign-in form, whatever its name.
    """
    if streamlit_config._server_mode is None or (config is not None and config.sign_in):
        return
    try:
        check_host(st.context.headers.get("Host"), address=st.get_option("server.address"),
                   port=st.get_option("server.port"))
    except HostRefused as e:
        reason = str(e)

        def refused() -> None:
            st.error(reason)

        _only(refused, "Pipeline Studio")
        st.stop()


def _only(render: Callable[[], None], title: str) -> None:
    """Show ``render`` whichever page's address was opened, with no menu.

    Every page's address leads to it (no "page not found" for ``/train``, and the address is kept, so a sign-in
    lands on the page that was asked for); and without any ``st.navigation`` call Streamlit would list the
    ``pages/`` folder itself.
    """
    # the default page answers at "/" only, so each page's own address needs an entry besides it
    at_root = st.Page(render, title=title, url_path="start", default=True)
    addresses = [page_title.lower() for _, page_title, _ in PAGES] + [address for *_, address in ACCOUNT_PAGES]
    st.navigation([at_root, *(st.Page(render, title=title, url_path=address) for address in addresses)],
                  position="hidden").run()


def _signed_in(config: Settings) -> Account | None:
    """With sign-in configured: the signed-in account, or ``None`` after showing the sign-in page (the only one)."""
    try:
        _storage_ready(current_store())
        account = sign_in.signed_in_account(config)
    except FAILURES as e:
        common.show_error(e)
        st.stop()
    if account is None:
        def sign_in_form() -> None:
            sign_in.sign_in_page(config)

        _only(sign_in_form, "Sign in")
    return account


def main() -> None:
    try:
        config: Settings | None = load_settings()
    except FAILURES:
        config = None  # named on the page below, by the same call
    _refuse_unsafe_address(config)
    st.set_page_config(page_title="Pipeline Studio", page_icon="🧪", layout="wide")
    _refuse_foreign_host(config)
    account = None
    if config is not None and config.sign_in and (account := _signed_in(config)) is None:
        return
    # first, so the menu is right at once, even while the first run of a server starts the workers
    pages = [st.Page(path, title=title, icon=icon, url_path=title.lower()) for path, title, icon in PAGES]
    if account is not None:
        pages += [st.Page(path, title=title, icon=icon, url_path=address)
                  for path, title, icon, address in ACCOUNT_PAGES]
    navigation = st.navigation(pages)
    try:
        load_settings()  # a bad environment variable is named here, before anything uses it
        _storage_ready(current_store())
    except FAILURES as e:
        common.show_error(e)
        st.stop()
    if account is not None:  # before anything is read: every read checks this account's role in its workspace
        session.act_as(account)
        workspaces.pick(account)
    session.init_state()
    session.show_messages("app")  # e.g. a draft address that no longer opens
    jobs.job_runner()  # once per server: starts the training workers and closes runs a restart interrupted
    if account is not None and config is not None:  # first: who is signed in shows under the menu
        sign_in.account_sidebar(account, config)
        workspaces.sidebar(account)
        limits_admin.sidebar(account)
    common.sidebar()
    try:
        with common.inside_app():
            navigation.run()
    finally:  # also after a page stopped early or asked for a rerun
        session.autosave()
        session.sync_url()


if __name__ == "__main__":
    main()

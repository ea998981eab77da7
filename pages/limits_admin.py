"""The sidebar's *Limits* section for administrators (issue 19 point 5): each account's jobs and files against its
limits, and a form to set them.

Only signed-in administrators see it; every change goes through ``studio.limits.set_limits``, which checks the
account is an administrator (hiding the section from others is only a courtesy). The command line does the same:
``python -m studio users limits NAME --jobs N --storage 2GB``.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from pages import session
from pages.common import accounts_html
from studio import limits
from studio.accounts import Account
from studio.errors import FAILURES
from studio.roles import Actor
from studio.workspace import Store, current_store

LEAVE = ""  # an empty field leaves that limit as it is


def sidebar(account: Account) -> None:
    if not account.is_admin:
        return
    store, actor = current_store(), session.actor()
    with st.sidebar, st.expander("Limits", icon=":material/speed:"):
        try:
            people = limits.all_usage(store, actor)
        except FAILURES as e:
            st.error(str(e))
            return
        st.container(key="limits_table").markdown(
            accounts_html((u.name, f" · jobs {_jobs(u)} · files {_files(u)}") for u in people), unsafe_allow_html=True)
        st.caption("Jobs: queued or running now, of the most allowed. Files: datasets and model files the account "
                   "made; a file two accounts hold counts for each. * set for this account, else the server's "
                   "default.")
        with st.form("set_limits", border=False):
            name = st.selectbox("Account", [u.name for u in people], key="limits_account")
            jobs = st.text_input("Jobs at once", key="limits_jobs", placeholder="e.g. 3, or default",
                                 help="Trainings, searches and retrains queued or running at once. 'default': the "
                                      "server's (PIPELINE_STUDIO_MAX_JOBS_PER_USER). Empty: unchanged.")
            files = st.text_input("Storage", key="limits_storage", placeholder="e.g. 2GB, or default",
                                  help="Bytes of datasets and model files, e.g. 2GB or 500MB. 'default': the server's "
                                       "(PIPELINE_STUDIO_MAX_STORAGE_PER_USER). Empty: unchanged.")
            if st.form_submit_button("Set limits", key="limits_set"):
                _set(store, actor, name, jobs, files)


def _jobs(used: limits.Usage) -> str:
    cap = used.limits.max_jobs
    mark = "*" if used.limits.own_jobs else ""
    return f"{used.jobs} of {cap}{mark}" if cap is not None else f"{used.jobs} (no limit)"


def _files(used: limits.Usage) -> str:
    cap = used.limits.max_storage_bytes
    mark = "*" if used.limits.own_storage else ""
    shown = limits.format_bytes(used.storage_bytes)
    return f"{shown} of {limits.format_bytes(cap)}{mark}" if cap is not None else f"{shown} (no limit)"


def _set(store: Store, actor: Actor, name: str | None, jobs: str, files: str) -> None:
    """Parse the two fields (one line saying which is wrong), set them, and redraw saying what is in force."""
    if name is None:
        return
    try:
        job_limit = _parsed(jobs, "Jobs at once", _whole)
        storage_limit = _parsed(files, "Storage", limits.parse_size)
        used = limits.set_limits(store, actor, name, jobs=job_limit, storage_bytes=storage_limit)
    except (ValueError, *FAILURES) as e:
        st.error(str(e))
        return
    session.leave_message("app", f"{used.name}: {used.sentence()}.")
    st.rerun()


def _whole(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"give a whole number of at least 1, or 'default' (got {text!r})")
    return int(text)


def _parsed(text: str, label: str, parse: Callable[[str], int]) -> int | str | None:
    text = text.strip()
    if text == LEAVE:
        return None
    if text.lower() == limits.DEFAULT:
        return limits.DEFAULT
    try:
        return parse(text)
    except ValueError as e:
        raise ValueError(f"{label}: {e}") from None

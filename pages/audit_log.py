"""The audit log page (issue 19 point 4): a workspace's owners read who did what, with filters.

The entries are written by the application layer (``studio.audit_log``); this page only reads them, through the
use case that checks the reader owns the workspace.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from pages import common, session
from studio import audit_log
from studio.errors import FAILURES
from studio.roles import role_of
from studio.workspace import current_store

SPANS = {"24 hours": timedelta(hours=24), "7 days": timedelta(days=7), "30 days": timedelta(days=30),
         "1 year": timedelta(days=365), "1 hour": timedelta(hours=1)}
LIMIT = 2000


def main() -> None:
    common.run_inside_app()
    st.header("Audit log")
    st.caption("Who did what in this workspace: uploads, saves and training, deletes, stage changes, services, "
               "member changes, API tokens made, revoked and used (counted per token and minute), and the sign-ins "
               "of its members. Only its owners read it.")
    store, actor = current_store(), session.actor()
    if role_of(store, actor) != "owner":
        st.info("Only owners of this workspace read its audit log.", icon=":material/lock:")
        return
    left, middle, right = st.columns([1, 2, 1])
    span = left.selectbox("Since", list(SPANS), key="audit_since")
    kinds = middle.multiselect("Kinds", [kind.value for kind in audit_log.EventKind], key="audit_kinds",
                               placeholder="every kind")
    since = datetime.now(UTC) - SPANS[span]
    try:
        entries = audit_log.audit_log(store, actor, since=since, kinds=tuple(kinds), limit=LIMIT)
    except FAILURES as e:
        common.show_error(e)
        return
    people = sorted({entry.actor for entry in entries})
    who = right.selectbox("Who", ["everyone", *people], key="audit_who")
    shown = [entry for entry in entries if who == "everyone" or entry.actor == who]
    if not shown:
        st.info("Nothing in this window with these filters.", icon=":material/history:")
        return
    more = " (the newest; narrow the window or the kinds for older ones)" if len(entries) == LIMIT else ""
    st.caption(f"{len(shown):,} entries{more}, newest first; times in UTC.")
    st.dataframe(common.readable_table([{
        "when": f"{e.at:%Y-%m-%d %H:%M:%S}", "kind": e.kind.value, "who": e.actor, "via token": e.via_token or "",
        "target": e.target, "detail": e.detail,
        "requests": e.count if e.kind is audit_log.EventKind.TOKEN_USED else None,
    } for e in shown]), hide_index=True)


if __name__ == "__main__":
    main()

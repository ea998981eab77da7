"""The "Register this model" action, shared by the Models, Train and Compare pages.

Where a user finishes a run (Train's summary, Compare), registering its model is one small form that calls
:func:`studio.registry.register_model`; the Models page offers the same form for any finished run. Who registers
is the browser session's owner token, the one its training runs record.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from pages import common, session
from studio import registry
from studio.errors import FAILURES

MODELS_PAGE = "registry"  # the Models page's message slot
PICK_NEXT_KEY = "registry_pick_next"  # the pipeline the Models page shows next: the one just registered under


def register_form(run: Any, *, key: str, page: str) -> None:
    """A form registering ``run``'s model: the pipeline is the run's own, or named here for an unsaved run.

    A run already registered shows where instead, with a link to the Models page.
    """
    try:
        done = registry.registrations_of(session.actor(), run.id)
        linked = registry.linked_pipeline(session.actor(), run)
    except FAILURES as e:
        common.show_error(e)
        return
    if done:
        where = ", ".join(f"version {v.version} of **{common.escape_markdown(v.pipeline)}** ({v.stage})" for v in done)
        st.caption(f"Run #{run.id}'s model is registered: {where}.")
        if page != MODELS_PAGE:
            st.page_link("pages/models.py", label="Manage it on the Models page", icon=":material/inventory_2:")
        return
    with st.form(f"{key}_form", border=False):
        if linked:
            st.markdown(f"Registers under its pipeline **{common.escape_markdown(linked)}** as the next version.")
            name = linked
        else:
            name = st.text_input("Pipeline to register under", value=common.current_spec().name, max_chars=200,
                                 key=f"{key}_pipeline",
                                 help="This run was not trained from a saved pipeline: its definition is saved "
                                      "under this name as a new version first.")
        note = st.text_input("Note", placeholder="why this model is worth keeping", max_chars=500, key=f"{key}_note")
        submitted = st.form_submit_button("Register this model", icon=":material/inventory_2:", key=f"{key}_submit")
    if submitted:
        _register(run.id, name, note, page)


def _register(run_id: int, pipeline_name: str, note: str, page: str) -> None:
    try:
        version = registry.register_model(session.actor(), run_id, pipeline_name=pipeline_name, by=session.owner(),
                                          note=note)
    except FAILURES as e:
        common.show_error(e)
        return
    where = "below" if page == MODELS_PAGE else "on the Models page"
    session.leave_message(page, f"Registered run #{run_id}'s model as version {version.version} of "
                                f"'{common.escape_markdown(version.pipeline)}' (stage: none). Promote it {where}.")
    st.session_state[PICK_NEXT_KEY] = version.pipeline_id
    st.rerun()


if __name__ == "__main__":  # opened by its address as the first run of a server: not a page
    common.run_inside_app()

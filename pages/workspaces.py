"""The sidebar's workspace picker and, for a workspace's owners, its members (issue 19 point 2).

Only with sign-in: without it there is one user and one workspace. :func:`pick` runs before anything is read, so
every call of the run acts in a workspace the account is a member of; :func:`sidebar` draws the picker and the
members section, whose every change goes through ``studio.members`` (which checks that the account owns the
workspace: hiding the section from others is only a courtesy).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from pages import session
from pages.common import accounts_html
from studio import members
from studio.accounts import Account
from studio.errors import FAILURES
from studio.workspace import current_store

PICKER = "workspace_picker"
ROLES = ("viewer", "editor", "owner")
ROLE_HELP = "viewer: reads and scores · editor: also uploads, trains and saves · owner: also deletes, promotes " \
            "to production and manages members"


def pick(account: Account) -> None:
    """Make the session act in one of the account's workspaces (its own new one if it has none): the one picked
    before, else the first by name. Removed from the picked one meanwhile, it moves to the first."""
    choices = members.ensure_workspace(current_store(), account.id, account.name)
    ids = [choice.id for choice in choices]
    current = session.workspace_id()
    if current is None:
        session.set_workspace(ids[0])
    elif current not in ids:
        session.switch_workspace(ids[0])


def sidebar(account: Account) -> None:
    """The picker, a form for a new workspace, and for owners the members section."""
    store = current_store()
    choices = {choice.id: choice for choice in members.workspaces_of(store, account.id)}
    current = session.workspace_id()
    if current not in choices:
        return
    with st.sidebar:
        st.session_state[PICKER] = current
        st.selectbox("Workspace", list(choices), key=PICKER, on_change=_switch,
                     format_func=lambda i: f"{choices[i].name} ({choices[i].role})",
                     help="Everything you see and make is in this workspace. " + ROLE_HELP)
        with st.popover("New workspace", icon=":material/add:"), st.form("new_workspace", border=False):
            name = st.text_input("Name", max_chars=80)
            if st.form_submit_button("Create"):
                _create(account, name)
        if choices[current].role == "owner":
            _members_section(account)


def _switch() -> None:
    session.switch_workspace(st.session_state[PICKER])


def _create(account: Account, name: str) -> None:
    try:
        made = members.create_workspace(current_store(), user_id=account.id, name=name)
    except FAILURES as e:
        st.error(str(e))
        return
    session.switch_workspace(made.id)
    st.rerun()


def _members_section(account: Account) -> None:
    store, actor = current_store(), session.actor()
    with st.expander("Members", icon=":material/group:"):
        try:
            people = members.members(store, actor)
        except FAILURES as e:
            st.error(str(e))
            return
        st.markdown(accounts_html((p.name, f" · {p.role}") for p in people), unsafe_allow_html=True)
        with st.form("invite_member", border=False):
            name = st.text_input("Account name", key="member_name",
                                 help="The name the person signs in with; an administrator creates accounts "
                                      "(python -m studio users add NAME).")
            role = st.selectbox("Role", ROLES, key="member_role", help=ROLE_HELP)
            if st.form_submit_button("Invite or change role", key="member_invite"):
                _change(lambda: members.set_member(store, actor, name, role), f"{name.strip()} is now {role}.")
        others = [p.name for p in people if p.name != account.name]
        if others:
            gone = st.selectbox("Remove a member", others, key="member_to_remove")
            if st.button("Remove", key="remove_member"):
                _change(lambda: members.remove_member(store, actor, gone), f"{gone} was removed.")


def _change(action: Callable[[], object], done: str) -> None:
    """Make the change, then redraw the page with the members as they are now, saying what changed."""
    try:
        action()
    except FAILURES as e:
        st.error(str(e))
        return
    session.leave_message("app", done)
    st.rerun()

"""The API tokens page (issue 19 point 3): make a token for the workspace you act in, copy it once, list, revoke.

Every call goes through ``studio.tokens``, which checks the role (a token's role is at most yours; only its owner
or a workspace owner revokes it). The new token is kept in this tab's session only until "Done": the server keeps
its hash, so it can never be shown again.
"""

from __future__ import annotations

import streamlit as st

from pages import common, session
from studio import tokens
from studio.errors import FAILURES
from studio.roles import RANK, Actor, role_of
from studio.workspace import Store, current_store

PAGE = "tokens"
NEW = "tokens_new"  # the token just made: (name, secret), shown until dismissed
EXPIRY = {"30 days": 30, "7 days": 7, "90 days": 90, "1 year": 365, "never": None}
ROLE_HELP = "viewer: reads and scores · editor: also uploads (true outcomes), trains and saves · owner: also deletes " \
            "and promotes"


def main() -> None:
    common.run_inside_app()
    st.header("API tokens")
    st.caption("A token lets a program act as you, in this workspace, with the role you give it (at most yours): a "
               "client of a scoring service sends it as `Authorization: Bearer <token>`, the command line reads it "
               "from `PIPELINE_STUDIO_TOKEN`. It is shown once; the server keeps only its hash.")
    session.show_messages(PAGE)
    store, actor = current_store(), session.actor()
    own = role_of(store, actor)
    if actor.user_id is None or own is None:
        st.info("API tokens act as an account, so they need sign-in (PIPELINE_STUDIO_AUTH=accounts). On the server, "
                "`python -m studio tokens create --user NAME --name TEXT` makes one for an account.")
        return
    _just_made()
    _create_form(store, actor, own)
    _token_list(store, actor, own)


def _just_made() -> None:
    """The token made on the last run, until its maker says it is copied."""
    made = st.session_state.get(NEW)
    if made is None:
        return
    with st.container(border=True):
        st.success(f"Token **{common.escape_markdown(made[0])}** is made. Copy it now (the button at the right of the "
                   "box): it will not be shown again.", icon=":material/key:")
        st.code(made[1], language=None)
        if st.button("Done, I have copied it", key="tokens_done"):
            del st.session_state[NEW]
            st.rerun()


def _create_form(store: Store, actor: Actor, own: str) -> None:
    with st.form("tokens_create", clear_on_submit=True):
        st.subheader("New token")
        name = st.text_input("Name", max_chars=tokens.MAX_NAME_LENGTH, placeholder="e.g. nightly scoring",
                             key="tokens_name", help="What uses it, so you know what breaks when you revoke it.")
        left, right = st.columns(2)
        choices = [role.value for role in RANK if RANK[role] <= RANK[own]]
        role = left.selectbox("Role", choices, key="tokens_role",
                              help=ROLE_HELP + ". A token acts with the lower of its role and yours.")
        expiry = right.selectbox("Expires after", list(EXPIRY), key="tokens_expiry")
        if not st.form_submit_button("Create token", type="primary", key="tokens_create_submit"):
            return
    try:
        new = tokens.create_token(store, actor, name, role, days=EXPIRY[expiry])
    except FAILURES as e:
        common.show_error(e)
        return
    st.session_state[NEW] = (new.info.name, new.token)
    st.rerun()


def _token_list(store: Store, actor: Actor, own: str) -> None:
    st.subheader("Tokens")
    try:
        found = tokens.list_tokens(store, actor)
    except FAILURES as e:
        common.show_error(e)
        return
    if not found:
        st.info("No tokens in this workspace yet." if own == "owner" else "You have no tokens in this workspace yet.")
        return
    if own == "owner":
        st.caption("As an owner you see every member's tokens of this workspace and may revoke any of them.")
    st.dataframe(common.readable_table([{
        "name": t.name, "prefix": f"{t.prefix}…", "owner": t.owner, "role": t.role.value, "state": t.state().value,
        "created (UTC)": f"{t.created_at:%Y-%m-%d %H:%M}",
        "last used (UTC)": f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
        "expires (UTC)": f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "never",
        "revoked": f"{t.revoked_at:%Y-%m-%d %H:%M} by {t.revoked_by}" if t.revoked_at else "",
    } for t in found]), hide_index=True)
    active = {t.id: t for t in found if t.state() is tokens.TokenState.ACTIVE}
    if not active:
        return
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen = left.selectbox("Revoke a token", list(active), key="tokens_revoke_choice",
                            format_func=lambda i: f"{active[i].name} ({active[i].prefix}…, {active[i].owner})")
    if right.button("Revoke", key="tokens_revoke", icon=":material/block:"):
        try:
            gone = tokens.revoke_token(store, actor, chosen)
        except FAILURES as e:
            common.show_error(e)
            return
        session.leave_message(PAGE, f"Token {gone.name} is revoked: services refuse it from now on.")
        st.rerun()


if __name__ == "__main__":
    main()

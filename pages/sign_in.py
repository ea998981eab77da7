"""The sign-in form, the signed-in account in the sidebar, and the cookie that keeps a refresh signed in.

Where the session token lives between page loads: a refresh opens a new Streamlit session, so the token must
be kept by the browser. Streamlit lets the server *read* the cookies sent with the page's WebSocket
(``st.context.cookies``) but not set one, and a query parameter (``?session=…``, like ``?draft=``) would put
the token in the address bar, the history, bookmarks, shared links, screenshots and ``Referer`` headers. So
after a sign-in, a small script of ours (``st.html`` with JavaScript, holding only the token we generated,
which is URL-safe base64) writes a ``SameSite=Strict`` cookie (``Secure`` over HTTPS) that expires with the
session; the next page load sends it and :func:`signed_in_account` finds the account. Signing out deletes the
session on the server first, so the token is dead even if the browser keeps the cookie; the cookie is cleared
too. The cookie is readable by scripts on the page (no ``HttpOnly``: only an HTTP response could set that), as
a query parameter would be; the app renders no user HTML (``tests/security/test_rendering.py``).
"""

from __future__ import annotations

import re

import streamlit as st

from pages.common import escape_markdown
from studio import accounts
from studio.accounts import Account
from studio.settings import Settings
from studio.workspace import current_store

COOKIE = "pipeline_studio_session"
TOKEN = "signin_token"  # this browser session's token, once signed in (the cookie arrives only with a reload)
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,100}")


def signed_in_account() -> Account | None:
    """The account this browser is signed in as: this session's token, else the cookie's; ``None`` if neither
    names a live session (never signed in, signed out, expired)."""
    token = st.session_state.get(TOKEN) or _cookie()
    account = accounts.current_user(current_store(), token)
    if account is None:
        st.session_state.pop(TOKEN, None)
        return None
    st.session_state[TOKEN] = token
    return account


def sign_in_page(config: Settings) -> None:
    """The only page shown until someone signs in."""
    _forget_cookie()
    store = current_store()
    _, middle, _ = st.columns([1, 1.4, 1])  # a form of two fields reads better narrow on a wide page
    with middle:
        st.title("Pipeline Studio")
        st.subheader("Sign in")
        if not accounts.has_admin(store):
            st.info("No account exists yet. On the server, create the first administrator: "
                    "`python -m studio users add-admin NAME`")
        with st.form("signin_form"):
            name = st.text_input("Name", key="signin_name", autocomplete="username",
                                 max_chars=accounts.MAX_NAME_LENGTH)
            password = st.text_input("Password", type="password", key="signin_password",
                                     autocomplete="current-password", max_chars=accounts.MAX_PASSWORD_LENGTH)
            submitted = st.form_submit_button("Sign in", type="primary")
        if not submitted:
            return
        result = accounts.sign_in(store, name, password, policy=accounts.SignInPolicy.from_settings(config))
        if result.session is None:
            st.error(result.reason)
            return
    st.session_state[TOKEN] = result.session.token
    st.rerun()


def account_sidebar(account: Account, config: Settings) -> None:
    """Who is signed in, and the sign-out button; keeps the browser's cookie holding this session's token."""
    token = st.session_state.get(TOKEN, "")
    with st.sidebar:
        name, sign_out = st.columns([3, 2], vertical_alignment="center")
        role = " · admin" if account.is_admin else ""
        name.markdown(f":material/person: **{escape_markdown(account.name)}**{role}")
        if sign_out.button("Sign out", key="signout"):
            accounts.end_session(current_store(), token)
            st.session_state.pop(TOKEN, None)
            st.rerun()
        if _cookie() != token and _TOKEN_SHAPE.fullmatch(token):
            _write_cookie(token, max_age=int(config.session_hours * 3600))


def _cookie() -> str | None:
    """The session cookie the browser sent when this page loaded (``None`` without one, or without a browser)."""
    value = st.context.cookies.get(COOKIE)
    return value if isinstance(value, str) and value else None


def _forget_cookie() -> None:
    if _cookie():
        _write_cookie("", max_age=0)


def _write_cookie(value: str, *, max_age: int) -> None:
    st.html(
        f"<script>document.cookie = '{COOKIE}={value}; Path=/; Max-Age={max_age}; SameSite=Strict'"
        " + (location.protocol === 'https:' ? '; Secure' : '');</script>",
        unsafe_allow_javascript=True)

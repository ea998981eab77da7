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

Single sign-on (``PIPELINE_STUDIO_AUTH=sso`` or ``accounts,sso``) is Streamlit's own ``st.login``: Streamlit runs
the OpenID Connect flow with the provider of ``.streamlit/secrets.toml``'s ``[auth]`` section and keeps who signed
in, in its own signed ``HttpOnly`` cookie; ``st.user`` then holds the ID token's claims, and
``studio.accounts.sso_account`` maps its issuer and subject to an account of the same table. A single sign-on lasts
``PIPELINE_STUDIO_SESSION_HOURS`` from when the provider issued it (the token's ``iat``), then the browser is sent
through the provider again.
"""

from __future__ import annotations

import re
import time
from typing import Any

import streamlit as st

from pages.common import account_line_html
from studio import accounts
from studio.accounts import Account
from studio.settings import Settings
from studio.workspace import current_store

COOKIE = "pipeline_studio_session"
TOKEN = "signin_token"  # this browser session's token, once signed in (the cookie arrives only with a reload)
VIA_SSO = "signin_via_sso"  # the account came from st.user: signing out is st.logout()
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,100}")


def signed_in_account(config: Settings) -> Account | None:
    """The account this browser is signed in as: a built-in account's session (this session's token, else the
    cookie's), else, when single sign-on is offered, the identity ``st.user`` holds; ``None`` if none is live."""
    account = _built_in_account() if config.offers("accounts") else None
    if account is None and config.offers("sso"):
        account = _sso_account(config)
    return account


def _built_in_account() -> Account | None:
    token = st.session_state.get(TOKEN) or _cookie()
    account = accounts.current_user(current_store(), token)
    if account is None:
        st.session_state.pop(TOKEN, None)
        return None
    st.session_state[TOKEN] = token
    return account


def _sso_account(config: Settings) -> Account | None:
    """The account of the identity Streamlit's single sign-on holds for this browser, made at its first sign-in;
    ``None`` when nobody signed in, or when the sign-in is older than the session lifetime."""
    claims = st.user.to_dict()  # without a sign-in (or a server, in AppTest) it may lack even is_logged_in
    if not claims.get("is_logged_in"):
        st.session_state.pop(VIA_SSO, None)
        return None
    issued = claims.get("iat")
    if isinstance(issued, int | float) and time.time() - issued > config.session_hours * 3600:
        st.logout()  # the browser is sent to Streamlit's sign-out; this run goes on, as nobody
        st.session_state.pop(VIA_SSO, None)
        return None
    account = accounts.sso_account(current_store(), accounts.Identity(
        issuer=_text(claims.get("iss")), subject=_text(claims.get("sub")), email=_text(claims.get("email")),
        name=_text(claims.get("name"))), signing_in=not st.session_state.get(VIA_SSO))
    st.session_state[VIA_SSO] = True
    return account


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def sso_problem(config: Settings) -> str | None:
    """Why single sign-on cannot work as configured (one line for the sign-in page), or ``None``."""
    try:
        section = st.secrets.get("auth")
    except (FileNotFoundError, OSError, ValueError):
        section = None
    if not section:
        return ("Single sign-on is turned on (PIPELINE_STUDIO_AUTH) but .streamlit/secrets.toml has no [auth] "
                "section: give it redirect_uri, cookie_secret, client_id, client_secret and server_metadata_url.")
    if config.sso_provider and config.sso_provider not in section:
        return (f"PIPELINE_STUDIO_SSO_PROVIDER names [auth.{config.sso_provider}], which .streamlit/secrets.toml "
                "does not have.")
    return None


def sign_in_page(config: Settings) -> None:
    """The only page shown until someone signs in."""
    _forget_cookie()
    store = current_store()
    _, middle, _ = st.columns([1, 1.4, 1])  # a form of two fields reads better narrow on a wide page
    with middle:
        st.title("Pipeline Studio")
        st.subheader("Sign in")
        if config.offers("sso"):
            _sso_button(config)
        if not config.offers("accounts"):
            return
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


def _sso_button(config: Settings) -> None:
    problem = sso_problem(config)
    if problem:
        st.error(problem)
        return
    if st.button(f"Sign in with {config.sso_label}", key="signin_sso", type="primary", icon=":material/login:"):
        if config.sso_provider:
            st.login(config.sso_provider)
        else:
            st.login()
    if config.offers("accounts"):
        st.caption("or with an account of this server:")


def account_sidebar(account: Account, config: Settings) -> None:
    """Who is signed in, and the sign-out button; keeps the browser's cookie holding this session's token."""
    token = st.session_state.get(TOKEN, "")
    with st.sidebar:
        row = st.container(horizontal=True, vertical_alignment="center", wrap=False)  # the button as wide as its label
        role = " · admin" if account.is_admin else ""
        row.markdown(account_line_html(account.name, role), unsafe_allow_html=True)
        if row.button("Sign out", key="signout"):
            if st.session_state.pop(VIA_SSO, None):
                st.logout()  # Streamlit forgets the identity (and asks the provider to, when it can) ...
                st.stop()  # ... by sending the browser to its sign-out, which a rerun now would cancel
            accounts.end_session(current_store(), token)
            st.session_state.pop(TOKEN, None)
            st.rerun()
        if token and _cookie() != token and _TOKEN_SHAPE.fullmatch(token):
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

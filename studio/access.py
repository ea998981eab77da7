"""Who may reach the app: a server listening beyond this machine must ask people to sign in.

Without sign-in every visitor is the same local user, who sees, changes and deletes everything. That is right
for one person on their own machine (``127.0.0.1``, the default in ``.streamlit/config.toml``) and wrong for
anyone else who can reach the port, so :func:`check_app_address` refuses a non-loopback address unless sign-in
is configured. ``app.py`` calls it on every script run with the address the server really listens on (Streamlit's
``server.address``, however it was set: config file, environment or ``--server.address``), so no way of starting
the app skips it.
"""

from __future__ import annotations

from pipeline_core.errors import StudioError
from pipeline_core.serving.server import is_loopback

LOCAL_ADDRESS = "127.0.0.1"
UNIX_SOCKET_PREFIX = "unix://"  # a socket file: reachable only through the file system's permissions


class StartRefused(StudioError):
    """The app must not run as asked: it would serve everything to everyone who can reach it."""


def check_app_address(address: str | None, *, sign_in: bool) -> None:
    """Raise :class:`StartRefused` (one line: why and how to fix it) for an address others could reach without
    signing in. ``None`` or ``""`` is Streamlit's "every interface", so it counts as reachable."""
    if sign_in or (address and (is_loopback(address) or address.startswith(UNIX_SOCKET_PREFIX))):
        return
    shown = address or "every interface (server.address is not set)"
    raise StartRefused(
        f"refusing to start on {shown} without sign-in: anyone who can reach it could read and delete every "
        f"dataset and model; set PIPELINE_STUDIO_AUTH=accounts (first admin: python -m studio users add-admin "
        f"NAME) or listen on {LOCAL_ADDRESS} (server.address in .streamlit/config.toml)")

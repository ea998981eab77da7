"""Who may reach the app: a server listening beyond this machine must ask people to sign in.

Without sign-in every visitor is the same local user, who sees, changes and deletes everything. That is right
for one person on their own machine (``127.0.0.1``, the default in ``.streamlit/config.toml``) and wrong for
anyone else who can reach the port, so :func:`check_app_address` refuses a non-loopback address unless sign-in
is configured. ``app.py`` calls it on every script run with the address the server really listens on (Streamlit's
``server.address``, however it was set: config file, environment or ``--server.address``), so no way of starting
the app skips it.

Listening on loopback is not enough by itself: with *DNS rebinding* a web page on ``evil.example`` re-points its
own name at 127.0.0.1 and the browser then lets its script open the app's WebSocket as if it were that site, and
read everything. Such a page arrives with ``Host: evil.example``, so :func:`check_host` (also called by
``app.py``, on each script run of a local app) answers only to this machine's loopback names.
"""

from __future__ import annotations

from urllib.parse import urlsplit

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


class HostRefused(StudioError):
    """The page was opened under a name that is not this machine's own, which a local app does not answer."""


def check_host(host_header: str | None, *, address: str | None, port: int | None = None) -> None:
    """Raise :class:`HostRefused` unless ``host_header`` names a loopback host (``localhost``, ``127.x``, ``::1``).

    For an app without sign-in only. A Unix socket is reached through whatever proxy owns it, whose name is not
    ours to know, so it is not checked.
    """
    if address and address.startswith(UNIX_SOCKET_PREFIX):
        return
    try:
        name = urlsplit(f"//{host_header or ''}").hostname or ""
    except ValueError:
        name = ""
    if name and is_loopback(name):
        return
    shown = (host_header or "")[:80]
    where = f"http://{LOCAL_ADDRESS}:{port or '<port>'}"
    raise HostRefused(f"this app was opened as {shown!r}, not as this machine: without sign-in it answers only to "
                      f"localhost and {LOCAL_ADDRESS}; open it at {where}, or configure sign-in "
                      "(PIPELINE_STUDIO_AUTH=accounts) to share it")

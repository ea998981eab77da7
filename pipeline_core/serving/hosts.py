"""Which ``Host`` headers a scoring service answers: the names it was bound to, never a stranger's.

A service on loopback without a token is reachable from any web page the user opens: the page's script cannot
read another origin's answers, but after *DNS rebinding* (``evil.example`` re-resolved to 127.0.0.1) the browser
treats the service as ``evil.example`` itself and lets the script read ``/schema`` and post rows. Such requests
carry ``Host: evil.example``; refusing every host the service was not bound under closes that door. Starlette's
``TrustedHostMiddleware`` does the same check but answers plain text; this one answers the service's
``{"detail": "<one line>"}`` like every other refusal.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterable

from starlette._utils import parse_host_header
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

LOCAL_NAMES = ("localhost", "127.0.0.1", "[::1]")
REFUSED_STATUS = 400


def service_hosts(bound: str) -> tuple[str, ...]:
    """The ``Host`` names a service bound to ``bound`` answers (lower case, IPv6 in brackets, no port).

    Always the loopback names; a specific address adds itself. A wildcard (``0.0.0.0``, ``::``) is no name of
    its own (and is not answered), so it adds this machine's host name, fully qualified name and the addresses
    they resolve to: the names a client on the network uses to reach it.
    """
    names = set(LOCAL_NAMES)
    if not _is_wildcard(bound):  # 0.0.0.0 is no name: browsers that send it reach local services (0.0.0.0-day)
        names.add(_as_host(bound))
    else:
        machine = {socket.gethostname(), socket.getfqdn()}
        for name in list(machine):
            try:
                machine.update(str(info[4][0]) for info in socket.getaddrinfo(name, None))
            except OSError:  # a host name that does not resolve adds only itself
                continue
        names.update(_as_host(name) for name in machine)
    names.discard("")
    return tuple(sorted(names))


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _as_host(name: str) -> str:
    """How ``name`` appears in a Host header: lower case, an IPv6 address in brackets."""
    bare = name.strip("[]").lower()
    try:
        return f"[{bare}]" if ipaddress.ip_address(bare).version == 6 else bare
    except ValueError:
        return bare


class TrustedHosts:
    """ASGI middleware answering 400 with a reason to a request (or WebSocket) whose Host is not allowed."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]):
        self.app = app
        self.allowed = frozenset(_as_host(name) for name in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("host")
        parsed = parse_host_header(given)
        if parsed is not None and parsed.host.lower() in self.allowed:
            await self.app(scope, receive, send)
            return
        shown = (given or "")[:80]
        detail = (f"this service does not answer to the host {shown!r}; call it by the address it listens on "
                  f"({', '.join(sorted(self.allowed))})") if given else "the request has no Host header"
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": REFUSED_STATUS,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

"""Run a scoring service on uvicorn: load a model file once, bind, say where it listens, serve until stopped.

A service on a non-loopback address without a token would let anyone on the network score rows and read
the model's schema, so :func:`check_address` refuses it before anything listens. The socket is bound and
listening before the ``serving ... on http://host:port`` line is printed, so whoever reads that line (a
test, the registry page) can connect at once; ``--port 0`` picks a free port and the line names it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_core.artifacts.bundle import load_model_or_bundle
from pipeline_core.artifacts.skops_io import LoadedModel
from pipeline_core.errors import StudioError
from pipeline_core.serving.alerts import AlertWatcher
from pipeline_core.serving.app import create_app
from pipeline_core.serving.auth import Authorizer
from pipeline_core.serving.feedback import FeedbackSink
from pipeline_core.serving.hosts import service_hosts
from pipeline_core.serving.prediction_log import PredictionLogWriter
from pipeline_core.serving.reload import ModelSource
from pipeline_core.serving.requests import ServiceLimits
from pipeline_core.serving.schema import ModelIdentity, model_identity
from pipeline_core.serving.shadow import ShadowScorer

BACKLOG = 2048


@dataclass(frozen=True)
class ServiceHooks:
    """What an application plugs into a service it starts: where scored rows and true outcomes are stored."""

    prediction_log: PredictionLogWriter | None = None
    feedback: FeedbackSink | None = None
    shadow: ShadowScorer | None = None  # a challenger scoring every answered request into its own log
    alerts: AlertWatcher | None = None  # alert thresholds evaluated in the background, shown in /metrics
    source: ModelSource | None = None  # where a newer model comes from (a registry stage): the service follows it


class ServeError(StudioError):
    """The service cannot start as asked (an address it must not or cannot listen on)."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IPs (127.0.0.0/8, ::1); a host name is never taken on trust."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_address(host: str, token: str | None, *, authorizer: Authorizer | None = None) -> None:
    """Refuse a non-loopback ``host`` unless requests need a token (``token``, or an application's ``authorizer``)."""
    if not token and authorizer is None and not is_loopback(host):
        raise ServeError(f"refusing to listen on {host} without a token: anyone who can reach it could use the "
                         "model; set a token (--token-env VAR) or listen on 127.0.0.1")


def open_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port`` 0: a free one), or a :class:`ServeError` saying why not."""
    address = host.strip("[]")
    if address.lower() == "localhost":
        address = "127.0.0.1"
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    # IPPROTO_TCP spelled out: asyncio turns Nagle's algorithm off only on sockets whose proto says TCP, and
    # with it on, a response's headers and body (two writes) waited for the client's delayed ACK: 40 ms each.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(BACKLOG)
    except (OSError, OverflowError) as e:
        sock.close()
        reason = getattr(e, "strerror", None) or str(e)
        raise ServeError(f"cannot listen on {host} port {port}: {reason}") from e
    return sock


def load_served_model(path: str | Path) -> tuple[LoadedModel, ModelIdentity]:
    """The model of a skops file or a bundle (trusted types only) and its identity: the file's sha256 as version."""
    path = Path(path)
    data = path.read_bytes()
    model = load_model_or_bundle(data, name=path.name)
    return model, model_identity(model, sha256=hashlib.sha256(data).hexdigest())


def serve(path: str | Path, *, host: str, port: int, token: str | None, limits: ServiceLimits | None = None,
          announce: Callable[[str], None] = print) -> None:
    """Serve the model file at ``path`` until interrupted (Ctrl-C or SIGTERM end it cleanly)."""
    check_address(host, token)  # before the model is loaded: a refusal should not wait for it
    model, identity = load_served_model(path)
    serve_model(model, identity, host=host, port=port, token=token, limits=limits, announce=announce)


def serve_model(model: LoadedModel, identity: ModelIdentity, *, host: str, port: int, token: str | None,
                limits: ServiceLimits | None = None, announce: Callable[[str], None] = print,
                prediction_log: PredictionLogWriter | None = None, feedback: FeedbackSink | None = None,
                background: Any = None, shadow: ShadowScorer | None = None,
                alerts: AlertWatcher | None = None, extra_hosts: Sequence[str] = (), source: ModelSource | None = None,
                reload_seconds: float | None = None, authorizer: Authorizer | None = None) -> None:
    """Serve a loaded model (a file's, or a registry stage's) until interrupted.

    ``prediction_log``, ``feedback``, ``background`` and ``source`` go to :func:`create_app`; with ``source`` and
    ``reload_seconds``, a background thread checks it that often and swaps to a new version as soon as it sees one.
    Every log (the first model's and each later one's) is closed, its queue written, when the service stops, so a
    clean stop loses no logged row. ``extra_hosts``: ``Host`` names answered besides the bound address's
    (``hosts.service_hosts``), e.g. the name a reverse proxy forwards. ``authorizer``: checks each request's bearer
    token instead of the one ``token`` (:mod:`pipeline_core.serving.auth`).
    """
    check_address(host, token, authorizer=authorizer)
    try:
        _run(model, identity, host=host, port=port, token=token, limits=limits, announce=announce,
             prediction_log=prediction_log, feedback=feedback, background=background, shadow=shadow,
             alerts=alerts, extra_hosts=extra_hosts, source=source, reload_seconds=reload_seconds,
             authorizer=authorizer)
    finally:
        if alerts is not None:
            alerts.close()
        if shadow is not None:
            shadow.close()
        if prediction_log is not None:
            prediction_log.close()


def _run(model: LoadedModel, identity: ModelIdentity, *, host: str, port: int, token: str | None,
         limits: ServiceLimits | None, announce: Callable[[str], None], prediction_log: PredictionLogWriter | None,
         feedback: FeedbackSink | None, background: Any = None, shadow: ShadowScorer | None = None,
         alerts: AlertWatcher | None = None, extra_hosts: Sequence[str] = (), source: ModelSource | None = None,
         reload_seconds: float | None = None, authorizer: Authorizer | None = None) -> None:
    import uvicorn

    app = create_app(model, token=token, limits=limits, identity=identity, prediction_log=prediction_log,
                     feedback=feedback, background=background, shadow=shadow,
                     allowed_hosts=(*service_hosts(host), *extra_hosts), alerts=alerts, source=source,
                     authorizer=authorizer)
    reloader = app.state.reloader
    if reloader is not None and reload_seconds:
        reloader.start(reload_seconds)
    sock = open_socket(host, port)
    bound_port = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    access = ("an API token is required (except /health)" if authorizer is not None
              else "a bearer token is required (except /health)" if token else "no token")
    announce(f"serving '{identity.name}' ({identity.task or 'model'}, version {identity.version}) on "
             f"http://{shown}:{bound_port}; {access}")
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", server_header=False,
                            backlog=BACKLOG)
    try:
        with _sigterm_exits():
            uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        if reloader is not None:
            reloader.stop()
        app.state.slot.close()


@contextmanager
def _sigterm_exits() -> Iterator[None]:
    """SIGTERM ends the service through ``finally`` blocks, so its prediction logs write what they hold.

    uvicorn shuts down gracefully on SIGTERM, then raises the signal again with the handler it found; with the
    default handler that killed the process on the spot, and rows still queued for the log were lost. Here the
    handler it finds raises ``SystemExit(143)`` (128 + SIGTERM, the usual status), which unwinds normally.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

"""Scoring services started from the app: one ``python -m studio serve`` process per service, on loopback.

A service serves the model a registry stage holds when it starts (``studio.cli`` ``serve --pipeline``), on
127.0.0.1 and a free port its process picks and announces. Without sign-in it takes no token (loopback only: the
scoring service refuses anything else without one); with sign-in it takes the workspace's API tokens, and each
service is given a secret of its own that reads ``/metrics`` and nothing else. Each is recorded in storage (pid,
port, pipeline, version, started, that secret), so the Models page lists it after a refresh or an app restart, with
its request count read live from its ``/metrics``, and can stop it. The process runs in its own session, so it
outlives the app process that started it until someone stops it.

Before a recorded pid is signalled, its command line is checked to still be a scoring service: a pid the
system reused for another process is marked stopped, never killed.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import storage
from storage import StorageError
from studio import registry
from studio.audit_log import EventKind
from studio.audit_log import record as audit
from studio.roles import Action, Actor, NotFound, require
from studio.service_tokens import METRICS_SECRET_ENV
from studio.workspace import current_store

HOST = "127.0.0.1"
START_DEADLINE = 120.0  # seconds for the process to load the model and listen
STOP_DEADLINE = 20.0
SCRAPE_TIMEOUT = 2.0
_BANNER = re.compile(r"on http://[^\s;]+:(?P<port>\d+);")
_PREDICT_COUNT = re.compile(r'^scoring_requests_total\{endpoint="/predict",status="(\d+)"\} ([0-9.e+]+)$', re.M)
_SERVED_VERSION = re.compile(r'^scoring_model_info\{[^}\n]*\bversion="(\d+)"', re.M)


@dataclass(frozen=True)
class ServiceStatus:
    """One recorded service as the Models page shows it."""

    id: int
    pipeline: str
    version: int
    stage: str
    url: str
    pid: int
    started_at: datetime
    started_by: str
    running: bool
    requests: int | None  # POST /predict requests answered so far (any status); None when /metrics did not answer


def start_service(actor: Actor, pipeline: str | int, stage: str = registry.PRODUCTION, *, by: str) -> ServiceStatus:
    """Start a service for the model ``stage`` of ``pipeline`` holds; returns once it listens (or a one-line error).

    Editors and owners may; the service process acts in the pipeline's workspace as the local user (it runs here)."""
    row = registry.get_pipeline(actor, pipeline, Action.SAVE)
    version = registry.model_in_stage(actor, row.id, stage)
    if version is None:
        raise StorageError(f"Pipeline '{row.name}' has no model in {stage}: there is nothing to serve.")
    logs = current_store().home / "services"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{row.id}-{version.version}-{time.time_ns()}.log"
    secret = f"psm_{secrets.token_urlsafe(32)}"
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "studio", "serve", "--pipeline", row.name, "--stage", stage, "--host", HOST,
             "--port", "0", "--workspace", str(actor.workspace_id)], stdout=out, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, METRICS_SECRET_ENV: secret})
    port = _announced_port(process, log)
    service = storage.record_service(current_store(), pipeline_id=row.id, version=version.version, stage=stage,
                                     pid=process.pid, host=HOST, port=port, started_by=by, metrics_secret=secret)
    audit(current_store(), actor, EventKind.SERVICE, f"pipeline '{row.name}' {stage}",
           f"started service #{service.id} (version {version.version}) on {HOST}:{port}")
    return _status(service, row.name)


def _announced_port(process: subprocess.Popen, log: Path) -> int:
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        match = _BANNER.search(log.read_text(errors="replace"))
        if match:
            return int(match["port"])
        if process.poll() is not None:
            lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
            reason = lines[-1].removeprefix("error: ") if lines else f"exit status {process.returncode}"
            raise StorageError(f"The scoring service did not start: {reason}")
        time.sleep(0.1)
    _end(process.pid)
    raise StorageError(f"The scoring service did not listen within {START_DEADLINE:.0f} s; it was stopped.")


def list_services(actor: Actor) -> list[ServiceStatus]:
    """The workspace's services not stopped, oldest first; one whose process has gone is marked stopped and left
    out."""
    store, found = current_store(), []
    require(store, actor, Action.READ)
    names = {p.id: p.name for p in storage.list_pipelines(store, workspace_id=actor.workspace_id)}
    for record in storage.list_running_services(store):
        if record.pipeline_id not in names:
            continue
        if not _is_service(record.pid):
            storage.mark_service_stopped(store, record.id)
            continue
        found.append(_status(record, names[record.pipeline_id]))
    return found


def stop_service(actor: Actor, service_id: int) -> None:
    """Stop a recorded service of the workspace (editors and owners; SIGTERM, then SIGKILL if it lingers) and mark
    it stopped."""
    store = current_store()
    require(store, actor, Action.SAVE)
    record = storage.get_service(store, service_id)
    pipeline = storage.get_pipeline(store, record.pipeline_id) if record is not None else None
    if record is None or pipeline is None or pipeline.workspace_id != actor.workspace_id:
        raise NotFound(f"Scoring service #{service_id} was not found in this workspace.")
    if record.stopped_at is None and _is_service(record.pid):
        _end(record.pid)
    storage.mark_service_stopped(store, service_id)
    audit(store, actor, EventKind.SERVICE, f"pipeline '{pipeline.name}' {record.stage}",
          f"stopped service #{service_id}")


def _status(record: storage.ScoringService, pipeline: str) -> ServiceStatus:
    url = f"http://{record.host}:{record.port}"
    requests, serving = _scrape(url, record.metrics_secret)
    return ServiceStatus(id=record.id, pipeline=pipeline, version=serving or record.version, stage=record.stage,
                         url=url, pid=record.pid, started_at=record.started_at, started_by=record.started_by,
                         running=True, requests=requests)


def _scrape(url: str, secret: str) -> tuple[int | None, int | None]:
    """``POST /predict`` requests the service has counted, and the version it serves now (it follows its stage, so
    a promotion changes it), from its Prometheus text; None for what it did not say."""
    request = urllib.request.Request(f"{url}/metrics", headers={"Authorization": f"Bearer {secret}"} if secret else {})
    try:
        with urllib.request.urlopen(request, timeout=SCRAPE_TIMEOUT) as response:  # noqa: S310 - loopback
            text = response.read().decode("utf-8", "replace")
    except OSError:
        return None, None
    serving = _SERVED_VERSION.search(text)
    return (int(sum(float(count) for _status, count in _PREDICT_COUNT.findall(text))),
            int(serving[1]) if serving else None)


def _is_service(pid: int) -> bool:
    """Whether ``pid`` is alive and still a scoring service (a reused pid is some other program)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"serve" in command and b"--pipeline" in command


def _end(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_DEADLINE
    while time.monotonic() < deadline and _is_service(pid):
        _reap(pid)
        time.sleep(0.1)
    if _is_service(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _reap(pid)


def _reap(pid: int) -> None:
    """Collect the exit status of a service this process started, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)

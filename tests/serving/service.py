"""Start real scoring services for tests and talk to them over real sockets.

:class:`CliService` runs ``python -m pipeline_core serve`` in a subprocess, as a user would, and reads the
``serving ... on http://host:port`` line it prints once its socket listens; :class:`ThreadService` runs an app
built in the test process on uvicorn in a thread, for apps the command line cannot make (a hook, a test model).
Both wait for ``/health`` with a generous deadline and never time anything.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from pipeline_core.serving.server import open_socket

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
START_DEADLINE = 180.0  # seconds: imports and model loading on a loaded 2-core machine
URL_LINE = re.compile(r"on http://(?P<host>[^\s;]+):(?P<port>\d+);")


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """One keep-alive connection (http.client), so a thread can send many requests cheaply."""

    def __init__(self, host: str, port: int, token: str | None = None, timeout: float = 120.0):
        self.host, self.port, self.token, self.timeout = host, port, token, timeout
        self.connection = http.client.HTTPConnection(host, port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | str | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        sent = dict(headers or {})
        if self.token is not None:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        payload = body.encode() if isinstance(body, str) else body
        for attempt in range(2):  # a keep-alive connection the server closed is reopened once
            try:
                self.connection.request(method, path, body=payload, headers=sent)
                response = self.connection.getresponse()
                data = response.read()
                return Reply(response.status, data, {k.lower(): v for k, v in response.getheaders()})
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post_json(self, path: str, document: Any) -> Reply:
        return self.request("POST", path, json.dumps(document), {"Content-Type": "application/json"})

    def close(self) -> None:
        self.connection.close()


def raw_exchange(host: str, port: int, data: bytes, timeout: float = 60.0) -> tuple[int, bytes]:
    """Send raw bytes (headers and body exactly as given) and read the reply: for bodies http.client won't send."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        # the server may answer and close before taking the whole body; its answer is still readable
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        head, _, rest = received.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return int(head.split()[1]), rest[:length]


def wait_healthy(host: str, port: int, alive: Any = lambda: True) -> None:
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        if not alive():
            raise AssertionError("the service stopped before answering /health")
        try:
            if Client(host, port, timeout=10).get("/health").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"no healthy service on {host}:{port} within {START_DEADLINE:.0f} s")


class CliService:
    """``python -m pipeline_core serve MODEL --port 0 ...`` in a subprocess, stopped with SIGTERM.

    ``model`` None: the arguments name the model (``--pipeline NAME`` with ``module="studio"``). The environment
    is this process's at the call (a test's studio home included), plus ``env``.
    """

    def __init__(self, model: Path | None, *args: str, env: dict[str, str] | None = None,
                 module: str = "pipeline_core"):
        self.log = Path(tempfile.mkstemp(prefix="serve-", suffix=".err")[1])
        command = [sys.executable, "-m", module, "serve", *([str(model)] if model else []), "--port", "0", *args]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, "PYTHONPATH": ENV["PYTHONPATH"], **(env or {})}, text=True,
            stdout=subprocess.PIPE, stderr=self.log.open("w"))
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.process.stdout], daemon=True).start()
        try:
            self.banner = lines.get(timeout=START_DEADLINE)
        except queue.Empty:
            self.stop()
            raise AssertionError(f"serve printed nothing; stderr: {self.log.read_text()[-2000:]}") from None
        match = URL_LINE.search(self.banner)
        assert match, f"unexpected first line {self.banner!r}; stderr: {self.log.read_text()[-2000:]}"
        self.host, self.port = match["host"], int(match["port"])
        wait_healthy(self.host, self.port, alive=lambda: self.process.poll() is None)

    def client(self, token: str | None = None) -> Client:
        return Client(self.host, self.port, token)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=60)
        finally:
            self.log.unlink(missing_ok=True)


class ThreadService:
    """An app built in this process, on uvicorn in a thread, on a free loopback port."""

    def __init__(self, app: Any):
        self.socket = open_socket("127.0.0.1", 0)
        self.host, self.port = "127.0.0.1", self.socket.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)
        self.thread.start()
        wait_healthy(self.host, self.port, alive=self.thread.is_alive)

    def client(self, token: str | None = None) -> Client:
        return Client(self.host, self.port, token)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)
        self.socket.close()

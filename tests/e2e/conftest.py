"""Real-browser harness: the real app in a subprocess, driven by headless Debian Chromium.

Fixtures a test may rely on:

* ``app_url`` (session): ``http://127.0.0.1:<port>`` of ``streamlit run app.py`` with a fresh
  ``PIPELINE_STUDIO_HOME`` (so a fresh database); stopped by its process group at the end.
* ``threads_app_url`` (function): a fresh app of its own with jobs in threads.
* ``page`` (function): a Playwright page in a new context (1280×800) already showing the app.
* ``shot(page, name)``: saves ``screenshots/e2e_<name>.png`` at the repo root.

Ways to drive and wait for the page live in ``tests/e2e/ui.py``; test data in ``tests/e2e/data.py``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.ui import RERUN_TIMEOUT_MS, VIEWPORT, wait_for_app

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MAX_SHOT_HEIGHT = 6000
HEALTH_TIMEOUT_S = 60
MISSING_CHROMIUM = "install Debian's chromium: apt-get install chromium"


# ---- the app server ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen) -> None:
    """Terminate the server's own process group (it was started in a new session), then kill if needed."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def studio_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("studio_home")


@contextmanager
def running_app(home: Path, log_path: Path, *, options: tuple[str, ...] = (), **env: str) -> Iterator[str]:
    """``streamlit run app.py`` on a free port with its store under ``home`` (and Streamlit ``options`` such as
    ``--secrets.files PATH``); yields its URL once healthy."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    environ = {**os.environ, "PIPELINE_STUDIO_HOME": str(home), "PYTHONUNBUFFERED": "1", **env}
    environ.pop("DATABASE_URL", None)  # the fresh SQLite file under the tmp home, never a shared database
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        *options,
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO, env=environ, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                reason = f"exited with {process.returncode}" if process.poll() is not None else "never answered"
                pytest.fail(f"streamlit {reason} on {url}/_stcore/health; log:\n{log_path.read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        _stop(process)
        if os.environ.get("E2E_SHOW_SERVER_LOG"):
            sys.stderr.write(log_path.read_text())


@pytest.fixture(scope="session")
def app_url(studio_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_app(studio_home, tmp_path_factory.mktemp("server") / "streamlit.log") as url:
        yield url


@pytest.fixture
def threads_app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh app of its own whose jobs run in threads of the server (no Dask cluster to start)."""
    with running_app(tmp_path_factory.mktemp("threads_home"), tmp_path_factory.mktemp("server") / "streamlit.log",
                     PIPELINE_STUDIO_JOBS="threads") as url:
        yield url


# ---- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(MISSING_CHROMIUM)
        pytest.skip(MISSING_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_url: str):
    """A new context per test, showing the app's first page once the first script run has finished."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(RERUN_TIMEOUT_MS)
    page = context.new_page()
    page.goto(app_url)
    wait_for_app(page)
    yield page
    context.close()


@pytest.fixture
def fresh_page(browser):
    """A page in a browser context of its own at 1280×800, for tests that open their own app's address."""
    context = browser.new_context(viewport=VIEWPORT)
    yield context.new_page()
    context.close()


@pytest.fixture
def shot():
    SCREENSHOTS.mkdir(exist_ok=True)

    def save(page, name: str) -> Path:
        """Streamlit scrolls inside its main section, so grow the viewport to it for one full-length shot."""
        path = SCREENSHOTS / f"e2e_{name}.png"
        height = page.evaluate(
            '() => Math.max(...[...document.querySelectorAll(\'[data-testid="stMain"], '
            '[data-testid="stSidebarContent"]\')].map(e => e.scrollHeight), 0)'
        )
        tall = min(max(int(height), VIEWPORT["height"]), MAX_SHOT_HEIGHT)
        page.set_viewport_size({"width": VIEWPORT["width"], "height": tall})
        try:
            page.wait_for_timeout(300)  # let charts and grids re-lay out at the new size
            page.screenshot(path=str(path), full_page=True)
        finally:
            page.set_viewport_size(VIEWPORT)
        return path

    return save

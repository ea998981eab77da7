"""Issue 19: the app listens on this machine only unless sign-in is configured, and says so when it refuses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from studio.access import HostRefused, StartRefused, check_app_address, check_host

REPO = Path(__file__).resolve().parents[2]
START_DEADLINE_S = 120  # imports on a loaded 2-core machine; a deadline, not a timing


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.5", "::1", "localhost", "unix:///tmp/studio.sock"])
def test_this_machine_needs_no_sign_in(address):
    check_app_address(address, sign_in=False)


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "192.168.1.10", "studio.example.com", "", None])
def test_other_addresses_are_refused_without_sign_in_with_how_to_fix_it(address):
    with pytest.raises(StartRefused, match="without sign-in") as refused:
        check_app_address(address, sign_in=False)
    line = str(refused.value)
    assert "\n" not in line and "127.0.0.1" in line
    check_app_address(address, sign_in=True)


def test_the_default_configuration_listens_on_loopback():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, timeout: float = 5) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return None


def _start_on_every_interface(home: Path, **env: str) -> tuple[subprocess.Popen, int]:
    """``streamlit run app.py --server.address 0.0.0.0`` (bypassing config.toml), then its first script run.

    Streamlit runs the script on the first visit; its script health check is such a visit without a browser.
    Returns the process and the health check's status (``None`` when the process ended before answering).
    """
    port = _free_port()
    environ = {**os.environ, "PIPELINE_STUDIO_HOME": str(home), "PYTHONUNBUFFERED": "1",
               "PIPELINE_STUDIO_JOBS": "threads", **env}
    environ.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port",
         str(port), "--server.headless", "true", "--server.scriptHealthCheckEnabled", "true"],
        cwd=REPO, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + START_DEADLINE_S
    while _get(f"http://127.0.0.1:{port}/_stcore/health") != 200:
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            pytest.fail("streamlit never answered")
        time.sleep(0.2)
    return process, _get(f"http://127.0.0.1:{port}/_stcore/script-health-check", timeout=START_DEADLINE_S)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 9)
    process.communicate()


def test_streamlit_run_on_every_interface_refuses_with_one_line_and_status_2(tmp_path):
    home = tmp_path / "home"
    process, _ = _start_on_every_interface(home)
    try:
        _, stderr = process.communicate(timeout=START_DEADLINE_S)  # the first script run ends the server
    finally:
        _stop(process)
    assert process.returncode == 2
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: refusing to start on 0.0.0.0 without sign-in: anyone who can reach it could read and "
                      "delete every dataset and model; set PIPELINE_STUDIO_AUTH=accounts (first admin: python -m "
                      "studio users add-admin NAME) or listen on 127.0.0.1 (server.address in .streamlit/config.toml)"]
    assert not (home / "studio.db").exists()  # refused before the store was opened


def test_with_sign_in_configured_it_runs_on_every_interface(tmp_path):
    process, status = _start_on_every_interface(tmp_path / "home", PIPELINE_STUDIO_AUTH="accounts")
    try:
        assert status == 200 and process.poll() is None  # the script ran (the sign-in page) and the server lives
    finally:
        _stop(process)


@pytest.mark.parametrize("host", ["127.0.0.1:8501", "localhost:8501", "LOCALHOST", "[::1]:8501", "127.0.0.2"])
def test_a_local_app_answers_to_this_machines_names(host):
    check_host(host, address="127.0.0.1")


@pytest.mark.parametrize("host", ["evil.example:8501", "evil.example", "127.0.0.1.evil.example", "studio.lan",
                                  "192.168.1.10:8501", "", None, "[::1"])
def test_a_local_app_refuses_any_other_host_with_one_line(host):
    with pytest.raises(HostRefused, match="without sign-in it answers only to localhost and 127.0.0.1") as refused:
        check_host(host, address="127.0.0.1")
    assert "\n" not in str(refused.value)
    check_host(host, address="unix:///run/studio.sock")  # behind a proxy whose name is not ours to know

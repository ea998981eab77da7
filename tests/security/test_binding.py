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

from studio.access import StartRefused, check_app_address

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


def _get(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return None


def test_streamlit_run_on_every_interface_refuses_with_one_line_and_status_2(tmp_path):
    """The real command a user would type, with the address on the command line (bypassing config.toml).

    Streamlit runs the script on the first visit; its script health check is such a visit without a browser.
    """
    port = _free_port()
    home = tmp_path / "home"
    env = {**os.environ, "PIPELINE_STUDIO_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port",
         str(port), "--server.headless", "true", "--server.scriptHealthCheckEnabled", "true"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while _get(f"http://127.0.0.1:{port}/_stcore/health") != 200:
            assert process.poll() is None and time.monotonic() < deadline, "streamlit never answered"
            time.sleep(0.2)
        _get(f"http://127.0.0.1:{port}/_stcore/script-health-check")  # the first script run: the app ends here
        _, stderr = process.communicate(timeout=START_DEADLINE_S)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 9)
            process.wait()
    assert process.returncode == 2
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: refusing to start on 0.0.0.0 without sign-in: anyone who can reach it could read and "
                      "delete every dataset and model; listen on 127.0.0.1 (server.address in "
                      ".streamlit/config.toml, or --server.address 127.0.0.1)"]
    assert not (home / "studio.db").exists()  # refused before the store was opened

"""A process killed in the middle of a save leaves no row without its file and no stray file.

The child processes die on purpose at the two dangerous moments: after the file is written
and the INSERT sent but before COMMIT, and after COMMIT but before the file is renamed into
place. A third child is killed with SIGKILL at whatever point it happens to be.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import storage
from storage import Store
from tests.storage.helpers import REPO_ROOT, run_python

CRASH = """
import os, sys
import pandas as pd
from sqlalchemy import event
from sqlmodel import Session
import storage
from studio.workspace import current_store
from storage import files
store = current_store()  # the studio of the test's environment, as the app opens it

what, when = sys.argv[1], sys.argv[2]
run = storage.create_run(store, dataset_id=None)
if when == "before_commit":
    event.listen(Session, "after_flush", lambda *args: os._exit(9))
else:
    files.publish = lambda staged: os._exit(9)
if what == "model":
    storage.save_model_artifact(store, run_id=run.id, data=b"model bytes" * 100, fmt="skops")
else:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    storage.save_dataset(store, name="d", file_name="d.csv", fmt="csv", frame=frame, sha256="ab" * 32)
print("survived")
"""

LOOP = """
import os
import pandas as pd
import storage
from studio.workspace import current_store
store = current_store()  # the studio of the test's environment, as the app opens it

run = storage.create_run(store, dataset_id=None)
for i in range(10_000):
    storage.save_model_artifact(store, run_id=run.id, data=os.urandom(1 << 20), fmt="bin")
    frame = pd.DataFrame({"i": range(20_000), "x": [float(i)] * 20_000})
    storage.save_dataset(store, name=f"d{i}", file_name="d.csv", fmt="csv", frame=frame, sha256=f"{i:064x}")
    print(i, flush=True)
"""


def _rows(store: Store) -> tuple[list[storage.Dataset], list[storage.ModelArtifact]]:
    artifacts = [a for run in storage.list_runs(store) for a in storage.list_model_artifacts(store, run_id=run.id)]
    return storage.list_datasets(store), artifacts


def _files(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for kind in ("datasets", "models") for p in (home / kind).glob("*"))


def _assert_database_intact(store: Store) -> None:
    url = store.url
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def _assert_consistent(store: Store, home: Path) -> None:
    """Every row's file is present and intact, and every file belongs to a row."""
    datasets, artifacts = _rows(store)
    for dataset in datasets:
        storage.load_frame(store, dataset)
    for artifact in artifacts:
        storage.load_model_bytes(store, artifact)
    expected = {d.parquet_path for d in datasets} | {a.path for a in artifacts}
    assert _files(home) == sorted(expected)


@pytest.mark.parametrize("what", ["model", "dataset"])
def test_crash_before_commit_leaves_no_row_and_no_file(store, studio: Path, what: str) -> None:
    child = run_python(CRASH, what, "before_commit")
    assert child.returncode == 9, child.stderr

    _assert_database_intact(store)
    storage.reset_engines()
    assert _rows(store) == ([], [])
    assert any(name.endswith(".part") for name in _files(studio)), "the child should have died mid-save"
    assert storage.init_db(store) == 1
    assert _files(studio) == []


@pytest.mark.parametrize("what", ["model", "dataset"])
def test_crash_after_commit_is_completed_at_the_next_start(store, studio: Path, what: str) -> None:
    child = run_python(CRASH, what, "before_rename")
    assert child.returncode == 9, child.stderr

    _assert_database_intact(store)
    assert storage.init_db(store) == 1
    datasets, artifacts = _rows(store)
    assert len(datasets if what == "dataset" else artifacts) == 1
    _assert_consistent(store, studio)
    if what == "dataset":
        assert storage.load_frame(store, datasets[0]).equals(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))


def test_sigkill_at_any_moment_leaves_a_consistent_store(store, studio: Path) -> None:
    rng = random.Random(1234)
    for _ in range(2):
        child = subprocess.Popen(
            [sys.executable, "-c", LOOP], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(rng.randint(2, 4)):
            assert child.stdout.readline(), child.stderr.read()
        os.kill(child.pid, signal.SIGKILL)
        child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL

        _assert_database_intact(store)
        storage.init_db(store)
        _assert_consistent(store, studio)
        assert not [name for name in _files(studio) if "/." in name]

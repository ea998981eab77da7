"""The shared store under stress: full and read-only disks, a process killed mid-run, the next start."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pandas as pd
import pytest
from sqlalchemy import event

import storage
from storage import STOPPED_RUN_MESSAGE, Store
from storage.reporter import mark_lost_runs
from tests.apptest import REPO, open_page, texts


def integrity(store: Store) -> list[tuple]:
    with sqlite3.connect(store.url.removeprefix("sqlite:///")) as connection:
        return connection.execute("PRAGMA integrity_check").fetchall()


def earlier_data(store: Store) -> None:
    for i in range(5):
        storage.save_pipeline_version(store, name="kept", definition={"i": i})
    storage.save_dataset(store, name="kept", file_name="kept.csv", fmt="csv", frame=pd.DataFrame({"a": [1, 2, 3]}),
                         sha256="ab" * 32)


def assert_earlier_data_intact(store: Store) -> None:
    assert integrity(store) == [("ok",)]
    versions = storage.list_versions(store, storage.get_pipeline(store, "kept").id)
    assert [v.definition["i"] for v in versions] == [0, 1, 2, 3, 4]
    [dataset] = storage.list_datasets(store)
    assert storage.load_frame(store, dataset)["a"].tolist() == [1, 2, 3]


def on_every_connection(store: Store, pragma: str) -> None:
    """Apply ``pragma`` to every SQLite connection of the studio's engine from now on."""
    engine = storage.get_engine(store.url)
    engine.dispose()
    event.listen(engine, "connect", lambda connection, _record: connection.execute(pragma))


def test_a_full_database_gives_a_clear_error_and_keeps_earlier_data(store, studio):
    earlier_data(store)
    with sqlite3.connect(store.url.removeprefix("sqlite:///")) as connection:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
    on_every_connection(store, f"PRAGMA max_page_count = {pages + 1}")  # SQLite's own "disk is full"
    with pytest.raises(storage.StorageError, match=r"(?s)disk is full.*free some space.*Nothing was saved"):
        storage.save_pipeline_version(store, name="kept", definition={"blob": "x" * 2_000_000})
    storage.reset_engines()
    assert_earlier_data_intact(store)


def test_a_read_only_database_gives_a_clear_error_and_keeps_earlier_data(store, studio):
    earlier_data(store)
    on_every_connection(store, "PRAGMA query_only = ON")  # writes fail as on a read-only file
    with pytest.raises(storage.StorageError, match=r"(?s)read-only.*writable.*Nothing was saved"):
        storage.save_pipeline_version(store, name="kept", definition={"i": 99})
    storage.reset_engines()
    assert_earlier_data_intact(store)


FULL_DISK = """
import resource, signal
import numpy as np, pandas as pd
import storage
from studio.workspace import current_store
store = current_store()  # the studio of the test's environment, as the app opens it

storage.list_datasets(store)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit, writes fail with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))
frame = pd.DataFrame({"x": np.random.default_rng(0).random(300_000)})
try:
    storage.save_dataset(store, name="big", file_name="big.csv", fmt="csv", frame=frame, sha256="cd" * 32)
except storage.StorageError as e:
    print("StorageError:", e)
"""


def test_a_full_disk_while_storing_a_file_is_a_clear_error_that_leaves_nothing(store, studio):
    earlier_data(store)
    child = subprocess.run([sys.executable, "-c", FULL_DISK], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert child.returncode == 0, child.stderr
    assert child.stdout.startswith("StorageError: Could not save dataset 'big': The disk holding "), child.stdout
    assert "File too large" in child.stdout and "Nothing was saved" in child.stdout
    assert_earlier_data_intact(store)
    leftovers = [p.name for p in (studio / "datasets").iterdir() if p.name.startswith(".")]
    assert leftovers == []


KILLED_MID_RUN = """
import os, signal
from sqlalchemy import event
from sqlmodel import Session
import storage
from studio.workspace import current_store
store = current_store()  # the studio of the test's environment, as the app opens it

run = storage.create_run(store, dataset_id=None, seed=1)
storage.start_run(store, run.id)
storage.update_run_progress(store, run.id, fraction=0.9, message="refitting the best model")
print(run.id, flush=True)
event.listen(Session, "after_flush", lambda *args: os.kill(os.getpid(), signal.SIGKILL))
storage.save_model_artifact(store, run_id=run.id, data=os.urandom(1 << 20), fmt="skops", model_name="forest")
print("survived")
"""


def test_a_process_killed_while_saving_a_run_leaves_an_intact_store_and_the_run_failed_at_the_next_start(store, studio):
    earlier_data(store)
    child = subprocess.run([sys.executable, "-c", KILLED_MID_RUN], capture_output=True, text=True, timeout=60,
                           cwd=REPO)
    assert child.returncode == -9 and "survived" not in child.stdout, child.stderr
    run_id = int(child.stdout.split()[0])

    storage.reset_engines()
    assert integrity(store) == [("ok",)]
    assert storage.get_run(store, run_id).status == "running"
    assert [p for p in (studio / "models").iterdir() if p.name.endswith(".part")], "it should have died mid-save"

    at = open_page("pages/data.py")  # the next start of the app tidies the file store
    assert not at.exception
    assert list((studio / "models").iterdir()) == []
    mark_lost_runs(store)  # what the app's job runner does when it starts (already done if it started just now)
    run = storage.get_run(store, run_id)
    assert (run.status, run.error) == ("failed", STOPPED_RUN_MESSAGE)
    assert "stopped while this run was in progress" in run.error and "start it again" in run.error
    assert storage.list_model_artifacts(store, run_id=run_id) == []
    assert_earlier_data_intact(store)


def test_the_app_reports_an_unusable_database_instead_of_crashing(studio, tmp_path, monkeypatch):
    (tmp_path / "a-directory.db").mkdir()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'a-directory.db'}")
    storage.reset_engines()
    at = open_page("pages/data.py")
    assert not at.exception
    assert "Could not prepare the database" in texts(at, "error")

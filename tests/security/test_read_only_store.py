"""A read-only file store: every save says so plainly, naming the folder, and nothing saved before is lost.

The datasets and models folders under ``PIPELINE_STUDIO_HOME`` are made read-only (``0o555``) while
the database stays writable. Root ignores permissions, so when the tests run as root the store is
used from a forked child that has dropped to the unprivileged user ``nobody`` (fork after import: the
interpreter and the repository need not be readable by that user). The child reports what each
attempt raised; the parent, as the user who owns the test, checks the database and files afterwards.
"""

from __future__ import annotations

import logging.handlers
import multiprocessing
import os
import shutil
import sqlite3
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import storage
from pages import jobs
from storage import Store, files
from tests.apptest import open_page, texts

NOBODY = 65534
CHILD_SECONDS = 120
MODEL = b"a fitted model, v1 " * 500


@pytest.fixture
def home(studio: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A studio home that ``nobody`` can reach and owns (``tmp_path`` under /tmp/pytest-of-root is 0700)."""
    base = Path(tempfile.mkdtemp(prefix="read-only-store-", dir="/tmp"))
    base.chmod(0o755)
    home = base / "home"
    home.mkdir()
    if os.geteuid() == 0:
        os.chown(home, NOBODY, NOBODY)
    monkeypatch.setenv("PIPELINE_STUDIO_HOME", str(home))
    storage.reset_engines()
    yield home
    storage.reset_engines()
    shutil.rmtree(base)


@pytest.fixture
def store(home: Path) -> Store:
    """The store on :func:`home` (not on the ``studio`` home it replaces)."""
    return Store.at(home)


def drop_root() -> str | None:
    """Become ``nobody`` when running as root; the reason it is impossible, if it is."""
    if os.geteuid() != 0:
        return None
    try:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    except OSError as e:
        return f"cannot drop root privileges to uid {NOBODY} to make a folder read-only for this process: {e}"
    return None


def as_unprivileged_user(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` in a forked child without root's privileges; return its report (skip or fail as it says)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child() -> None:
        try:
            reason = drop_root()
            send.send({"skip": reason} if reason else work())
        except BaseException:
            send.send({"crash": traceback.format_exc()})

    process = context.Process(target=child)
    process.start()
    try:
        assert receive.poll(CHILD_SECONDS), f"the child did not report within {CHILD_SECONDS} s"
        report = receive.recv()
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join()
    assert "crash" not in report, report.get("crash")
    if report.get("skip"):
        if os.environ.get("CI") == "true":
            pytest.fail(f"must run under CI: {report['skip']}")
        pytest.skip(report["skip"])
    return report


def make_read_only(home: Path) -> str | None:
    """Make both store folders read-only; the reason it did not take, if this process may still write."""
    for kind in files.KINDS:
        (home / kind).mkdir(exist_ok=True)
        (home / kind).chmod(0o555)
    probe = home / files.DATASETS / ".probe"
    try:
        probe.write_bytes(b"")
    except PermissionError:
        return None
    probe.unlink()
    return f"uid {os.geteuid()} can still write to a 0o555 folder (it bypasses file permissions)"


def outcome(call: Callable[[], object]) -> tuple[str, str]:
    """What a save did: ``("StorageError", message)``, ``("saved", ...)`` or any other error with its traceback."""
    try:
        call()
    except storage.StorageError as e:
        return "StorageError", str(e)
    except BaseException:
        return "other error", traceback.format_exc()
    return "saved", "no error"


def earlier_data(store: Store) -> tuple[storage.Dataset, storage.ModelArtifact]:
    kept = storage.save_dataset(store, name="kept", file_name="kept.csv", fmt="csv",
                                frame=pd.DataFrame({"a": [1, 2, 3]}),
                                sha256="ab" * 32)
    run = storage.start_run(store, storage.create_run(store, dataset_id=kept.id).id)
    model = storage.save_model_artifact(store, run_id=run.id, data=MODEL, fmt="skops", model_name="forest")
    storage.finish_run(store, run.id, status="done", leaderboard=[{"model": "forest", "metrics": {}}])
    return kept, model


def stale_temp_file(home: Path) -> Path:
    """A ``.part`` file a killed process left behind (its pid is beyond any pid the kernel hands out)."""
    final = home / files.DATASETS / ("ef" * 32 + ".parquet")
    path = final.with_name(f".{final.name}.{files.host_tag()}.{2**22 + 1}.abc123.part")
    path.write_bytes(b"half a file")
    return path


def test_saving_to_a_read_only_store_names_the_folder_and_keeps_everything_saved_before(store, home):
    def work() -> dict[str, Any]:
        kept, model = earlier_data(store)
        left_behind = stale_temp_file(home)
        if reason := make_read_only(home):
            return {"skip": reason}
        new_run = storage.create_run(store, dataset_id=kept.id).id
        attempts = {
            "dataset": lambda: storage.save_dataset(store, name="new", file_name="new.csv", fmt="csv",
                                                    frame=pd.DataFrame({"b": [4.5, 6.5]}), sha256="cd" * 32),
            "model": lambda: storage.save_model_artifact(store, run_id=new_run, data=b"v2" * 999, fmt="skops",
                                                         model_name="boost"),
            "imported model": lambda: storage.save_imported_model(store, data=b"v3" * 999, fmt="skops", model_name="x",
                                                                  source_name="x.skops"),
            "deleted dataset": lambda: storage.delete_dataset(store, kept.id),
            "app start": lambda: storage.init_db(store),  # tidies what a crash left: it cannot here, must still start
        }
        report = {name: outcome(call) for name, call in attempts.items()}
        report["still readable"] = (storage.load_frame(store, storage.get_dataset(store, kept.id))["a"].tolist(),
                                    storage.load_model_bytes(store, model) == MODEL)
        report["database still writable"] = outcome(
            lambda: storage.save_pipeline_version(store, name="p", definition={}))
        report["left behind"] = left_behind.exists()
        report["kept id"], report["model id"] = kept.id, model.id
        return report

    report = as_unprivileged_user(work)

    for kind, attempt in [(files.DATASETS, "dataset"), (files.MODELS, "model"), (files.MODELS, "imported model"),
                          (files.DATASETS, "deleted dataset")]:
        error, message = report[attempt]
        assert error == "StorageError", f"{attempt}: {message}"
        assert "\n" not in message and "Traceback" not in message
        assert f"The folder {home / kind} is read-only for this server" in message, message
        assert "make it writable" in message
        assert "everything saved before is intact" in message
    assert report["dataset"][1].startswith("Could not save dataset 'new': ")
    assert report["deleted dataset"][1].startswith("Could not delete dataset 'kept': ")
    assert report["app start"] == ("saved", "no error") and report["left behind"]
    assert report["still readable"] == ([1, 2, 3], True)
    assert report["database still writable"] == ("saved", "no error")

    storage.reset_engines()  # as root again: look at what the child left
    with sqlite3.connect(store.url.removeprefix("sqlite:///")) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert [d.id for d in storage.list_datasets(store)] == [report["kept id"]]
    artifacts = [a for run in storage.list_runs(store) for a in storage.list_model_artifacts(store, run_id=run.id)]
    assert [a.id for a in artifacts] == [report["model id"]]
    assert storage.list_runs(store, status="done")[0].leaderboard[0]["model"] == "forest"
    for dataset in storage.list_datasets(store):
        assert files.matches(store.home, dataset.parquet_path, dataset.parquet_sha256)
    for artifact in artifacts:
        assert files.matches(store.home, artifact.path, artifact.sha256)
    assert sorted(p.name for p in (home / files.MODELS).iterdir()) == [f"{files.sha256_bytes(MODEL)}.skops"]
    assert sorted(p.name for p in (home / files.DATASETS).iterdir() if not p.name.endswith(".part")) == [
        "ab" * 32 + ".parquet"]


def give_to_the_unprivileged_user(home: Path) -> None:
    if os.geteuid() == 0:
        for path in [home, *home.rglob("*")]:
            os.chown(path, NOBODY, NOBODY)


def test_an_upload_to_a_read_only_store_is_refused_on_the_data_page_and_the_earlier_dataset_stays(
    store, home, monkeypatch
):
    monkeypatch.setattr(jobs, "job_runner", lambda: None)  # no training here, and no workers to fork
    at = open_page("pages/data.py")  # as the test's own user: also imports all an upload needs before the fork
    at.file_uploader(key="data_upload").upload("kept.csv", b"a\n1\n2\n3\n", "text/csv")
    at.run()
    kept = at.session_state["dataset_id"]
    storage.reset_engines()
    give_to_the_unprivileged_user(home)

    def work() -> dict[str, Any]:
        if reason := make_read_only(home):
            return {"skip": reason}
        logged = logging.handlers.BufferingHandler(capacity=1000)
        logging.getLogger("streamlit").addHandler(logged)  # the app's tracebacks, which the page redacts
        at = open_page("pages/data.py", dataset_id=kept)
        at.file_uploader(key="data_upload").upload("people.csv", b"name,age\nAda,36\nAlan,41\n", "text/csv")
        at.run()
        return {"exception": [str(e.value) for e in at.exception] + [
                    logging.Formatter().format(r) for r in logged.buffer if r.levelno >= logging.ERROR],
                "errors": texts(at, "error"),
                "active": at.session_state["dataset_id"], "datasets": [d.name for d in storage.list_datasets(store)]}

    report = as_unprivileged_user(work)

    assert report["exception"] == [], "\n".join(report["exception"])
    assert f"Could not save dataset 'people': The folder {home / files.DATASETS} is read-only" in report["errors"]
    assert report["active"] == kept and report["datasets"] == ["kept"]
    storage.reset_engines()
    assert storage.load_frame(store, storage.get_dataset(store, kept))["a"].tolist() == [1, 2, 3]

"""Fair sharing (issue 19 point 5): per-user limits on jobs and on stored bytes, refused before any work starts.

Real SQLite files, real Parquet and model files, real jobs on the in-process thread runner. Jobs that must stay
queued or running while the test counts them wait at a gate in their reporter (the runner's own extension point)
until the test opens it; nothing depends on how long anything takes.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import storage
from pipeline_core.jobs.runners import ThreadJobRunner
from storage.reporter import RunReporter
from studio import accounts, datasets, limits, retrain, training
from studio.roles import AccessDenied, Actor
from studio.settings import Settings
from tests.application.test_use_cases import iris_spec
from tests.pipeline_core.test_jobs import wait_for

LOCAL = Actor.local()
PASSWORD = "a long enough password"
REPO = Path(__file__).resolve().parents[2]
ENDED = {"done", "failed", "cancelled"}


class Gate:
    """Holds every job it reports for before it starts, until :meth:`open`: their runs stay queued meanwhile."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def reporter(self, store: storage.Store, run_id: int) -> RunReporter:
        gate = self.event

        class Held(RunReporter):
            def start(self) -> None:
                gate.wait(timeout=120)
                super().start()

        return Held(store, run_id)

    def open(self) -> None:
        self.event.set()


@pytest.fixture
def runner(studio) -> Iterator[ThreadJobRunner]:
    threads = training.start_runner(Settings(PIPELINE_STUDIO_JOBS="threads", PIPELINE_STUDIO_MAX_JOBS=1))
    yield threads
    threads.close()


@pytest.fixture
def gate(runner) -> Iterator[Gate]:
    held = Gate()
    yield held
    held.open()  # a failed test must not leave a thread waiting


def member(store: storage.Store, name: str, *, admin: bool = False, role: str = "editor") -> Actor:
    """A new account, ``role`` in the default workspace, acting there."""
    account = accounts.create_user(store, name, PASSWORD, admin=admin)
    storage.set_member(store, workspace_id=storage.DEFAULT_WORKSPACE_ID, user_id=account.id, role=role)
    return Actor.account(account.id, account.name, storage.DEFAULT_WORKSPACE_ID)


def test_an_account_at_its_job_limit_is_refused_before_anything_starts_and_may_start_again_once_one_ends(
        store, runner, gate):
    iris = datasets.load_sample_dataset(LOCAL, "iris")
    spec = iris_spec(datasets.load_table(LOCAL, iris))
    bob, ann = member(store, "bob"), member(store, "ann")
    limits.set_limits(store, LOCAL, "bob", jobs=2)
    first = training.submit_training(bob, runner, spec, iris.id, owner="draft:tab-one", reporter=gate.reporter)
    training.submit_training(bob, runner, spec, iris.id, owner="draft:tab-two", reporter=gate.reporter)

    with pytest.raises(storage.JobLimitError) as refused:  # another tab of the same account counts with the others
        training.submit_training(bob, runner, spec, iris.id, owner="draft:tab-three", reporter=gate.reporter)
    assert str(refused.value) == ("you have 2 jobs queued or running, the limit is 2; wait for one to finish or "
                                  "cancel one")
    assert [run.owner for run in storage.list_runs(store)] == ["user:bob", "user:bob"]  # nothing recorded
    assert runner.live_jobs() == {run.id for run in storage.list_runs(store)}  # nor handed to the workers
    assert limits.usage(bob).jobs == 2

    ann_run = training.submit_training(ann, runner, spec, iris.id, reporter=gate.reporter)  # ann has her own count
    assert limits.usage(ann).limits.max_jobs == 3  # the server's default for an account

    training.cancel(bob, first)
    again = training.submit_training(bob, runner, spec, iris.id, reporter=gate.reporter)
    gate.open()
    for run in storage.list_runs(store):
        wait_for(store, run.id, ENDED)
    assert storage.get_run(store, again).status == "done" and storage.get_run(store, ann_run).status == "done"
    assert limits.usage(bob).jobs == 0


def test_a_retrain_is_a_job_too_and_is_refused_before_its_rows_are_stored(store, runner, gate, iris_studio,
                                                                          new_rows):
    bob = member(store, "bob")
    limits.set_limits(store, LOCAL, "bob", jobs=1)
    iris = storage.list_datasets(store)[0]
    training.submit_training(bob, runner, iris_spec(datasets.load_table(LOCAL, iris)), iris.id, reporter=gate.reporter)
    stored = len(storage.list_datasets(store))
    labelled = new_rows.read_bytes()  # a file without the target: it would be refused later, the limit comes first
    with pytest.raises(storage.JobLimitError, match=r"^you have 1 job queued or running, the limit is 1;"):
        retrain.retrain(bob, runner, "iris", data=labelled, file_name="fresh.csv", by="bob", owner="draft:x")
    assert len(storage.list_datasets(store)) == stored


def test_an_upload_past_the_storage_limit_is_refused_and_leaves_nothing_behind(store, runner):
    bob = member(store, "bob")
    iris = datasets.load_sample_dataset(bob, "iris")
    assert limits.usage(bob).storage_bytes == iris.parquet_size
    limits.set_limits(store, LOCAL, "bob", storage_bytes=iris.parquet_size + 100)
    before = sorted(p.name for p in (store.home / "datasets").iterdir())

    with pytest.raises(storage.StorageLimitError) as refused:
        datasets.load_sample_dataset(bob, "wine")
    message = str(refused.value)
    assert message.startswith(f"your files take {storage.limits.format_bytes(iris.parquet_size)} and dataset 'wine' "
                              "would add ") and message.endswith(
        ", the limit is " + storage.limits.format_bytes(iris.parquet_size + 100) + "; delete datasets or runs you no "
        "longer need, or ask an administrator to raise it")
    assert [d.name for d in storage.list_datasets(store)] == ["iris"]
    assert sorted(p.name for p in (store.home / "datasets").iterdir()) == before  # no file, not even a temporary one

    limits.set_limits(store, LOCAL, "bob", storage_bytes=iris.parquet_size)  # full: no training, no upload at all
    with pytest.raises(storage.StorageLimitError, match=r"^your files take .*, the limit is .*; a training run saves "
                                                        r"model files, so delete datasets or runs"):
        training.submit_training(bob, runner, iris_spec(datasets.load_table(bob, iris)), iris.id)
    with pytest.raises(storage.StorageLimitError, match=r"^your files take .*, the limit is .*; so delete"):
        datasets.ingest_upload(bob, b"a,b\n1,2\n", "tiny.csv")
    assert storage.list_runs(store) == []

    limits.set_limits(store, LOCAL, "bob", storage_bytes="default")  # the server's default: none
    assert datasets.load_sample_dataset(bob, "wine").name == "wine"


def test_a_file_two_users_share_counts_in_full_for_each_and_once_per_user(store):
    """The documented rule (``storage.limits``): each user holding a row over a file is charged its whole size."""
    ann, bob = member(store, "ann"), member(store, "bob")
    theirs = ann.in_workspace(storage.create_workspace(store, name="Ann's", owner_id=ann.user_id).id)
    first = datasets.load_sample_dataset(ann, "iris")
    datasets.load_sample_dataset(theirs, "iris")  # the same file in ann's other workspace: a second row, one file
    assert limits.usage(ann).storage_bytes == first.parquet_size

    again = datasets.load_sample_dataset(bob, "iris")  # already a dataset of this workspace: ann's row, no charge
    assert (again.id, again.owner_id, limits.usage(bob).storage_bytes) == (first.id, ann.user_id, 0)
    bobs = bob.in_workspace(storage.create_workspace(store, name="Bob's", owner_id=bob.user_id).id)
    datasets.load_sample_dataset(bobs, "iris")
    assert limits.usage(bob).storage_bytes == limits.usage(ann).storage_bytes == first.parquet_size
    assert len(list((store.home / "datasets").glob("*.parquet"))) == 1


def test_model_files_of_an_accounts_runs_count_against_its_storage(store, runner):
    iris = datasets.load_sample_dataset(LOCAL, "iris")
    bob = member(store, "bob")
    run_id = training.submit_training(bob, runner, iris_spec(datasets.load_table(LOCAL, iris)), iris.id)
    wait_for(store, run_id, ENDED)
    files = {a.sha256: a.size for a in storage.list_model_artifacts(store, run_id=run_id, role=None)}
    assert files and limits.usage(bob).storage_bytes == sum(files.values())
    assert limits.usage(LOCAL).storage_bytes == iris.parquet_size  # the dataset stays the local user's


def test_without_sign_in_no_limit_applies_unless_the_server_sets_one(store, runner, gate, monkeypatch):
    iris = datasets.load_sample_dataset(LOCAL, "iris")
    spec = iris_spec(datasets.load_table(LOCAL, iris))
    for _ in range(4):
        training.submit_training(LOCAL, runner, spec, iris.id, owner="draft:tab", reporter=gate.reporter)
    assert limits.usage(LOCAL, "draft:tab").limits == limits.Limits(max_jobs=None, max_storage_bytes=None)
    monkeypatch.setenv("PIPELINE_STUDIO_MAX_STORAGE_PER_USER", "1kB")
    with pytest.raises(storage.StorageLimitError, match=r"^your files take .*, the limit is 1 kB;"):
        datasets.load_sample_dataset(LOCAL, "wine")
    gate.open()
    for run in storage.list_runs(store):
        wait_for(store, run.id, ENDED)


def test_only_an_administrator_sets_limits(store):
    admin, bob = member(store, "root", admin=True), member(store, "bob")
    with pytest.raises(AccessDenied, match="^bob is not an administrator: only an administrator sets limits$"):
        limits.set_limits(store, bob, "bob", jobs=100)
    with pytest.raises(AccessDenied):
        limits.all_usage(store, bob)
    set_by_admin = limits.set_limits(store, admin, "bob", jobs=5, storage_bytes=2 * 10**9)
    assert set_by_admin.limits == limits.Limits(max_jobs=5, max_storage_bytes=2 * 10**9, own_jobs=True,
                                                own_storage=True)
    assert [u.name for u in limits.all_usage(store, admin)] == ["bob", "root"]
    with pytest.raises(accounts.AccountError, match="^a job limit is a number of at least 1"):
        limits.set_limits(store, admin, "bob", jobs=0)


def test_the_limits_command_shows_and_sets_an_accounts_limits_and_refuses_bad_input_in_one_line(store, studio):
    member(store, "bob")
    users = [sys.executable, "-m", "studio", "users", "limits"]
    shown = subprocess.run([*users, "bob"], capture_output=True, text=True, cwd=REPO)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == ("bob: jobs queued or running: 0 of at most 3; files: 0 bytes (no limit) "
                            "(the server defaults)\n")
    changed = subprocess.run([*users, "bob", "--jobs", "2", "--storage", "2GB"], capture_output=True, text=True,
                             cwd=REPO)
    assert changed.stdout == ("bob: jobs queued or running: 0 of at most 2; files: 0 bytes of at most 2 GB "
                              "(both set for this account)\n")
    assert storage.get_user_by_name(store, "bob").max_storage_bytes == 2 * 10**9
    for bad, reason in ((["--jobs", "0"], "a job limit is a whole number of at least 1"),
                        (["--storage", "lots"], "'lots' is not a size"), (["--jobs", "x"], "a job limit")):
        refused = subprocess.run([*users, "bob", *bad], capture_output=True, text=True, cwd=REPO)
        assert refused.returncode == 2 and refused.stdout == ""
        assert refused.stderr.startswith(f"error: argument {bad[0]}: {reason}") and refused.stderr.count("\n") == 1
    nobody = subprocess.run([*users, "nobody", "--jobs", "3"], capture_output=True, text=True, cwd=REPO)
    assert (nobody.returncode, nobody.stderr) == (2, "error: there is no account named 'nobody'\n")

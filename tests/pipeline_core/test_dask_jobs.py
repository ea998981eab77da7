"""Training jobs on a real Dask cluster: results in storage, folds on every worker, cancel, limits.

One ``LocalCluster`` (2 single-thread worker processes, as on a 2-core machine) serves the
module; the last tests start clusters through the launcher, as the app does. Each test that stores
runs gets a fresh studio home from ``tests/conftest.py::studio``.
"""

from __future__ import annotations

import gc
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest
from distributed import Client, LocalCluster, get_task_stream
from streamlit.testing.v1 import AppTest

import storage
from pipeline_core.definition.spec import ModelSpec
from pipeline_core.jobs.dask_cluster import DaskJobRunner
from pipeline_core.training.results import run_summary
from tests.pipeline_core.frames import breast_cancer, iris
from tests.pipeline_core.test_jobs import (
    BROKEN_KNN,
    JOB_DEADLINE_S,
    assert_cancel_stops_a_running_job_part_way,
    assert_done_with_model,
    spec_for,
    store_frame,
    submit,
    wait_for,
)

QUICK = [ModelSpec(kind="logistic_regression"), ModelSpec(kind="decision_tree")]
SMALL_FOREST = ModelSpec(kind="random_forest", params={"n_estimators": 40})


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                       dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client):
        yield client


@pytest.fixture
def dask(client: Client) -> DaskJobRunner:
    """A runner as one server holds it: its own job limit and queue on the shared cluster."""
    return DaskJobRunner(client, max_jobs=1)


def test_a_dask_job_runs_to_completion_with_its_results_in_storage(store, studio, dask):
    run = assert_done_with_model(store, submit(store, dask, iris(), QUICK))
    assert {row["model"] for row in run.leaderboard} == {"logistic_regression", "decision_tree"}
    assert "2 of 2 models done" in run.progress_message and run_summary(run).metric


def test_folds_fan_out_over_every_worker(store, studio, dask, client):
    with get_task_stream(client) as stream:
        assert_done_with_model(store, submit(store, dask, breast_cancer(), [SMALL_FOREST], folds=4))
    keys = [str(task["key"]) for task in stream.data]
    fold_workers = {task["worker"] for task in stream.data if "_fit_and_score" in str(task["key"])}
    assert fold_workers == set(client.scheduler_info()["workers"])
    # a fold transforms its columns itself; only the refit's column transformer (2 columns groups) is a task
    assert sum("_fit_transform_one" in key for key in keys) <= 2


def test_a_failing_model_keeps_the_others_results(store, studio, dask):
    run = assert_done_with_model(store, submit(store, dask, iris(), [BROKEN_KNN, *QUICK]))
    rows = {row["model"]: row for row in run.leaderboard}
    assert "n_neighbors" in rows["knn"]["error"] and run.failed_model == "knn"
    assert rows["logistic_regression"]["metrics"] and rows["decision_tree"]["metrics"]


def test_cancel_stops_a_running_job_part_way(store, studio, dask):
    assert_cancel_stops_a_running_job_part_way(store, dask)


def test_two_jobs_run_in_parallel_and_both_finish(store, studio, client):
    runner = DaskJobRunner(client, max_jobs=2)
    first, second = (submit(store, runner, iris(), QUICK) for _ in range(2))
    one, two = assert_done_with_model(store, first), assert_done_with_model(store, second)
    assert two.started_at < one.finished_at and one.started_at < two.finished_at


def test_jobs_over_the_limit_wait_queued_until_a_slot_frees(store, studio, dask):
    first = submit(store, dask, breast_cancer(), [SMALL_FOREST])
    second = submit(store, dask, iris(), QUICK)
    wait_for(store, first, {"running"})
    assert storage.get_run(store, second).status == "queued" and dask.live_jobs() == {first, second}
    one, two = assert_done_with_model(store, first), assert_done_with_model(store, second)
    assert two.started_at >= one.finished_at


SUBMIT_SCRIPT = """
import streamlit as st
from pages import jobs
from pipeline_core.definition.spec import load_spec

run_id = jobs.submit_training(load_spec(st.session_state["spec"]), st.session_state["dataset_id"])
st.markdown(f"run {run_id}")
"""


@pytest.fixture
def fresh_job_runner(monkeypatch) -> Iterator[None]:
    """The app's cached runner, created under the default settings and closed afterwards."""
    from pages import jobs

    for name in ("PIPELINE_STUDIO_JOBS", "DASK_SCHEDULER_ADDRESS", "PIPELINE_STUDIO_MAX_JOBS"):
        monkeypatch.delenv(name, raising=False)
    jobs.job_runner.clear()
    yield
    jobs.job_runner.clear()


def test_a_job_outlives_the_session_that_submitted_it_on_the_default_cluster(store, studio, fresh_job_runner):
    from pages import jobs

    frame = iris()
    at = AppTest.from_string(SUBMIT_SCRIPT, default_timeout=60)
    at.session_state["spec"] = spec_for(frame, QUICK).to_dict()
    at.session_state["dataset_id"] = store_frame(store, frame).id
    at.run()
    assert not at.exception
    run_id = int(at.markdown[0].value.split()[1])
    runner = jobs.job_runner()
    assert isinstance(runner, DaskJobRunner) and runner.cluster is not None
    del at
    gc.collect()
    assert_done_with_model(store, run_id)
    launcher = runner.cluster.process
    jobs.job_runner.clear()
    assert launcher.wait(timeout=JOB_DEADLINE_S) is not None


PARENT_SCRIPT = """
import time
from pipeline_core.jobs.dask_cluster import start_cluster_process
cluster = start_cluster_process(workers=1)
print(cluster.process.pid, flush=True)
time.sleep(300)
"""


def test_the_launcher_and_its_workers_exit_when_the_parent_dies():
    parent = subprocess.Popen([sys.executable, "-c", PARENT_SCRIPT], stdout=subprocess.PIPE, text=True)
    launcher = psutil.Process(int(parent.stdout.readline()))
    processes = [launcher, *launcher.children(recursive=True)]
    assert len(processes) >= 2  # the launcher and at least its worker
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + JOB_DEADLINE_S
    while alive := [p for p in processes if _running(p)]:
        assert time.monotonic() < deadline, f"still running: {alive}"
        time.sleep(0.2)


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False

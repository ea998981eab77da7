"""Training jobs record their whole life in storage: progress, results, failures, cancel, restarts.

These use the in-process thread runner (the fallback); ``test_dask_jobs.py`` runs the same
jobs on a real Dask cluster. Helpers here are shared with it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pandas as pd
import pytest

import storage
from pipeline_core.artifacts.export import load_model
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec
from pipeline_core.errors import StudioError
from pipeline_core.io.frames import stored_table_sha256
from pipeline_core.jobs.job import ProgressNote
from pipeline_core.jobs.runners import JobRunner, ThreadJobRunner, create_runner
from pipeline_core.training.progress import ProgressEvent
from pipeline_core.training.results import leaderboard_rows, run_summary
from storage.files import resolve
from storage.reporter import RunReporter, cancel_run, mark_lost_runs
from tests.pipeline_core.frames import breast_cancer, iris

# A deadline for a job to reach a state, not a measurement: generous, so a machine with busy cores passes too.
JOB_DEADLINE_S = 300

BROKEN_KNN = ModelSpec(kind="knn", params={"n_neighbors": 10_000})  # more neighbours than rows: fails at fit
SLOW_MODELS = [ModelSpec(kind=k) for k in ("random_forest", "extra_trees", "gradient_boosting", "random_forest")]
ACTIVE = {"queued", "running"}


def store_frame(store: storage.Store, frame: pd.DataFrame, name: str = "table") -> storage.Dataset:
    return storage.save_dataset(store, name=name, file_name=f"{name}.csv", fmt="csv", frame=frame,
                                sha256=stored_table_sha256(frame))


def spec_for(frame: pd.DataFrame, models: list[ModelSpec], folds: int = 3) -> PipelineSpec:
    spec = PipelineSpec(target="target", models=models, evaluation=EvaluationPlan(cv_folds=folds))
    return spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})


def submit(store: storage.Store, runner: JobRunner, frame: pd.DataFrame, models: list[ModelSpec],
           folds: int = 3) -> int:
    """What the Train page does through ``pages.jobs.submit_training``: a queued run, then the job."""
    dataset = store_frame(store, frame)
    run = storage.create_run(store, dataset_id=dataset.id)
    spec = spec_for(frame, models, folds)
    runner.submit(run.id, spec.to_json(), str(resolve(store.home, dataset.parquet_path)), RunReporter(store, run.id))
    return run.id


def wait_for(store: storage.Store, run_id: int, statuses: set[str],
             timeout: float = JOB_DEADLINE_S) -> storage.Run:
    """Poll the run row, as the Train page does, until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while (run := storage.get_run(store, run_id)).status not in statuses:
        assert time.monotonic() < deadline, f"run {run_id} still {run.status} after {timeout} s"
        time.sleep(0.1)
    return run


def wait_until_gone(runner: JobRunner, run_id: int, timeout: float) -> float:
    """Seconds until the runner no longer holds the job (it really stopped, not just its row)."""
    started = time.monotonic()
    while run_id in runner.live_jobs():
        assert time.monotonic() - started < timeout, f"job {run_id} still running after {timeout} s"
        time.sleep(0.1)
    return time.monotonic() - started


def assert_done_with_model(store: storage.Store, run_id: int) -> storage.Run:
    run = wait_for(store, run_id, {"done", "failed", "cancelled"})
    assert run.status == "done", run.error
    assert run.leaderboard and run.leaderboard[0]["metrics"]
    (artifact,) = storage.list_model_artifacts(store, run_id=run_id)
    loaded = load_model(storage.load_model_bytes(store, artifact))
    assert loaded.metadata["model"] == artifact.model_name == run.leaderboard[0]["model"]
    return run


@pytest.fixture
def threads() -> Iterator[ThreadJobRunner]:
    runner = ThreadJobRunner(max_jobs=1)
    yield runner
    runner.close()


def test_a_job_trains_and_stores_leaderboard_model_and_a_typed_summary(store, studio, threads):
    run_id = submit(store, threads, iris(), [ModelSpec(kind="logistic_regression"), ModelSpec(kind="decision_tree")])
    run = assert_done_with_model(store, run_id)
    assert {row["model"] for row in run.leaderboard} == {"logistic_regression", "decision_tree"}
    summary = run_summary(run)
    assert summary.total_seconds > 0 and summary.task == "classification"
    assert summary.metric in run.leaderboard[0]["metrics"]
    assert set(summary.model_seconds) == {"logistic_regression", "decision_tree"}
    assert [row.model for row in leaderboard_rows(run)] == [row["model"] for row in run.leaderboard]
    assert run.progress == 1.0 and "2 of 2 models done" in run.progress_message
    assert run.failed_model is None


def test_progress_names_models_done_folds_elapsed_and_time_left():
    messages = []
    note = ProgressNote(lambda event: messages.append(event.message))
    note.started -= 30
    note(ProgressEvent(phase="comparing", fraction=0.48, message="Random forest: fold 3 of 3 done", n_models=2,
                       models_done=1, model_index=0, model_name="random_forest", stage="cv", stage_done=3,
                       stage_total=3))
    # the second model is expected to take the first one's 30 s, and the refit about one 10 s fold
    assert messages == ["Random forest: fold 3 of 3 done · 1 of 2 models done · 30 s elapsed · about 40 s left"]


def test_a_failing_model_keeps_the_others_results(store, studio, threads):
    run_id = submit(store, threads, iris(), [BROKEN_KNN, ModelSpec(kind="logistic_regression")])
    run = assert_done_with_model(store, run_id)
    rows = {row["model"]: row for row in run.leaderboard}
    assert "n_neighbors" in rows["knn"]["error"] and rows["logistic_regression"]["error"] is None
    assert run.failed_model == "knn" and run.leaderboard[0]["model"] == "logistic_regression"


def test_when_every_model_fails_the_run_records_the_error_and_the_model(store, studio, threads):
    run = wait_for(store, submit(store, threads, iris(), [BROKEN_KNN]), {"done", "failed"})
    assert run.status == "failed" and run.failed_model == "knn"
    assert "every model failed" in run.error and "n_neighbors" in run.error
    assert storage.list_model_artifacts(store, run_id=run.id) == []


def assert_cancel_stops_a_running_job_part_way(store: storage.Store, runner: JobRunner) -> None:
    """Cancel a long job once it runs: the runner lets go of it, and it leaves no scores, no model and
    the progress it had (the job stops at its next check instead of running to the end)."""
    run_id = submit(store, runner, breast_cancer(), SLOW_MODELS, folds=10)
    wait_for(store, run_id, {"running"})
    cancel_run(store, run_id)
    wait_until_gone(runner, run_id, timeout=JOB_DEADLINE_S)
    run = storage.get_run(store, run_id)
    assert run.status == "cancelled" and run.leaderboard == [] and run.progress < 1
    assert storage.list_model_artifacts(store, run_id=run_id) == []


def test_cancel_stops_a_running_job_part_way(store, studio, threads):
    assert_cancel_stops_a_running_job_part_way(store, threads)


def test_jobs_over_the_limit_wait_queued_and_a_cancelled_one_never_starts(store, studio, threads):
    first = submit(store, threads, breast_cancer(), SLOW_MODELS[:1])
    second = submit(store, threads, iris(), [ModelSpec(kind="logistic_regression")])
    wait_for(store, first, {"running"})
    assert storage.get_run(store, second).status == "queued"
    cancel_run(store, second)
    assert_done_with_model(store, first)
    wait_until_gone(threads, second, timeout=JOB_DEADLINE_S)
    run = storage.get_run(store, second)
    assert run.status == "cancelled" and run.started_at is None


def test_a_restart_closes_active_runs_except_those_the_workers_still_hold(store, studio):
    dataset = store_frame(store, iris())
    held, lost, finished = (storage.create_run(store, dataset_id=dataset.id).id for _ in range(3))
    storage.start_run(store, held)
    storage.finish_run(store, finished, status="done")
    assert mark_lost_runs(store, live={held}) == [lost]
    lost_run = storage.get_run(store, lost)
    assert (lost_run.status, lost_run.error) == ("failed", storage.NEVER_STARTED_RUN_MESSAGE)  # it was queued
    assert storage.get_run(store, held).status == "running" and storage.get_run(store, finished).status == "done"


def test_an_unknown_runner_or_limit_is_refused():
    with pytest.raises(StudioError, match="unknown job runner 'celery'"):
        create_runner("celery")
    with pytest.raises(StudioError, match="at least one job"):
        create_runner("threads", max_jobs=0)

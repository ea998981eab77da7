"""The autopilot through real training jobs (issue 20 point 1): a cancelled search ends done with the best model it
found, and the configurations a search chose are recorded in the definition, whose re-run trains exactly those.
Real SQLite file, real fits on the in-process thread runner."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

import storage
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.jobs.runners import ThreadJobRunner
from pipeline_core.training.results import leaderboard_rows, run_summary
from studio import datasets, models, runs, training
from studio.roles import Actor
from studio.settings import Settings
from tests.pipeline_core.test_jobs import JOB_DEADLINE_S, wait_for

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

ENDED = {"done", "failed", "cancelled"}


@pytest.fixture
def runner(studio) -> Iterator[ThreadJobRunner]:
    threads = training.start_runner(Settings(PIPELINE_STUDIO_JOBS="threads"))
    yield threads
    threads.close()


def autopilot_spec(budget: float) -> tuple[PipelineSpec, int]:
    iris = datasets.load_sample_dataset(LOCAL, "iris")
    frame = datasets.load_table(LOCAL, iris)
    spec = PipelineSpec(name="iris", target="target", evaluation={"cv_folds": 3})
    spec = spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})
    return training.with_autopilot(spec, budget), iris.id


def wait_for_message(store, run_id: int, text: str) -> None:
    """Poll the run's progress message, as the Train page does, until it contains ``text``."""
    deadline = time.monotonic() + JOB_DEADLINE_S
    while text not in ((run := storage.get_run(store, run_id)).progress_message or ""):
        assert run.status in ("queued", "running"), f"run {run_id} ended ({run.status}: {run.error}) before {text!r}"
        assert time.monotonic() < deadline, f"run {run_id} never reported {text!r}"
        time.sleep(0.05)


def test_cancelling_a_search_ends_the_run_done_with_the_best_model_so_far(store, runner):
    spec, dataset_id = autopilot_spec(600)
    run_id = training.submit_training(LOCAL, runner, spec, dataset_id)
    wait_for_message(store, run_id, "best so far: ")
    training.cancel(LOCAL, run_id)
    run = wait_for(store, run_id, {"done", "failed"})
    assert run.status == "done", run.error
    summary = run_summary(run)
    assert summary.autopilot.stopped == "cancelled" and summary.autopilot.plan.chosen
    assert models.load_stored_model(LOCAL, models.run_artifact(LOCAL, run_id)).pipeline.predict(
        datasets.load_table(LOCAL, datasets.load_sample_dataset(LOCAL, "iris")).drop(columns="target")).shape == (150,)


def test_a_plain_run_cancelled_stays_cancelled_without_a_model(store, runner):
    spec, dataset_id = autopilot_spec(600)
    spec = PipelineSpec.model_validate({**training.with_autopilot(spec, None).to_dict(),
                                        "models": [{"kind": "random_forest"}]})
    assert spec.autopilot is None
    run_id = training.submit_training(LOCAL, runner, spec, dataset_id)
    wait_for_message(store, run_id, "fold 1 of 3")
    training.cancel(LOCAL, run_id)
    assert wait_for(store, run_id, ENDED).status == "cancelled"
    assert storage.list_model_artifacts(store, run_id=run_id) == []


def test_the_choices_of_a_finished_search_are_recorded_and_re_train_to_the_same_leaderboard(store, runner):
    spec, dataset_id = autopilot_spec(6)
    searched = wait_for(store, training.submit_training(LOCAL, runner, spec, dataset_id), ENDED)
    assert searched.status == "done", searched.error
    recorded = training.recorded_choices(spec, searched)
    assert recorded is not None and recorded.autopilot.chosen
    assert training.recorded_choices(recorded, searched) is None  # recorded once; the next run re-trains them
    assert training.with_autopilot(recorded, 6) == recorded
    assert training.with_autopilot(recorded, 6, search_again=True).autopilot.chosen == []
    assert training.with_autopilot(recorded, 9).autopilot.chosen == []  # a new budget is a new search

    again = wait_for(store, training.submit_training(LOCAL, runner, recorded, dataset_id), ENDED)
    assert again.status == "done", again.error
    assert run_summary(again).autopilot is None  # nothing searched
    assert [(r.model, r.params, r.metrics) for r in leaderboard_rows(runs.get_run(LOCAL, again.id))] == \
           [(r.model, r.params, r.metrics) for r in leaderboard_rows(runs.get_run(LOCAL, searched.id))]


def test_the_server_maximum_lowers_an_autopilot_budget_in_the_job_only(studio, monkeypatch):
    """A search may not hold the shared workers longer than ``PIPELINE_STUDIO_MAX_TUNING_MINUTES`` allows."""
    from tests.application.test_use_cases import RecordingRunner

    spec, dataset_id = autopilot_spec(3 * 3600)
    monkeypatch.setenv("PIPELINE_STUDIO_MAX_TUNING_MINUTES", "2")
    runner = RecordingRunner()
    training.submit_training(LOCAL, runner, spec, dataset_id)
    training.submit_training(LOCAL, runner, training.with_autopilot(spec, 30), dataset_id)
    assert [s.autopilot.time_budget_seconds for s in runner.specs] == [120, 30]
    assert spec.autopilot.time_budget_seconds == 3 * 3600  # the caller's definition is left as it was

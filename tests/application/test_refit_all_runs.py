"""Refit on all rows through a real training job (issue 20 point 4): the run stores the refitted model as the one it
saves and serves and keeps the hold-out model beside it; the hold-out charts and audits read the hold-out model,
so their numbers are the summary's. Real SQLite file, real fits on the in-process thread runner."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

import storage
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.jobs.runners import ThreadJobRunner
from pipeline_core.training.results import run_summary
from studio import audit, datasets, models, runs, training
from studio.roles import Actor
from studio.settings import Settings
from tests.pipeline_core.test_jobs import wait_for

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

@pytest.fixture
def runner(studio) -> Iterator[ThreadJobRunner]:
    threads = training.start_runner(Settings(PIPELINE_STUDIO_JOBS="threads"))
    yield threads
    threads.close()


def finished_run(store, runner, refit_all: bool) -> int:
    iris = datasets.load_sample_dataset(LOCAL, "iris")
    frame = datasets.load_table(LOCAL, iris)
    spec = PipelineSpec(name="iris", target="target", models=[{"kind": "knn"}],
                        evaluation={"cv_folds": 3, "holdout": 0.3, "refit_all": refit_all})
    spec = spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})
    run_id = training.submit_training(LOCAL, runner, spec, iris.id)
    run = wait_for(store, run_id, {"done", "failed", "cancelled"})
    assert run.status == "done", run.error
    return run_id


def test_the_run_serves_the_refitted_model_and_audits_the_hold_out_one(store, runner):
    run_id = finished_run(store, runner, refit_all=True)
    served = models.load_stored_model(LOCAL, models.run_artifact(LOCAL, run_id)).pipeline
    holdout = models.load_stored_model(LOCAL, models.holdout_artifact(LOCAL, run_id)).pipeline
    [held] = storage.list_model_artifacts(store, run_id=run_id, role="holdout")
    assert models.holdout_artifact(LOCAL, run_id).id == held.id != models.run_artifact(LOCAL, run_id).id
    assert served[-1].n_samples_fit_ == 150 and holdout[-1].n_samples_fit_ == 105  # 30% of iris held out
    summary = run_summary(runs.get_run(LOCAL, run_id))
    assert summary.refit_rows == 150
    scores = audit.holdout_scores(LOCAL, run_id)
    assert np.array_equal(scores.predicted, holdout.predict(scores.X))
    assert accuracy_score(scores.y, scores.predicted) == pytest.approx(summary.holdout["accuracy"])
    assert set(models.model_choices(LOCAL)) == {models.run_artifact(LOCAL,
               run_id).id}  # Predict offers the served model only


def test_without_the_refit_the_run_stores_one_model_that_is_both(store, runner):
    run_id = finished_run(store, runner, refit_all=False)
    assert len(storage.list_model_artifacts(store, run_id=run_id, role=None)) == 1
    assert models.holdout_artifact(LOCAL, run_id).id == models.run_artifact(LOCAL, run_id).id
    assert run_summary(runs.get_run(LOCAL, run_id)).refit_rows is None

"""A user's ``n_jobs`` is held to the worker's share (issue 14 point 8): ``n_jobs=-1`` in a definition asked one
fit for every core while the job's folds already ran in parallel, so one session could starve everyone else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.compiler.compile import compile_pipeline
from pipeline_core.definition.registry import MODELS, WORKER_N_JOBS, capped_n_jobs
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec, SearchDim, TuningPlan
from pipeline_core.training.train import train
from pipeline_core.training.tuning import search_space
from tests.pipeline_core.frames import iris


def _spec(model: ModelSpec, **tuning: Any) -> PipelineSpec:
    spec = PipelineSpec(target="target", models=[model], evaluation=EvaluationPlan(cv_folds=2),
                        tuning=TuningPlan(**tuning))
    return spec.model_copy(update={"steps": default_steps(infer_schema(iris(), spec))})


@pytest.mark.parametrize(("asked", "runs"), [(-1, 1), (-2, 1), (None, 1), (0, 1), (8, 1), (1, 1), (True, 1)])
def test_a_users_n_jobs_is_capped_to_the_workers_share(asked: Any, runs: int) -> None:
    assert WORKER_N_JOBS == 1 and capped_n_jobs(asked) == runs


@pytest.mark.parametrize("kind", ["random_forest", "extra_trees", "knn", "logistic_regression"])
def test_the_compiled_model_gets_the_capped_n_jobs(kind: str) -> None:
    spec = _spec(ModelSpec(kind=kind, params={"n_jobs": -1}))
    pipeline = compile_pipeline(spec, infer_schema(iris(), spec), task="classification", model=spec.models[0])
    assert pipeline.named_steps["model"].n_jobs == WORKER_N_JOBS
    untouched = compile_pipeline(spec, infer_schema(iris(), spec), task="classification", model=ModelSpec(kind=kind))
    assert untouched.named_steps["model"].n_jobs is None  # the estimator's own default when the user sets none


def test_a_trained_forest_asked_for_every_core_fits_on_one_and_says_so() -> None:
    spec = _spec(ModelSpec(kind="random_forest", params={"n_jobs": -1, "n_estimators": 10}))
    result = train(spec, iris(), n_jobs=1)
    assert result.best.error is None
    assert result.pipeline.named_steps["model"].n_jobs == 1
    assert any("n_jobs=-1 ran as 1" in note for note in result.best.notes)


def test_a_search_over_n_jobs_only_ever_tries_the_workers_share() -> None:
    model = ModelSpec(kind="knn", search={"n_jobs": SearchDim(type="choice", values=[-1, 16]),
                                          "n_neighbors": SearchDim(type="int", low=3, high=9)})
    assert search_space(model, MODELS["knn"])["n_jobs"].values == (WORKER_N_JOBS,)
    result = train(_spec(model, method="random", n_trials=3), iris(), n_jobs=1)
    assert result.best.error is None
    trials = [t for t in result.best.tuning_history if t["trial"] > 0]  # trial 0 is the untuned model
    assert {json.loads(t["params"])["n_jobs"] for t in trials} == {1}
    assert result.pipeline.named_steps["model"].n_jobs == 1

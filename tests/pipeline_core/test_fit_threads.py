"""Issue 20 point 7: every fit inside training runs with one OpenMP and one BLAS thread.

Folds already run one per single-threaded worker, so a model's own thread team on top of that
oversubscribes the cores. A registry model whose estimator records the thread limits it sees while
fitting goes through real training (CV folds, tuning, the final refit) and clustering.
"""

from __future__ import annotations

import dataclasses

import pytest
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_info, threadpool_limits

from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition import registry
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec, TuningPlan
from pipeline_core.training.train import train
from tests.pipeline_core.frames import breast_cancer

SEEN: list[set[int]] = []


def _record() -> None:
    SEEN.append({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] in ("openmp", "blas")})


class RecordingLogistic(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        _record()
        return super().fit(X, y, sample_weight)


class RecordingKMeans(KMeans):
    def fit(self, X, y=None, sample_weight=None):
        _record()
        return super().fit(X, y, sample_weight)


@pytest.fixture
def recorded(monkeypatch):
    SEEN.clear()
    entry = registry.MODELS["logistic_regression"]
    monkeypatch.setitem(registry.MODELS, "logistic_regression", dataclasses.replace(
        entry, estimators={"classification": RecordingLogistic}))
    kmeans = registry.MODELS["kmeans"]
    monkeypatch.setitem(registry.MODELS, "kmeans",
                        dataclasses.replace(kmeans, estimators={"clustering": RecordingKMeans}))
    return SEEN


def test_folds_tuning_and_the_refit_each_fit_with_one_thread(recorded):
    frame = breast_cancer()
    spec = PipelineSpec(target="target", models=[ModelSpec(kind="logistic_regression")],
                        evaluation=EvaluationPlan(cv_folds=3, holdout=0.2),
                        tuning=TuningPlan(method="random", n_trials=2))
    spec = spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})
    with threadpool_limits(limits=2):  # what a worker would allow without the limit: more than one
        train(spec, frame)
    assert len(recorded) >= 3 + 2 * 3 + 1  # folds, two trials of three folds, the refit
    assert all(threads == {1} for threads in recorded), str([sorted(t) for t in recorded])


def test_clustering_fits_with_one_thread(recorded):
    frame = breast_cancer().drop(columns=["target"])
    spec = PipelineSpec(target=None, task="clustering", models=[ModelSpec(kind="kmeans")])
    spec = spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})
    with threadpool_limits(limits=2):
        train(spec, frame)
    assert recorded and all(threads == {1} for threads in recorded), recorded

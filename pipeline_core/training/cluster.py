"""Clustering: no target, so models are compared by internal scores on one fit each."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn import metrics as skm

from pipeline_core.compiler.compile import compile_pipeline
from pipeline_core.compiler.prepare import Prepared
from pipeline_core.definition.registry import MODELS, default_models
from pipeline_core.definition.spec import ModelSpec, PipelineSpec
from pipeline_core.errors import CancelledError, StudioError
from pipeline_core.training.progress import ModelSlice, ProgressCallback, finished
from pipeline_core.training.provenance import provenance
from pipeline_core.training.results import ModelScore, TrainResult, limit_rows, rank_key
from pipeline_core.training.threads import fit_threads

SCORE_SAMPLE = 5_000


def train_clustering(spec: PipelineSpec, data: Prepared, progress: ProgressCallback,
                     cancel: Callable[[], bool]) -> TrainResult:
    """Fit each clusterer once and rank by silhouette; the best pipeline is returned fitted."""
    candidates = spec.models or [ModelSpec(kind=k) for k in default_models("clustering")]
    board, fitted = [], {}
    for i, model in enumerate(candidates):
        if cancel():
            raise CancelledError(f"cancelled after {i} of {len(candidates)} models")
        entry = MODELS[model.kind]
        step = ModelSlice(progress, i, len(candidates), model.kind)
        step(0.0, f"{entry.label}: fitting")
        row = ModelScore(model=model.kind, label=entry.label, params=dict(model.params))
        try:
            X, _ = limit_rows(entry, data.X, data.X.index.to_series(), spec.evaluation.seed, row)
            pipeline = compile_pipeline(spec, data.schema, task="clustering", model=model)
            row.metrics = _fit_and_score(pipeline, X, row, spec.evaluation.seed)
            fitted[model.kind] = pipeline
        except Exception as e:  # noqa: BLE001 - one failing model must not lose the others
            row.error = str(e) if isinstance(e, StudioError) else f"{type(e).__name__}: {e}"
        board.append(row)
        step(1.0, f"{row.label} done")
    board.sort(key=lambda r: rank_key(r, "silhouette"))
    if board[0].error:
        raise StudioError(f"every clustering model failed; first error: {board[0].error}")
    progress(finished(len(candidates)))
    return TrainResult(spec, "clustering", data.task_reason, "silhouette", board, fitted[board[0].model],
                       dict(board[0].metrics), data.schema, data.report, None, None, provenance(spec, data.X),
                       model_seconds={row.model: row.fit_seconds for row in board})


def _fit_and_score(pipeline: Any, X: Any, row: Any, seed: int) -> dict[str, float]:
    with warnings.catch_warnings(), fit_threads():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        labels = pipeline.fit_predict(X)
        row.fit_seconds = time.perf_counter() - start
        features = pipeline[:-1].transform(X)
    features = features.toarray() if hasattr(features, "toarray") else np.asarray(features)
    n_clusters = len(set(labels) - {-1})
    row.notes.append(f"{n_clusters} clusters found")
    if n_clusters < 2:
        raise StudioError(f"found {n_clusters} cluster(s); silhouette needs two or more — adjust the parameters")
    kw = {"sample_size": min(SCORE_SAMPLE, len(labels)), "random_state": seed}
    return {
        "silhouette": float(skm.silhouette_score(features, labels, **kw)),
        "davies_bouldin": float(skm.davies_bouldin_score(features, labels)),
        "calinski_harabasz": float(skm.calinski_harabasz_score(features, labels)),
    }

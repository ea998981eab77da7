"""Rebuild a run's train/hold-out split from its definition and data, without retraining.

A stored run keeps its fitted model but not the rows it was scored on. Because the split
is a pure function of (definition, data) — the same :func:`~pipeline_core.compiler.prepare.prepare`
and the same seeded ``train_test_split`` that :func:`~pipeline_core.training.train.train` uses — a
stored model can be evaluated on exactly the rows it never saw in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline_core.compiler.prepare import prepare
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.errors import DataError
from pipeline_core.training.evaluate import evaluation_frames, learning_curve_frame
from pipeline_core.training.results import TrainResult
from pipeline_core.training.rounds import as_cross_validated
from pipeline_core.training.splits import cv_splitter, split_holdout


@dataclass
class Split:
    """The rows model selection used (``X_train``) and the rows it held out (``X_test``)."""

    task: str
    X_train: pd.DataFrame
    X_test: pd.DataFrame | None
    y_train: pd.Series
    y_test: pd.Series | None

    def fold_sizes(self, cv_folds: int) -> tuple[int, int]:
        """Rows trained on and scored per CV fold, as the corrected paired t-test needs them."""
        n_test = len(self.X_train) // cv_folds
        return len(self.X_train) - n_test, n_test


def training_split(spec: PipelineSpec, frame: pd.DataFrame) -> Split:
    """The split training made for ``spec`` on ``frame``; ``X_test``/``y_test`` are ``None`` without hold-out.

    Raises :class:`DataError` for clustering, which has no target to split on.
    """
    data = prepare(spec, frame)
    if data.task == "clustering" or data.y is None:
        raise DataError("clustering runs have no target, so there are no hold-out rows to evaluate on")
    X_train, X_test, y_train, y_test = split_holdout(spec, data)
    return Split(data.task, X_train, X_test, y_train, y_test)


def holdout_split(spec: PipelineSpec, frame: pd.DataFrame) -> Split:
    """:func:`training_split`, refusing definitions that held out no rows (``evaluation.holdout`` 0)."""
    split = training_split(spec, frame)
    if split.X_test is None or len(split.X_test) == 0:
        raise DataError("this definition holds out no rows (evaluation.holdout is 0); set a hold-out share "
                        "on the Train page to get charts on unseen rows")
    return split


def holdout_frames(pipeline: Any, spec: PipelineSpec, split: Split, metric: str, *,
                   importance_rows: int | None = None) -> dict[str, pd.DataFrame]:
    """:func:`~pipeline_core.training.evaluate.evaluation_frames` for a stored model and its rebuilt split."""
    result = TrainResult(spec, split.task, "", metric, [], pipeline, {}, {}, [], split.X_test, split.y_test, {})
    return evaluation_frames(result, importance_rows=importance_rows)


def learning_curve(pipeline: Any, spec: PipelineSpec, split: Split, metric: str, *, kind: str | None = None,
                   params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Score by training-set size for (a clone of) ``pipeline``, on the same folds, metric and seed as the run.
    With the model's ``kind`` and ``params`` as cross-validated (a stored model's metadata), a model that stopped
    early in its folds stops early again at every size (``training.rounds.as_cross_validated``)."""
    if kind is not None:
        pipeline = as_cross_validated(pipeline, kind, params or {}, split.task, spec.evaluation.seed)
    return learning_curve_frame(pipeline, split.X_train, split.y_train, split.task,
                                cv=cv_splitter(split.task, spec), scoring=metric, seed=spec.evaluation.seed)

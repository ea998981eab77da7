"""Auditing a finished run on the rows it held out: bias by group and where the model errs.

The hold-out rows are rebuilt from the run's definition and data (``pipeline_core.training.holdout``)
and keep every raw column, so a sensitive column the definition drops from the features (a
``drop_columns`` step, or left out of ``columns.select``) can still group them. The page caches
:func:`holdout_scores` per run and model hash and hands it to the two audits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline_core.analysis.error_slices import ErrorAnalysis, error_analysis
from pipeline_core.analysis.fairness import FairnessReport, fairness_report
from pipeline_core.analysis.groups import DataBalance, GroupRule, data_balance, group_rows, resolve_columns
from pipeline_core.artifacts.export import LoadedModel
from pipeline_core.compiler.prepare import prepare
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.errors import DataError
from pipeline_core.training.holdout import holdout_split
from storage import Dataset, ModelArtifact
from studio.roles import Actor
from studio.runs import run_inputs


@dataclass(frozen=True)
class HoldoutScores:
    """A run's best model on its hold-out rows: the raw rows, their labels, the predictions."""

    run_id: int
    task: str
    target: str
    rename: dict[str, str]
    X: pd.DataFrame
    """The hold-out rows with every raw column of the data (the target aside), indexed by row number."""
    y: pd.Series
    predicted: np.ndarray
    classes: list[Any] | None
    true_class_probability: np.ndarray | None
    training_X: pd.DataFrame
    training_y: pd.Series

    @property
    def columns(self) -> list[str]:
        """Columns a user may group by: every column of the hold-out rows, under the definition's names."""
        return [str(self.rename.get(c, c)) for c in self.X.columns]


def holdout_scores(actor: Actor, run_id: int, *, load_model: Callable[[ModelArtifact], LoadedModel] | None = None,
                   load_frame: Callable[[Dataset], pd.DataFrame] | None = None) -> HoldoutScores:
    """Score run ``run_id``'s model on its rebuilt hold-out rows; a plain error without hold-out or model."""
    inputs = run_inputs(actor, run_id, load_model=load_model, load_frame=load_frame)
    split = holdout_split(inputs.spec, inputs.frame)
    pipeline = inputs.model.pipeline
    try:
        predicted = np.asarray(pipeline.predict(split.X_test))
        classes, probability = None, None
        if split.task == "classification":
            classes = list(pipeline.classes_)
            if hasattr(pipeline, "predict_proba"):
                proba = np.asarray(pipeline.predict_proba(split.X_test))
                position = {str(c): i for i, c in enumerate(classes)}
                picked = [position.get(str(label), -1) for label in split.y_test]
                probability = np.where(np.asarray(picked) >= 0, proba[np.arange(len(proba)), picked], 0.0)
    except (ValueError, TypeError) as e:
        raise DataError(f"Run #{run_id}'s model could not score its hold-out rows: {e}") from e
    return HoldoutScores(run_id, split.task, str(inputs.spec.target), dict(inputs.spec.columns.rename), split.X_test,
                         split.y_test, predicted, classes, probability, split.X_train, split.y_train)


def bias_by_group(scores: HoldoutScores, sensitive: list[str], *, positive: Any = None,
                  rule: GroupRule | None = None) -> FairnessReport:
    """The model's metrics per group of ``sensitive`` on the hold-out rows, with the data's balance by the
    same groups over every row the run used (training and hold-out), as it was before any model."""
    rule = rule or GroupRule()
    columns = resolve_columns(scores.X, sensitive, scores.rename, target=scores.target)
    everything = pd.concat([scores.training_X[columns], scores.X[columns]])
    labels = pd.concat([scores.training_y, scores.y])
    balance = data_balance(labels, group_rows(everything, columns, scores.rename), scores.task, rule)
    return fairness_report(scores.y, scores.predicted, group_rows(scores.X, columns, scores.rename), scores.task,
                           positive=positive, classes=scores.classes, rule=rule, balance=balance)


def where_it_errs(scores: HoldoutScores, *, top_rows: int = 20, top_slices: int = 10) -> ErrorAnalysis:
    """The hold-out rows the model misses most and the slices holding the most excess error (columns under the
    definition's names)."""
    return error_analysis(scores.X.rename(columns=scores.rename), scores.y, scores.predicted, scores.task,
                          true_class_probability=scores.true_class_probability, top_rows=top_rows,
                          top_slices=top_slices)


def balance_before_training(spec: PipelineSpec, frame: pd.DataFrame, sensitive: list[str], *,
                            rule: GroupRule | None = None) -> DataBalance:
    """Group sizes, label rates and class imbalance per group of ``sensitive`` over the rows ``spec`` would
    train on (after its row steps), before any model; the columns may be ones the model will not read."""
    data = prepare(spec, frame)
    if data.y is None or data.task not in ("classification", "regression"):
        raise DataError("label rates by group need a target: choose one on the Features page")
    rename = dict(spec.columns.rename)
    columns = resolve_columns(data.X, sensitive, rename, target=spec.target)
    return data_balance(data.y, group_rows(data.X, columns, rename), data.task, rule)

"""Scoring: predictions for a new table from a stored model, and how that table drifts from the training data.

The Predict page, the CLI and the scoring service share these, so a table is checked against the model's
recorded features (missing columns, unseen categories) and drift is measured on the same columns everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import pandas as pd

from pipeline_core.analysis import drift
from pipeline_core.artifacts.export import LoadedModel
from pipeline_core.artifacts.predict import PREDICTION, PredictResult, predict_frame
from studio import prediction_log
from studio.roles import Actor


def score_frame(model: LoadedModel, frame: pd.DataFrame) -> PredictResult:
    """The table with the model's predictions (and class probabilities) added, plus what was noticed."""
    return predict_frame(model.pipeline, frame, model.metadata)


@dataclass(frozen=True)
class LoggedScores:
    """A scored table and the request id its rows were logged under (None when the log is off)."""

    result: PredictResult
    request_id: str | None


def score_and_log(actor: Actor, model: LoadedModel, frame: pd.DataFrame, *, artifact_id: int, artifact_sha256: str,
                  run_id: int | None) -> LoggedScores:
    """:func:`score_frame`, and the rows recorded in the prediction log in the background (the Predict page)."""
    start = time.perf_counter()
    result = score_frame(model, frame)
    seconds = time.perf_counter() - start
    target = prediction_log.page_target(actor, artifact_id, artifact_sha256, run_id)
    request_id = prediction_log.log_scored(target, frame, result.frame[PREDICTION].tolist(), seconds,
                                           metadata=model.metadata, wait=False)
    return LoggedScores(result=result, request_id=request_id)


class DriftColumn(NamedTuple):
    """One column drift compares: its name in the files, its name in the pipeline, and how it is binned."""

    raw: str
    name: str
    kind: str


def drift_columns(metadata: Mapping[str, Any], training: pd.DataFrame) -> tuple[DriftColumn, ...]:
    """The columns drift is measured on, as the model's schema has them: its recorded features (pipeline names,
    and binned by the semantic type the model uses, so a number column the model reads as labels drifts as
    labels); a model recorded without features: every column but the target, by its values."""
    features = [f for f in metadata.get("features") or [] if f.get("name") in training.columns]
    if features:
        return tuple(DriftColumn(f["name"], f.get("column") or f["name"], drift.drift_kind(f.get("type", "")))
                     for f in features)
    return tuple(DriftColumn(str(c), str(c), drift.column_kind(training[c]))
                 for c in training.columns if c != metadata.get("target"))


def drift_from_training(training: pd.DataFrame, new: pd.DataFrame, columns: tuple[DriftColumn, ...]) -> pd.DataFrame:
    """PSI and Kolmogorov-Smirnov per column of ``columns``, named as the pipeline names them (a column the new
    table lacks is reported so)."""
    return drift_from_side(training_side(training, columns), new, columns)


def training_side(training: pd.DataFrame, columns: tuple[DriftColumn, ...]) -> drift.TrainingSide:
    """The training half of the drift report of ``columns``, to build once and compare many new tables with."""
    raw = [c.raw for c in columns]
    return drift.training_side(training[raw], kinds={c.raw: c.kind for c in columns},
                               labels={c.raw: c.name for c in columns})


def drift_from_side(side: drift.TrainingSide, new: pd.DataFrame, columns: tuple[DriftColumn, ...]) -> pd.DataFrame:
    """:func:`drift_from_training` against a training side built by :func:`training_side` from the same columns."""
    return drift.drift_against(side, new[[c.raw for c in columns if c.raw in new.columns]])

"""Scoring: predictions for a new table from a stored model, and how that table drifts from the training data.

The Predict page, the CLI and the scoring service share these, so a table is checked against the model's
recorded features (missing columns, unseen categories) and drift is measured on the same columns everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pipeline_core.analysis import drift
from pipeline_core.artifacts.export import LoadedModel
from pipeline_core.artifacts.predict import PredictResult, predict_frame


def score_frame(model: LoadedModel, frame: pd.DataFrame) -> PredictResult:
    """The table with the model's predictions (and class probabilities) added, plus what was noticed."""
    return predict_frame(model.pipeline, frame, model.metadata)


def drift_columns(metadata: Mapping[str, Any], training: pd.DataFrame) -> tuple[str, ...]:
    """The columns drift is measured on: the model's recorded features, else every column but the target."""
    names = [f["name"] for f in metadata.get("features") or []] or [
        c for c in training.columns if c != metadata.get("target")]
    return tuple(c for c in names if c in training.columns)


def drift_from_training(training: pd.DataFrame, new: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """PSI and Kolmogorov-Smirnov per column of ``columns`` (a column the new table lacks is reported so)."""
    present = [c for c in columns if c in new.columns]
    return drift.drift_report(training[list(columns)], new[present])

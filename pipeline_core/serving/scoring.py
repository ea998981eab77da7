"""Score one request's rows: the CLI's ``predict_frame`` path, plus the quality rules checked row by row
(:func:`pipeline_core.analysis.quality.row_violations`, as the Predict page reports them).

Predictions come from :func:`pipeline_core.artifacts.predict.predict_frame`, the function behind
``python -m pipeline_core predict``, so a row scores the same through the service as through a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline_core.analysis import quality
from pipeline_core.analysis.quality import RowViolation, row_violations
from pipeline_core.artifacts.predict import PREDICTION, PROBABILITY_PREFIX, predict_frame
from pipeline_core.artifacts.skops_io import LoadedModel
from pipeline_core.library_estimators import classes_of


@dataclass
class ScoredBatch:
    """One request's outcome, handed to the response, the metrics and the service's ``on_scored`` hook."""

    rows: pd.DataFrame
    predictions: list[Any]
    probabilities: list[dict[str, float]] | None
    notices: list[str] = field(default_factory=list)
    violations: list[RowViolation] = field(default_factory=list)


def score(model: LoadedModel, frame: pd.DataFrame, rules: list[quality.Rule]) -> ScoredBatch:
    """Predictions (and class probabilities) for ``frame``; raises ``DataError`` naming the column at fault."""
    result = predict_frame(model.pipeline, frame, model.metadata)
    predictions = result.frame[PREDICTION].tolist()
    probabilities = None
    classes = classes_of(model.pipeline)
    if classes is not None and f"{PROBABILITY_PREFIX}{classes[0]}" in result.frame.columns:
        labels = [str(c) for c in classes]
        matrix = result.frame[[f"{PROBABILITY_PREFIX}{c}" for c in classes]].to_numpy(dtype=float)
        probabilities = [dict(zip(labels, row, strict=True)) for row in matrix.tolist()]
    return ScoredBatch(frame, predictions, probabilities, result.notices, row_violations(frame, rules))

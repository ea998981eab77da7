"""What training produces: leaderboard rows, the in-memory result, and the row helpers both trainers share.

Supervised training (``train``) and clustering (``cluster``) build the same rows and rank them the
same way; these live here, below both, so neither trainer has to import the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipeline_core.compiler.columns import ColumnInfo
from pipeline_core.definition import metrics as mt
from pipeline_core.definition.registry import ModelEntry
from pipeline_core.definition.spec import PipelineSpec


@dataclass
class ModelScore:
    """One leaderboard row: per-metric mean/std across folds, timings, and any failure."""

    model: str
    label: str
    metrics: dict[str, float] = field(default_factory=dict)
    metrics_std: dict[str, float] = field(default_factory=dict)
    folds: dict[str, list[float]] = field(default_factory=dict)
    fit_seconds: float = 0.0
    predict_seconds: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    tuning_history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "label": self.label, "metrics": self.metrics, "metrics_std": self.metrics_std,
            "folds": self.folds, "fit_seconds": self.fit_seconds, "predict_seconds": self.predict_seconds,
            "params": _jsonable(self.params), "notes": self.notes, "error": self.error,
            "tuning_history": self.tuning_history,
        }


@dataclass
class TrainResult:
    """Everything a run produced; ``pipeline`` is the best model refitted on all training rows."""

    spec: PipelineSpec
    task: str
    task_reason: str
    metric: str
    leaderboard: list[ModelScore]
    pipeline: Any
    holdout: dict[str, float]
    schema: dict[str, ColumnInfo]
    report: list[str]
    X_test: pd.DataFrame | None
    y_test: pd.Series | None
    provenance: dict[str, Any]
    training_rows: int | None = None  # the refit's rows: they settle ``boosting="auto"`` (see ``compile``)

    @property
    def best(self) -> ModelScore:
        return self.leaderboard[0]

    def leaderboard_records(self) -> list[dict[str, Any]]:
        return [row.to_dict() for row in self.leaderboard]


def limit_rows(entry: ModelEntry, X: pd.DataFrame, y: pd.Series, seed: int, row: ModelScore) -> tuple:
    """A seeded random sample of ``entry.max_rows`` rows for models that cannot take more; noted on ``row``."""
    max_rows = entry.max_rows
    if max_rows is None or len(X) <= max_rows:
        return X, y
    row.notes.append(f"trained on a random {max_rows:,} of {len(X):,} rows: {entry.limit_reason}")
    idx = np.random.default_rng(seed).choice(len(X), size=max_rows, replace=False)
    return X.iloc[idx], y.iloc[idx]


def rank_key(row: ModelScore, metric: str) -> tuple:
    """Sort key putting the best score first and failed or unscored models last."""
    value = row.metrics.get(metric, np.nan)
    if row.error or np.isnan(value):
        return (1, 0.0)
    return (0, value if metric in mt.LOWER_IS_BETTER else -value)


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in params.items()}

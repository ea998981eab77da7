"""What training produces: leaderboard rows, the in-memory result, the stored run summary, and the row helpers.

Supervised training (``train``) and clustering (``cluster``) build the same rows and rank them the
same way; these live here, below both, so neither trainer has to import the other.

A finished run is stored as JSON (storage knows nothing of this package), so the stored shapes are
pydantic models here: :class:`RunSummary` and :class:`LeaderboardRow` are validated when a job writes
them and again when a page reads them back (:func:`run_summary`), so a misspelt key fails loudly at
either end instead of reading as a silent ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from pipeline_core.compiler.columns import ColumnInfo
from pipeline_core.definition import metrics as mt
from pipeline_core.definition.registry import ENSEMBLE_KINDS, ModelEntry
from pipeline_core.definition.spec import AutopilotPlan, PipelineSpec
from pipeline_core.json_data import jsonable


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
    threshold: DecisionThreshold | None = None  # tuned thresholds: the mean of the CV folds' own choices
    target_transform: str = "none"  # what the model was fitted to (``compiler.target``): "auto" settled for this run
    # each CV fold's rounds, in fold order, when every fold stopped early (``training.rounds``): their mean is what
    # the refit fits on every row
    rounds: list[int] = field(default_factory=list)

    def to_row(self) -> LeaderboardRow:
        return LeaderboardRow(
            model=self.model, label=self.label, metrics=self.metrics, metrics_std=self.metrics_std,
            folds=self.folds, fit_seconds=self.fit_seconds, predict_seconds=self.predict_seconds,
            params=jsonable(self.params), notes=self.notes, error=self.error,
            tuning_history=jsonable(self.tuning_history), threshold=self.threshold,
            target_transform=self.target_transform, rounds=self.rounds,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_row().model_dump(mode="json")


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
    model_seconds: dict[str, float] = field(default_factory=dict)  # wall clock per candidate, tuning included
    # refit on all rows (issue 20 point 4): ``pipeline`` then saw ``refit_rows`` rows, hold-out rows included, and
    # ``holdout_pipeline`` is the model the hold-out rows scored; every hold-out number must come from it
    holdout_pipeline: Any = None
    refit_rows: int | None = None
    autopilot: AutopilotRecord | None = None  # a run that searched: its time accounting and chosen configurations

    @property
    def holdout_model(self) -> Any:
        """The model trained without the hold-out rows: the one every hold-out score, chart and audit uses."""
        return self.holdout_pipeline if self.holdout_pipeline is not None else self.pipeline

    @property
    def best(self) -> ModelScore:
        return self.leaderboard[0]

    @property
    def model_kinds(self) -> list[str]:
        """The registry models inside the saved model: the best row's, or an ensemble's members."""
        members = self.best.params.get("members") if self.best.model in ENSEMBLE_KINDS else None
        return list(members) if members else [self.best.model]

    def leaderboard_records(self) -> list[dict[str, Any]]:
        return [row.to_dict() for row in self.leaderboard]

    def leaderboard_rows(self) -> list[LeaderboardRow]:
        return [row.to_row() for row in self.leaderboard]

    def summary(self, total_seconds: float) -> RunSummary:
        """What a run stores besides its leaderboard; ``total_seconds`` is the job's, serialising included."""
        return RunSummary(total_seconds=total_seconds, metric=self.metric, task=self.task, holdout=self.holdout,
                          report=self.report, provenance=Provenance.model_validate(self.provenance),
                          model_seconds=self.model_seconds, threshold=decision_threshold(self.pipeline),
                          refit_rows=self.refit_rows, autopilot=self.autopilot)


class _Stored(BaseModel):
    """Strict about names (a misspelt key is an error, not a silent default), lenient about absent keys:
    failed and cancelled runs, and runs stored by older versions, hold an empty summary."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DecisionThreshold(_Stored):
    """A decision threshold chosen on out-of-fold predictions of training rows (issue 15 point 12).

    The model predicts ``positive_class`` when its ``response`` (probability, or a decision score for models
    without probabilities) is at least ``value``, else the other class; ``score`` is ``metric`` of those
    out-of-fold predictions at that threshold. ``folds`` holds each CV fold's own choice (leaderboard rows).
    """

    value: float
    metric: str
    positive_class: str
    response: str = "probability"
    score: float | None = None
    folds: list[float] = Field(default_factory=list)


class LeaderboardRow(_Stored):
    """One model's stored leaderboard entry (``ModelScore`` as JSON); scores that were NaN are stored as null."""

    model: str
    label: str = ""
    metrics: dict[str, float | None] = Field(default_factory=dict)
    metrics_std: dict[str, float | None] = Field(default_factory=dict)
    folds: dict[str, list[float | None]] = Field(default_factory=dict)
    fit_seconds: float = 0.0
    predict_seconds: float = 0.0
    params: dict[str, Any] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    error: str | None = None
    tuning_history: list[dict[str, Any]] = Field(default_factory=list)
    threshold: DecisionThreshold | None = None
    target_transform: str = "none"  # absent in runs stored before target transforms: the target as it was
    rounds: list[int] = Field(default_factory=list)  # absent before refits fixed stopped rounds: none recorded


class Provenance(_Stored):
    """What makes a result reproducible (see ``training.provenance``)."""

    data_sha256: str | None = None
    frame_sha256: str | None = None
    definition_sha256: str | None = None
    seed: int | None = None
    versions: dict[str, str] = Field(default_factory=dict)


Stopped = Literal["budget", "cancelled", "exhausted"]


class AutopilotRecord(_Stored):
    """What an autopilot run did with its time, measured by the run's own clock from ``train``'s start.

    ``total_seconds`` is what the budget bounds (search, final refits and hold-out score); ``refit_predicted`` is
    what the search held back for the refits when it stopped, ``refit_seconds`` what they took.
    ``stopped``: ``budget`` (the time was spent), ``cancelled`` (the user stopped it; the best so far was kept) or
    ``exhausted`` (nothing left to try that fits). ``plan`` is the definition's autopilot with the configurations
    the search chose: give it to a definition to re-train exactly those.
    """

    budget_seconds: float
    search_seconds: float = 0.0
    refit_seconds: float = 0.0
    refit_predicted: float = 0.0
    total_seconds: float = 0.0
    trials: int = 0
    abandoned: int = 0
    stopped: Stopped = "budget"
    plan: AutopilotPlan | None = None


class RunSummary(_Stored):
    """A finished run's results besides its leaderboard: stored in ``runs.summary``.

    ``metric`` and ``task`` are ``None`` for runs that did not finish: they never produced a summary.
    """

    total_seconds: float = 0.0
    metric: str | None = None
    task: str | None = None
    holdout: dict[str, float | None] = Field(default_factory=dict)
    report: list[str] = Field(default_factory=list)
    provenance: Provenance = Field(default_factory=Provenance)
    model_seconds: dict[str, float] = Field(default_factory=dict)
    threshold: DecisionThreshold | None = None  # the saved model's, when the definition tunes it
    refit_rows: int | None = None  # rows the saved model was refitted on (training + hold-out); None: not refitted
    autopilot: AutopilotRecord | None = None  # a searching run's time accounting and chosen configurations


def decision_threshold(pipeline: Any) -> DecisionThreshold | None:
    """The threshold a fitted pipeline's model chose; ``None`` when the model does not tune its threshold."""
    from pipeline_core.compiler.threshold import tuned_model

    fitted = tuned_model(pipeline)
    if fitted is None:
        return None
    probability = hasattr(fitted.estimator_, "predict_proba")  # "auto" prefers it; SVMs have decision scores
    return DecisionThreshold(value=float(fitted.best_threshold_), metric=str(fitted.scoring),
                             positive_class=str(fitted.classes_[1]), score=float(fitted.best_score_),
                             response="probability" if probability else "decision score")


def folds_threshold(chosen: list[DecisionThreshold | None]) -> DecisionThreshold | None:
    """The CV folds' thresholds as one: their mean, each fold's kept in ``folds``; ``None`` when none tuned one."""
    found = [c for c in chosen if c is not None]
    if not found:
        return None
    return found[0].model_copy(update={"value": float(np.mean([c.value for c in found])),
                                       "score": float(np.mean([c.score for c in found if c.score is not None])),
                                       "folds": [c.value for c in found]})


class StoredRun(Protocol):
    """A stored run as far as reading its results goes (``storage.Run`` is one; this layer does not import it)."""

    summary: Mapping[str, Any]
    leaderboard: list[dict[str, Any]]


def run_summary(run: StoredRun) -> RunSummary:
    """The run's summary, validated: the one way pages and the CLI read ``runs.summary``."""
    return RunSummary.model_validate(run.summary or {})


def leaderboard_rows(run: StoredRun) -> list[LeaderboardRow]:
    """The run's leaderboard, validated, best first."""
    return [LeaderboardRow.model_validate(row) for row in run.leaderboard or []]


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
    return (0, -value if mt.greater_is_better(metric) else value)

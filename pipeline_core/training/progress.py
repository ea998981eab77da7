"""Training progress as typed events, and the one place that knows how a run's progress bar is split.

A run's bar has two parts: comparing the candidates (each gets an equal slice of
:data:`COMPARE_SHARE`) and refitting the best one on every training row (the rest). Everything
downstream (the job's "2 of 5 models done" note, the Train page's per-model states) reads the
event's fields instead of re-deriving them from the fraction or parsing the message, so only this
module holds the split.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

COMPARE_SHARE = 0.96
"""Of a run's progress bar, the part spent comparing candidates; refitting the best takes the rest."""

Phase = Literal["comparing", "refitting", "done"]
Stage = Literal["tuning", "untuned", "cv"]


@dataclass(frozen=True)
class Work:
    """Units of measurable work inside one candidate: ``done`` of ``total`` tuning trials (``tuning``), the
    untuned model's scoring after a search (``untuned``, 1 of 1), or CV folds (``cv``). The time-left estimate
    (:mod:`pipeline_core.training.time_left`) times these units instead of trusting the bar's equal slices."""

    stage: Stage
    done: int
    total: int


class ProgressEvent(BaseModel):
    """One step of a training run, as the job reports it and the page shows it.

    ``model_index`` and ``model_name`` are the candidate being scored (``None`` once comparing is
    over); ``models_done`` counts candidates whose scoring has ended, failed ones included.
    ``fraction`` is the whole run's progress, 0 to 1.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    phase: Phase
    fraction: float = Field(ge=0.0, le=1.0)
    message: str = ""
    n_models: int = Field(default=0, ge=0)
    models_done: int = Field(default=0, ge=0)
    model_index: int | None = Field(default=None, ge=0)
    model_name: str | None = None
    stage: Stage | None = None
    stage_done: int = Field(default=0, ge=0)
    stage_total: int = Field(default=0, ge=0)


ProgressCallback = Callable[[ProgressEvent], None]
"""What ``train`` reports to."""


class ModelSlice:
    """Turns candidate ``index``'s own 0..1 progress (tuning trials, CV folds) into run events."""

    def __init__(self, emit: ProgressCallback, index: int, total: int, name: str):
        self.emit, self.index, self.total, self.name = emit, index, total, name

    def __call__(self, fraction: float, message: str, work: Work | None = None) -> None:
        fraction = max(0.0, min(1.0, fraction))
        units = {} if work is None else {"stage": work.stage, "stage_done": work.done, "stage_total": work.total}
        self.emit(ProgressEvent(
            phase="comparing", fraction=min(COMPARE_SHARE, (self.index + fraction) / self.total * COMPARE_SHARE),
            message=message, n_models=self.total, models_done=self.index + (fraction >= 1.0),
            model_index=self.index, model_name=self.name, **units,
        ))


def refitting(n_models: int, name: str, message: str) -> ProgressEvent:
    """The event that ends comparing: every candidate is scored and ``name`` is refitted."""
    return ProgressEvent(phase="refitting", fraction=COMPARE_SHARE, message=message, n_models=n_models,
                         models_done=n_models, model_name=name)


def finished(n_models: int) -> ProgressEvent:
    return ProgressEvent(phase="done", fraction=1.0, message="done", n_models=n_models, models_done=n_models)


class StoredProgress(Protocol):
    """A stored run as far as its progress goes (``storage.Run`` is one; this layer does not import it)."""

    progress_event: Mapping[str, Any] | None


def progress_event(run: StoredProgress) -> ProgressEvent | None:
    """The run's last progress event, validated; ``None`` before its job first reported."""
    return ProgressEvent.model_validate(run.progress_event) if run.progress_event else None

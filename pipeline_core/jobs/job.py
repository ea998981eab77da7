"""One training job, start to end: train, serialise the best model, and tell a reporter every step.

Both runners run this same function: the thread runner in its pool, the Dask runner as a cluster
task (``dask_cluster.run_on_cluster``). It lives apart from the runners so the Dask module can call it
without importing the module that chooses between runners (which imports the Dask module).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import pandas as pd

from pipeline_core.definition.spec import PipelineSpec, load_spec
from pipeline_core.errors import CancelledError, StudioError
from pipeline_core.training.progress import ProgressEvent
from pipeline_core.training.results import LeaderboardRow, RunSummary, TrainResult
from pipeline_core.training.time_left import Tick, seconds_left


class Reporter(Protocol):
    """Where a job reports; every method must be safe to call from another thread or process.

    ``cancelled()`` is asked after every progress report (at least once per CV fold); once it
    is true the job stops at that point and says so through ``fail(..., status="cancelled")``.
    """

    def start(self) -> None: ...
    def progress(self, event: ProgressEvent) -> None: ...
    def cancelled(self) -> bool: ...
    def finish(self, leaderboard: list[LeaderboardRow], model: bytes, model_name: str,
               summary: RunSummary, holdout_model: bytes | None = None) -> None: ...
    def fail(self, error: str, *, status: str = "failed", failed_model: str | None = None) -> None: ...


def run_training(spec_json: str, data_path: str, reporter: Reporter) -> str:
    """Train, save the best model through the reporter, and return the final status.

    Whatever happens, the reporter hears exactly one ending (``finish`` or ``fail``), unless
    the run was already closed elsewhere (cancelled while queued).
    """
    spec: PipelineSpec | None = None
    try:
        reporter.start()
        if reporter.cancelled():
            return "cancelled"
        spec = load_spec(spec_json)
        searching = spec.autopilot is not None and not spec.autopilot.chosen
        progress = ProgressNote(reporter.progress,
                                tuning_seconds=None if spec.tuning.method == "none" else spec.tuning.timeout_seconds,
                                budget_seconds=spec.autopilot.time_budget_seconds if searching else None)
        result, model, holdout_model = _train(spec, pd.read_parquet(data_path), progress, reporter.cancelled)
        rows, summary = result.leaderboard_rows(), result.summary(total_seconds=progress.elapsed())
    except CancelledError as e:
        reporter.fail(str(e), status="cancelled")
        return "cancelled"
    except StudioError as e:
        reporter.fail(str(e), failed_model=_named_model(str(e), spec))
        return "failed"
    except Exception as e:  # noqa: BLE001 - a job must always end with a recorded status
        reporter.fail(f"unexpected error: {type(e).__name__}: {e}")
        return "failed"
    reporter.finish(rows, model, result.best.model, summary, holdout_model)
    return "done"


def _train(spec: PipelineSpec, frame: pd.DataFrame, progress: ProgressNote,
           cancel: Callable[[], bool]) -> tuple[TrainResult, bytes, bytes | None]:
    """The result, the best model's file and, when that model was refitted on every row, the file of the model the
    hold-out rows scored; serialising is part of the job so its failure is recorded too."""
    from pipeline_core.artifacts.export import build_metadata, dump_model
    from pipeline_core.training.train import train

    result = train(spec, frame, progress=progress, cancel=cancel)
    metadata = build_metadata(result, frame)
    holdout = result.holdout_pipeline
    return (result, dump_model(result.pipeline, "skops", metadata),
            dump_model(holdout, "skops", metadata) if holdout is not None else None)


def _named_model(message: str, spec: PipelineSpec | None) -> str | None:
    """The candidate a training error names (train says ``<model>: <error>`` when every model failed)."""
    if spec is None:
        return None
    return next((m.kind for m in spec.models if f"{m.kind}:" in message), None)


class ProgressNote:
    """Adds models done, time elapsed and an estimate of the time left to each progress event's message.

    Training's own messages name the model and the fold ("Random forest: fold 3 of 5 done"),
    so together the user sees how far the run got and when it should end. The count of models
    done comes from the event, not from the fraction: how the bar is split is training's business.
    The time left is measured from the trials and folds done so far (:mod:`pipeline_core.training.time_left`),
    with ``tuning_seconds``, the search's time limit per model, bounding a search. An autopilot run ends at its
    ``budget_seconds``, so its time left is what remains of the budget.
    """

    def __init__(self, report: Callable[[ProgressEvent], None], *, tuning_seconds: float | None = None,
                 budget_seconds: float | None = None):
        self.report = report
        self.started = time.monotonic()
        self.tuning_seconds, self.budget_seconds = tuning_seconds, budget_seconds
        self.ticks: list[Tick] = []

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __call__(self, event: ProgressEvent) -> None:
        self.ticks.append(Tick(self.elapsed(), event))
        message = " · ".join([event.message, *self._notes(event)])
        self.report(event.model_copy(update={"message": message}))

    def _notes(self, event: ProgressEvent) -> list[str]:
        elapsed = self.ticks[-1].at
        notes = []
        if event.n_models:
            notes.append(f"{min(event.models_done, event.n_models)} of {event.n_models} models done")
        notes.append(f"{_duration(elapsed)} elapsed")
        if event.phase == "done":
            left = None
        elif self.budget_seconds is not None:
            left = max(0.0, self.budget_seconds - elapsed)
        else:
            left = seconds_left(self.ticks, self.tuning_seconds)
        if left is not None:
            notes.append(f"about {_duration(left)} left")
        return notes


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"

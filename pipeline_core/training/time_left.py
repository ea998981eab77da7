"""How long a training run still needs, measured from the work it has done so far.

The progress bar gives every candidate an equal slice and a tuned model's search a fixed 80% of its
slice, so "elapsed × (1 − fraction) / fraction" was wrong by minutes: a fast linear model and a slow
forest took the same share, a search that the time limit would stop after 30 of 10,000 trials was
projected to run them all, and the untuned model scored after a search was not counted at all (issue
15 point 10). Here each candidate's own units are timed (tuning trials, the untuned scoring, CV
folds, read from the events' :class:`~pipeline_core.training.progress.Work` fields), the search is
held to its time limit, and candidates not started yet are expected to take as long as the ones
measured. :func:`seconds_left` is a pure function of the timed events, so it is tested on made-up
sequences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline_core.training.progress import COMPARE_SHARE, ProgressEvent

DEFAULT_FOLDS = 5  # the definition's default, assumed only until a candidate has reported its folds


@dataclass(frozen=True)
class Tick:
    """One progress event and when it arrived, in seconds since the run started."""

    at: float
    event: ProgressEvent


@dataclass
class _Model:
    """What the ticks of one candidate measured."""

    start: float  # when its work began: the previous tick (the previous candidate's end), or the run's start
    last: float = 0.0
    tuning_start: float | None = None
    trial_seconds: float | None = None  # mean seconds per search trial
    cv_start: float | None = None
    fold_seconds: float | None = None  # mean seconds per CV fold, as the folds came in
    folds: int = 0
    ticks: list[Tick] = field(default_factory=list)


def seconds_left(ticks: Sequence[Tick], tuning_seconds: float | None = None) -> float | None:
    """Seconds the run should still take after its last tick; ``None`` while nothing has been measured.

    ``tuning_seconds`` is the search's time limit per model (``None`` without tuning): a search never
    runs past it by more than the trial going on when it is reached.
    """
    if not ticks:
        return None
    last = ticks[-1]
    if last.event.phase == "done":
        return 0.0
    models = _measure(ticks)
    folds = [m.fold_seconds for m in models.values() if m.fold_seconds is not None]
    if last.event.phase == "refitting":
        best = next((m for m in models.values() if m.ticks and m.ticks[-1].event.model_name == last.event.model_name),
                    None)
        return _refit(best, folds)
    index = last.event.model_index
    if index is None or index not in models:
        return None
    current = models[index]
    n_folds = next((m.folds for m in models.values() if m.folds), DEFAULT_FOLDS)
    left = _model_left(current, last.at, folds, n_folds, tuning_seconds)
    if left is None:
        left = _from_fraction(last, current)
        if left is None:
            return None
    finished = [m.last - m.start for i, m in models.items() if i < index]
    per_model = sum([*finished, last.at - current.start + left]) / (len(finished) + 1)
    waiting = max(0, last.event.n_models - index - 1)
    return left + waiting * per_model + _refit(None, folds)


def _measure(ticks: Sequence[Tick]) -> dict[int, _Model]:
    models: dict[int, _Model] = {}
    previous = 0.0
    for tick in ticks:
        event = tick.event
        if event.phase != "comparing" or event.model_index is None:
            previous = tick.at
            continue
        model = models.setdefault(event.model_index, _Model(start=previous))
        model.ticks.append(tick)
        model.last = tick.at
        if event.stage == "tuning" and event.stage_done:
            model.tuning_start = model.start if model.tuning_start is None else model.tuning_start
            model.trial_seconds = (tick.at - model.tuning_start) / event.stage_done
        elif event.stage == "cv" and event.stage_done:
            model.cv_start = previous if model.cv_start is None else model.cv_start
            model.fold_seconds = (tick.at - model.cv_start) / event.stage_done
            model.folds = event.stage_total
        previous = tick.at
    return models


def _model_left(model: _Model, now: float, folds: list[float], n_folds: int,
                tuning_seconds: float | None) -> float | None:
    """The current candidate's remaining seconds from its timed units, or ``None`` when its ticks carry none."""
    event = model.ticks[-1].event
    if event.stage == "cv" and model.fold_seconds is not None:
        return (event.stage_total - event.stage_done) * model.fold_seconds
    if event.stage not in ("tuning", "untuned") or model.trial_seconds is None:
        return None
    trial = model.trial_seconds
    cv = _mean(folds) * n_folds if folds else trial  # the final CV is one more K-fold scoring
    if event.stage == "untuned":
        return cv
    search = (event.stage_total - event.stage_done) * trial
    if tuning_seconds is not None and event.stage_done < event.stage_total:
        search = min(search, max(0.0, tuning_seconds - (now - (model.tuning_start or model.start))) + trial)
    return search + trial + cv  # the search, then the untuned model (one more scoring), then the CV


def _from_fraction(last: Tick, model: _Model) -> float | None:
    """For ticks without work units: the candidate's own share of the bar, extrapolated over its own time."""
    event = last.event
    if not event.n_models:
        return None
    within = event.fraction / COMPARE_SHARE * event.n_models - (event.model_index or 0)
    spent = last.at - model.start
    if within < 0.02 or within >= 1.0:
        return 0.0 if within >= 1.0 else None
    return spent * (1 - within) / within


def _refit(best: _Model | None, folds: list[float]) -> float:
    """One fit on all training rows: about one CV fold of the refitted candidate (or of a typical one)."""
    if best is not None and best.fold_seconds is not None:
        return best.fold_seconds
    return _mean(folds) if folds else 0.0


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)

"""Hyperparameter search for one model inside its compiled pipeline.

The search runs on the whole pipeline (preparation, column steps and model), scored by the
same K-fold splitter and primary metric as the leaderboard, so preprocessing is refitted in
every fold and nothing leaks. Grid, random and Optuna search score one candidate at a time:
the user sees each trial, can cancel between trials, and a time budget stops the search
with the best candidate so far. Successive halving does the same in rounds (:func:`halving_rounds`):
every scoring of a candidate, on a share of the rows or on all of them, is one trial, so a
budget of N trials is N scorings, as the Train page promises (issue 15 point 10).
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel
from scipy.stats import loguniform, randint, uniform
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid, ParameterSampler, cross_val_score

from pipeline_core.compiler.target import inner_model, model_prefix
from pipeline_core.definition import metrics as mt
from pipeline_core.definition.registry import THREAD_PARAMETERS, WORKER_N_JOBS, ModelEntry, parameters_of
from pipeline_core.definition.spec import ModelSpec, PipelineSpec, TuningPlan
from pipeline_core.errors import CancelledError, SpecError
from pipeline_core.json_data import plain_value
from pipeline_core.training.progress import Work
from pipeline_core.training.splits import cv_splitter
from pipeline_core.training.threads import fit_threads

Progress = Callable[..., None]  # (fraction, message, work): the trial counts let the time left be measured
Cancel = Callable[[], bool]

HISTORY_COLUMNS = ["trial", "params", "score", "seconds"]
GRID_POINTS = (3, 5)  # points per int/float range in a grid: fewer is too coarse, more explodes the grid


@dataclass(frozen=True)
class Dim:
    """One search dimension; the registry's dicts and the definition's ``SearchDim`` both become this."""

    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    values: tuple[Any, ...] = ()


def search_space(model: ModelSpec, entry: ModelEntry) -> dict[str, Dim]:
    """The space to search: the definition's own if it has one, else the registry default, checked.

    ``n_jobs`` only changes how many cores a fit takes, never its score, so a search over it is held to
    the worker's share like a fixed ``n_jobs`` (issue 14 point 8).
    """
    raw = model.search or entry.search
    space = {}
    for name, dim in raw.items():
        fields = dim.model_dump() if isinstance(dim, BaseModel) else dict(dim)
        space[name] = _checked(fields, f"models[{model.kind}].search.{name}")
    for name in THREAD_PARAMETERS:
        if name in space:
            space[name] = Dim("choice", values=(WORKER_N_JOBS,))
    return space


def _checked(fields: dict[str, Any], where: str) -> Dim:
    """Refuse spaces no sampler can draw from, naming the field; a one-point range becomes a choice."""
    kind, low, high, log = fields.get("type"), fields.get("low"), fields.get("high"), bool(fields.get("log"))
    if kind == "choice":
        if not fields.get("values"):
            raise SpecError(f"{where}: a choice needs at least one value in 'values'")
        return Dim("choice", values=tuple(fields["values"]))
    if kind not in ("int", "float"):
        raise SpecError(f"{where}: type must be 'int', 'float' or 'choice', not {kind!r}")
    if low is None or high is None or low > high:
        raise SpecError(f"{where}: give 'low' and 'high' with low <= high")
    if log and low <= 0:
        raise SpecError(f"{where}: a log-scaled range needs low > 0")
    if low == high:
        return Dim("choice", values=(int(low) if kind == "int" else float(low),))
    return Dim(kind, float(low), float(high), log)


def tune(
    pipeline: Any, model: ModelSpec, entry: ModelEntry, X: pd.DataFrame, y: pd.Series, task: str,
    spec: PipelineSpec, progress: Progress, cancel: Cancel,
) -> dict[str, Any]:
    """Best model parameters (keys without ``model__``); ``{}`` keeps the defaults when no trial succeeds."""
    return tune_with_history(pipeline, model, entry, X, y, task, spec, progress, cancel)[0]


def tune_with_history(
    pipeline: Any, model: ModelSpec, entry: ModelEntry, X: pd.DataFrame, y: pd.Series, task: str,
    spec: PipelineSpec, progress: Progress, cancel: Cancel, *, keep_untuned: bool = True,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Search ``spec.tuning.method``; return the best params and one history row per trial.

    History columns: ``trial`` (1-based), ``params`` (JSON text), ``score`` (mean CV score of the
    primary metric, NaN when the candidate failed) and ``seconds``. With ``keep_untuned`` the model as
    configured is scored too (trial 0) and kept (``{}``) unless a trial beats it. Raises ``CancelledError``.
    """

    space = search_space(model, entry)
    method = spec.tuning.method
    if not space or method == "none":
        return {}, _history_frame([])
    _check_names(space, pipeline, model)
    metric = mt.primary_metric(task, spec.evaluation.metric, y)
    search = _Search(pipeline, X, y, cv_splitter(task, spec), metric, entry.label, spec.tuning, progress, cancel)
    RUNNERS[method](search, space, spec.evaluation.seed)
    search.finish()
    return (search.keep_untuned_unless_beaten() if keep_untuned else search.best_params()), search.history()


def _check_names(space: dict[str, Dim], pipeline: Any, model: ModelSpec) -> None:
    """A misspelt parameter fails every trial; say so once, by name, instead of scoring NaN N times."""
    known = parameters_of(type(inner_model(pipeline.named_steps["model"])))
    unknown = [name for name in space if name not in known]
    if unknown:
        raise SpecError(f"models[{model.kind}].search: {', '.join(unknown)} is not a parameter of this model; "
                        f"use one of {', '.join(sorted(known))}")


class _Search:
    """Scores candidates one by one, keeps the history and the best, and enforces budget and cancel."""

    def __init__(
        self, pipeline: Any, X: pd.DataFrame, y: pd.Series, cv: Any, metric: str, label: str,
        plan: TuningPlan, progress: Progress, cancel: Cancel,
    ):
        self.pipeline, self.X, self.y, self.cv, self.metric, self.label = pipeline, X, y, cv, metric, label
        self.progress, self.cancel, self.total = progress, cancel, plan.n_trials
        self.timeout = plan.timeout_seconds
        self.deadline = time.monotonic() + plan.timeout_seconds if plan.timeout_seconds else math.inf
        self.trials: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.best_score = math.nan
        self.untuned_kept = False

    def score(self, params: dict[str, Any], splits: Any = None, *, final: bool = True) -> float:
        """Mean CV score of one candidate; NaN when any fold fails, so the candidate is skipped.

        ``splits`` replaces the folds (halving's rounds on a share of the rows); a score that is not
        ``final`` is recorded as a trial but cannot become the best, which is chosen on all rows.
        """
        params = {k: plain_value(v) for k, v in params.items()}
        start = time.perf_counter()
        prefix = model_prefix(self.pipeline)  # through a target transform's wrapper, if there is one
        candidate = clone(self.pipeline).set_params(**{f"{prefix}{k}": v for k, v in params.items()})
        try:
            with warnings.catch_warnings(), fit_threads():
                warnings.simplefilter("ignore")
                folds = cross_val_score(candidate, self.X, self.y, cv=self.cv if splits is None else splits,
                                        scoring=self.metric, error_score="raise")
            value = float(np.mean(folds))
        except Exception:  # noqa: BLE001 - a candidate the model rejects is a failed trial, not a failed run
            value = math.nan
        self.record(params, value, time.perf_counter() - start, final=final)
        done = len(self.trials)
        self.progress(min(1.0, done / self.total), f"{self.label}: trial {done} of {self.total}, best {self._best()}",
                      Work("tuning", done, max(done, self.total)))
        return value

    def record(self, params: dict[str, Any], value: float, seconds: float, *, final: bool = True) -> None:
        self.trials.append({"trial": len(self.trials) + 1, "params": json.dumps(params, default=str),
                            "score": value, "seconds": seconds})
        if final and mt.better(self.metric, value, self.best_score):
            self.best, self.best_score = params, value

    def keep_going(self) -> bool:
        """Called between trials: raise if the user cancelled; False once the trial or time budget is spent."""
        if self.cancel():
            raise CancelledError(f"cancelled while tuning {self.label} after {len(self.trials)} trial(s)")
        return len(self.trials) < self.total and time.monotonic() < self.deadline

    def finish(self) -> None:
        """Close the progress bar when the time budget (or a small grid) ended the search early."""
        done = len(self.trials)
        if done < self.total:
            why = "time budget reached" if time.monotonic() >= self.deadline else "search space exhausted"
            self.progress(1.0, f"{self.label}: stopped after {done} trial(s) ({why}), best {self._best()}",
                          Work("tuning", done, done))

    def best_params(self) -> dict[str, Any]:
        return dict(self.best or {})

    def keep_untuned_unless_beaten(self) -> dict[str, Any]:
        """The best trial's parameters, or ``{}`` (the model as configured) when no trial beat it on the same folds.

        A search can end worse than the settings it started from (5 random trials: 0.9672 against 0.9879
        untuned, issue 15 point 10), so the untuned model is scored too, as trial 0 of the history, and kept
        when it is at least as good.
        """
        start = time.perf_counter()
        try:
            with warnings.catch_warnings(), fit_threads():
                warnings.simplefilter("ignore")
                untuned = float(np.mean(cross_val_score(clone(self.pipeline), self.X, self.y, cv=self.cv,
                                                        scoring=self.metric, error_score="raise")))
        except Exception:  # noqa: BLE001 - an untuned model that fails leaves the search's best
            untuned = math.nan
        self.trials.insert(0, {"trial": 0, "params": "{}", "score": untuned, "seconds": time.perf_counter() - start})
        self.untuned_kept = not math.isnan(untuned) and not mt.better(self.metric, self.best_score, untuned)
        scored = Work("untuned", 1, 1)
        if self.untuned_kept:
            self.progress(1.0, f"{self.label}: no trial beat the untuned settings ({untuned:.3f} against best trial "
                               f"{self._best()}); the untuned model is kept", scored)
            return {}
        shown = "n/a" if math.isnan(untuned) else f"{untuned:.3f}"
        self.progress(1.0, f"{self.label}: untuned settings scored {shown}, best trial {self._best()}", scored)
        return self.best_params()

    def history(self) -> pd.DataFrame:
        return _history_frame(self.trials)

    def _best(self) -> str:
        return "n/a" if math.isnan(self.best_score) else f"{self.best_score:.3f}"


def _history_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    return frame.astype({"trial": int, "params": str, "score": float, "seconds": float})


# ---- methods ----------------------------------------------------------------------------------


def _run_candidates(search: _Search, candidates: Any) -> None:
    for params in candidates:
        search.score(params)
        if not search.keep_going():
            return


def _run_grid(search: _Search, space: dict[str, Dim], seed: int) -> None:
    candidates = grid_candidates(space, search.total, seed)
    search.total = len(candidates)
    _run_candidates(search, candidates)


def _run_random(search: _Search, space: dict[str, Dim], seed: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a choices-only space smaller than n_trials is simply exhausted
        candidates = list(ParameterSampler(distributions(space), n_iter=search.total, random_state=seed))
    search.total = len(candidates)
    _run_candidates(search, candidates)


def _run_optuna(search: _Search, space: dict[str, Dim], seed: int) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    direction = "maximize" if mt.greater_is_better(search.metric) else "minimize"
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))

    def between_trials(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if not search.keep_going():
            study.stop()

    study.optimize(lambda trial: search.score(_suggest(trial, space)), n_trials=search.total,
                   timeout=search.timeout, callbacks=[between_trials])


def _suggest(trial: Any, space: dict[str, Dim]) -> dict[str, Any]:
    params = {}
    for name, dim in space.items():
        if dim.type == "int":
            params[name] = trial.suggest_int(name, int(dim.low), int(dim.high), log=dim.log)
        elif dim.type == "float":
            params[name] = trial.suggest_float(name, dim.low, dim.high, log=dim.log)
        else:  # optuna stores only primitive choices; an index also covers lists such as hidden_layer_sizes
            params[name] = dim.values[trial.suggest_categorical(name, list(range(len(dim.values))))]
    return params


HALVING_FACTOR = 3  # each round keeps the best third, on three times the rows (scikit-learn's default factor)
MIN_ROUND_ROWS = 50  # an early round on fewer training rows than this says little about a candidate


def halving_rounds(budget: int, factor: int = HALVING_FACTOR) -> list[int]:
    """Candidates scored in each round of successive halving, summing to exactly ``budget`` trials.

    scikit-learn's schedule for ``n`` candidates (``n``, then ``ceil(n / factor)``, … for
    ``1 + floor(log_factor(n))`` rounds) is used for the largest ``n`` that fits in the budget, and the trials
    left over become extra candidates in the first, cheapest round. With 6 trials: 4 candidates, then the best 2
    (scikit-learn given 6 candidates scores 6 + 2 = 8 times, which is what "6 trials became 8 fits" was).
    """
    def schedule(n: int) -> list[int]:
        rounds = 1 + int(math.floor(math.log(n, factor) + 1e-9))
        return [math.ceil(n / factor**i) for i in range(rounds)]

    n = 1
    while sum(schedule(n + 1)) <= budget:
        n += 1
    rounds = schedule(n)
    rounds[0] += budget - sum(rounds)
    return rounds


def _run_halving(search: _Search, space: dict[str, Dim], seed: int) -> None:
    """Successive halving over ``search.total`` trials: round ``i`` of ``R`` scores its candidates on
    ``factor**-(R-1-i)`` of each fold's training rows (the last round on all of them, same folds as the
    leaderboard, so only its scores can choose the best); the best ``1/factor`` go on to the next round."""
    rounds = halving_rounds(search.total)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a choices-only space smaller than the first round is simply exhausted
        candidates = list(ParameterSampler(distributions(space), n_iter=rounds[0], random_state=seed))
    splits = list(search.cv.split(search.X, search.y))
    for i, size in enumerate(rounds):
        last = i == len(rounds) - 1
        share = 1.0 if last else float(HALVING_FACTOR) ** -(len(rounds) - 1 - i)
        round_splits = splits if last else _subsampled(splits, search.y, share, seed + i)
        scored = []
        for params in candidates[:size]:
            scored.append((search.score(params, round_splits, final=last), params))
            if not search.keep_going():
                return
        ranked = sorted((p for p in scored if not math.isnan(p[0])), key=lambda p: p[0],
                        reverse=mt.greater_is_better(search.metric))
        candidates = [params for _, params in ranked]
        if not candidates:
            return


def _subsampled(splits: list[tuple[np.ndarray, np.ndarray]], y: pd.Series, share: float,
                seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds with ``share`` of each training part (at least :data:`MIN_ROUND_ROWS` rows), test parts whole.

    Every candidate of a round gets the same rows, so their scores compare; classes keep their proportions.
    """
    from sklearn.utils import resample

    out = []
    for train_idx, test_idx in splits:
        n = min(len(train_idx), max(MIN_ROUND_ROWS, int(share * len(train_idx))))
        if n >= len(train_idx):
            out.append((train_idx, test_idx))
            continue
        labels = y.iloc[train_idx]
        stratify = labels if labels.dtype.kind not in "fc" and labels.value_counts().min() >= 2 else None
        try:
            picked = resample(train_idx, replace=False, n_samples=n, random_state=seed, stratify=stratify)
        except ValueError:  # more classes than rows to pick: an unstratified sample
            picked = resample(train_idx, replace=False, n_samples=n, random_state=seed)
        out.append((np.sort(picked), test_idx))
    return out


RUNNERS: dict[str, Callable[[_Search, dict[str, Dim], int], None]] = {
    "grid": _run_grid, "random": _run_random, "optuna": _run_optuna, "halving": _run_halving,
}


# ---- spaces -----------------------------------------------------------------------------------


def grid_candidates(space: dict[str, Dim], limit: int, seed: int) -> list[dict[str, Any]]:
    """Discretise ranges into 3-5 points (geometric when log) and keep at most ``limit`` candidates.

    When the full grid is larger than the budget, a seeded random subset is kept rather than its
    first rows, which would vary only the last parameter.
    """
    choices = math.prod(len(d.values) for d in space.values() if d.type == "choice")
    n_ranges = sum(d.type != "choice" for d in space.values())
    per_range = (limit / choices) ** (1 / n_ranges) if n_ranges else 0
    points = int(min(max(per_range, GRID_POINTS[0]), GRID_POINTS[1]))
    grid = ParameterGrid({name: _grid_values(dim, points) for name, dim in space.items()})
    if len(grid) <= limit:
        return list(grid)
    picks = np.sort(np.random.default_rng(seed).choice(len(grid), size=limit, replace=False))
    return [grid[int(i)] for i in picks]


def _grid_values(dim: Dim, points: int) -> list[Any]:
    if dim.type == "choice":
        return list(dim.values)
    spaced = (np.geomspace if dim.log else np.linspace)(dim.low, dim.high, points)
    if dim.type == "int":
        return sorted({int(round(v)) for v in spaced})
    return [float(v) for v in spaced]


def distributions(space: dict[str, Dim]) -> dict[str, Any]:
    """scipy distributions (or choice lists) for ``ParameterSampler`` and halving search."""
    out: dict[str, Any] = {}
    for name, dim in space.items():
        if dim.type == "choice":
            out[name] = list(dim.values)
        elif dim.type == "int":
            out[name] = _LogInt(int(dim.low), int(dim.high)) if dim.log else randint(int(dim.low), int(dim.high) + 1)
        else:
            out[name] = loguniform(dim.low, dim.high) if dim.log else uniform(dim.low, dim.high - dim.low)
    return out


class _LogInt:
    """Integers spread evenly on a log scale (scipy's ``randint`` has no log option)."""

    def __init__(self, low: int, high: int):
        self.low, self.high = low, high
        self._dist = loguniform(low, high + 1)

    def rvs(self, size: Any = None, random_state: Any = None) -> Any:
        drawn = np.minimum(np.floor(self._dist.rvs(size=size, random_state=random_state)), self.high)
        return drawn.astype(int) if size is not None else int(drawn)

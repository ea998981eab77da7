"""The time-budgeted autopilot (issue 20 point 1): the best model a time budget can buy.

The search tries configurations, each cross-validated as a whole compiled pipeline (preprocessing refitted inside
every fold, the leaderboard's folds and metric), in two phases:

1. the registry's portfolios, round by round: every family's first configuration, cheapest family first, then
   every family's second, and so on; for a positive, right-skewed regression target, each family's first
   configuration is also fitted to the other target transform after the first round (:meth:`_Run.transforms`);
2. an Optuna (TPE) search across families and their registry search spaces, which skips a candidate whose
   predicted time does not fit the time left.

Time is accounted honestly against the budget, which covers everything from ``train``'s start to the saved model:
before a candidate starts, its predicted time plus the predicted final refits (:func:`refit_seconds`) must fit in
what is left; between folds, a candidate whose folds so far project past the budget is abandoned. A candidate's
time is predicted from what its family took so far, or, for a family not yet tried, from the seconds per unit of
registry ``cost`` the others took. What a run measured and predicted is recorded (:class:`AutopilotRecord`), so a
test can check the accounting itself rather than a wall clock a busy machine stretches.

Cancel stops the search between folds and keeps the best configuration found so far. The configurations kept (one
per family: its best) are recorded in the definition (``AutopilotPlan.chosen``), so re-running it trains exactly
those. So is what choosing the best single configuration scores when only the other folds choose it
(``AutopilotPlan.selection_folds``, over every configuration tried): whether an ensemble goes first is decided
against that (``ensemble.ensemble_first``), so a re-run, which tries only the chosen ones, decides the same.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline_core.definition import metrics as mt
from pipeline_core.definition.registry import ENSEMBLE_KINDS, MODELS, class_weights
from pipeline_core.definition.spec import AutopilotPlan, ModelSpec, PipelineSpec
from pipeline_core.errors import CancelledError, SpecError
from pipeline_core.json_data import plain_value
from pipeline_core.training.ensemble import (
    OutOfFold,
    building_seconds,
    nested_selection,
    scoring_seconds,
    selection_basis,
)
from pipeline_core.training.progress import COMPARE_SHARE, ProgressCallback, ProgressEvent, Work
from pipeline_core.training.results import AutopilotRecord, ModelScore, Stopped, rank_key

TARGET_SHARE = 0.97
"""Of the budget, the share the search plans to fill: predictions err, and the budget promise is 10%."""
REFIT_SAFETY = 1.5
"""The refits' predicted time is multiplied by this before it is held back: a refit cannot be abandoned."""
MAX_SKIPS = 12
"""Search candidates in a row whose predicted time does not fit before the search gives up."""
ENSEMBLE_RESERVE = 3
"""With ensembles, the number of best families whose refits the search holds back."""
MEMBER_SHARE = 0.1
"""Of the budget, the most an ensemble member's refit may take for the search to hold it back (the best family's
is always held back): on the suite's ames table at 30 s a random forest, second of three families, had its
predicted refits (13 s) held back, so the search stopped at 23 s, and the ensembles left it out anyway."""
SIZE_PARAMS = ("n_estimators", "max_iter", "iterations")  # parameters that multiply a fit's time (rounds, trees;
# ``iterations`` is CatBoost's name)
EARLY_STOPPED_SIZE = 3.0
"""The most a configuration that stops early (:func:`_stops_early`) counts its rounds as, against the defaults':
its ``max_iter`` or ``n_estimators`` is a ceiling, not what it fits. Histogram gradient boosting's portfolio
configuration (3,000 rounds at most, against 300) took 0.3x to 2.7x its defaults' time on eight of the suite's
tables."""

Score = Callable[[ModelSpec, Callable[..., None], Callable[[], bool], OutOfFold | None], ModelScore]
"""Cross-validates one configuration (``train._score_model`` bound to the run): model, progress, cancel, out-of-fold
store. Passed in, so this module needs nothing from ``train``, which calls it."""

@dataclass
class Clock:
    """The budget's clock: started when ``train`` started, so preparing the data counts too."""

    started: float
    budget: float

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def left(self) -> float:
        return self.budget * TARGET_SHARE - self.elapsed()


@dataclass
class _Family:
    kind: str
    index: int
    best: ModelScore | None = None
    outputs: Any = None
    trial_seconds: list[float] = field(default_factory=list)  # per unit of size (see ``_size``)
    overhead_seconds: list[float] = field(default_factory=list)  # of each trial, the part its fold fits do not explain
    fit_seconds: list[float] = field(default_factory=list)  # and the rest, per unit of size
    too_dear: bool = False  # a candidate was abandoned for time: the family is not tried again in this search
    transform: str | None = None  # the target transform its first configurations chose (None: the open choice)
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Search:
    """A search's outcome: the families' best rows (leaderboard candidates) and the plan that re-trains them."""

    board: list[ModelScore]
    seconds: dict[str, float]
    plan: AutopilotPlan
    record: AutopilotRecord
    notes: list[str]
    per_score: float = 0.0  # seconds of one of the ensemble selection's scores (0: not timed)


def families(spec: PipelineSpec, task: str) -> list[str]:
    """The families the definition's autopilot searches, cheapest first (among equals the higher ``priority``, then
    registry order).

    Left open (no ``families``), a family whose entry names a ``with_text`` stand-in among the others gives it its
    place when a TF-IDF step feeds the models, as in Train's preselection: histogram gradient boosting bins every
    TF-IDF column as a dense one, so on the suite's trump_tweets table (20,439 short texts) a 300 s search spent
    its time on four configurations, and CatBoost's folds there ran past the budget; LightGBM reads the same
    columns sparse, ten times faster."""
    plan = spec.autopilot
    assert plan is not None, "only a definition with an autopilot plan searches"
    kinds = plan.families or [k for k in _searchable(task) if k not in given_way(spec, task)]
    usable = [k for k in kinds if task in MODELS[k].estimators and MODELS[k].portfolio]
    return sorted(usable, key=lambda k: (MODELS[k].cost, -MODELS[k].priority))


def given_way(spec: PipelineSpec, task: str) -> list[str]:
    """The families a search left open (no ``families``) leaves out over the definition's TF-IDF columns, each for
    its ``with_text`` stand-in (see :func:`families`); empty without such columns or with families named."""
    if spec.autopilot is not None and spec.autopilot.families or not spec.open_choices.sparse_text(spec.steps):
        return []
    kinds = _searchable(task)
    return [k for k in kinds if MODELS[k].with_text in kinds]


def _searchable(task: str) -> list[str]:
    return [k for k, e in MODELS.items() if e.portfolio and task in e.estimators]


def search(plan: AutopilotPlan, task: str, metric: str, score: Score, oof: OutOfFold | None, clock: Clock,
           progress: ProgressCallback, cancel: Callable[[], bool], *, spec: PipelineSpec, n_folds: int,
           skewed: bool = False) -> Search:
    """Search until the budget (minus the predicted refits) is spent, the user cancels or nothing fits.

    ``skewed``: the training target is positive and right-skewed (``compiler.target.skewed_positive``), so which
    target transform suits a family is tried rather than assumed."""
    run = _Run(plan, task, metric, score, oof, clock, progress, cancel, spec, n_folds)
    run.flip = skewed and task == "regression" and spec.open_choices.target_transform == "auto"
    if not run.families:
        raise SpecError(f"autopilot.families: none of {', '.join(plan.families)} can learn a {task} target; leave "
                        "the list empty to search every family that can")
    stopped = run.portfolios()
    if stopped is None:
        stopped = run.optuna(spec.evaluation.seed)
    return run.outcome(stopped)


def refit_seconds(row: ModelScore, spec: PipelineSpec, n_folds: int) -> float:
    """Predicted time of the final refits of ``row`` (its folds' mean fit and predict times)."""
    return refit_from(row.fit_seconds, row.predict_seconds, spec, n_folds)


def refit_from(fit_seconds: float, predict_seconds: float, spec: PipelineSpec, n_folds: int) -> float:
    """Predicted time of the final refits from one fold's fit and predict times: a fit on the training rows (a
    fold fits (k-1)/k of them), then, with refit on all rows, one on the hold-out rows too, and scoring the
    hold-out rows; times :data:`REFIT_SAFETY`."""
    one = fit_seconds * n_folds / (n_folds - 1)
    holdout = spec.evaluation.holdout
    both = one * (1 + 1 / (1 - holdout)) if spec.evaluation.refit_all and holdout > 0 else one
    return REFIT_SAFETY * (both + predict_seconds * n_folds * holdout)


def affordable_members(board: list[ModelScore], metric: str, spec: PipelineSpec, n_folds: int, clock: Clock,
                       plan: AutopilotPlan, per_score: float) -> tuple[AutopilotPlan, list[str]]:
    """The families the ensembles may combine when refitting every one would not fit the time left: best first,
    each whose refit, and building ensembles of one more member, still fit beside those before it (``per_score``:
    see :func:`building_seconds`); the plan records them, so a re-run ranks the same rows.

    Without this, an ensemble of five families that could only refit three was left out whole: at 30 s on the
    suite's credit table the search kept logistic regression alone (test ROC AUC 0.835) while its LightGBM scored
    0.852 alone and the 300 s ensemble of three families 0.849."""
    ranked = sorted((row for row in board if not row.error), key=lambda row: rank_key(row, metric))
    left, needed, kinds = clock.budget - clock.elapsed(), 0.0, []
    for row in ranked:
        cost = refit_seconds(row, spec, n_folds)
        if needed + cost + building_seconds(per_score, len(kinds) + 1, n_folds) <= left:
            kinds.append(row.model)
            needed += cost
    if len(kinds) == len(ranked):
        return plan, []
    out = [MODELS[row.model].label.lower() for row in ranked if row.model not in kinds]
    return plan.model_copy(update={"ensemble_members": kinds}), [
        f"the ensembles leave out {', '.join(out)}: with {max(0.0, left):.0f} s left of the budget, only the "
        f"refits of {', '.join(MODELS[k].label.lower() for k in kinds) or 'none'} fit"]


def ensemble_fits(board: list[ModelScore], spec: PipelineSpec, n_folds: int, clock: Clock,
                  plan: AutopilotPlan) -> tuple[list[ModelScore], AutopilotPlan, list[str]]:
    """The board without its ensembles when one of them won but refitting its members would not fit the time
    left; the plan records the decision, so a re-run of the definition ranks the same rows.

    The refits are predicted here without :data:`REFIT_SAFETY`: the search held that margin back so a candidate
    would not eat into them, but nothing is left to choose now but the model, and what a wrong prediction can
    cost is inside the budget's 10%. With the margin, on the suite's credit table at 30 s, a stacking of four
    families predicted to refit in 6 s (0.3 s a fit) met 6 s left and was dropped for logistic regression alone
    (test ROC AUC 0.835 against 0.849), with 5 s of the budget unused."""
    ranked = [row for row in board if not row.error]
    if not ranked or ranked[0].model not in ENSEMBLE_KINDS:
        return board, plan, []
    by_kind = {row.model: row for row in board}
    winner = ranked[0]
    members = [by_kind[k] for k in winner.params["members"] if k in by_kind]
    needed = sum(refit_seconds(m, spec, n_folds) for m in members) / REFIT_SAFETY
    if needed <= clock.budget - clock.elapsed():
        return board, plan, []
    kept = [row for row in board if row.model not in ENSEMBLE_KINDS]
    return kept, plan.model_copy(update={"ensemble": False}), [
        f"the autopilot left out its ensembles: the best one ({winner.label}) would need about {needed:.0f} s to "
        f"refit its members, more than the {max(0.0, clock.budget - clock.elapsed()):.0f} s left of the budget"]


class _Run:
    """One search's state: families, their best rows, the trial count and the progress it reports."""

    def __init__(self, plan: AutopilotPlan, task: str, metric: str, score: Score, oof: OutOfFold | None,
                 clock: Clock, progress: ProgressCallback, cancel: Callable[[], bool], spec: PipelineSpec,
                 n_folds: int):
        self.plan, self.task, self.metric, self.score, self.oof = plan, task, metric, score, oof
        self.clock, self.emit, self.user_cancel, self.spec, self.n_folds = clock, progress, cancel, spec, n_folds
        self.families = [_Family(kind, i) for i, kind in enumerate(families(spec, task))]
        # ranked on a metric that counts every class alike, every family that can weigh classes is fitted with
        # ``class_weight="balanced"`` (issue 20 point 5). On the suite's multiclass tables at 30 s
        # (benchmarks/bench_suite.py, test balanced accuracy) the unweighted logistic regression the search kept
        # scored 0.683 on covid tests (93% one class) and 0.497 on tweet sources; weighted, 0.948 and 0.791 (LightGBM
        # on hpc: 0.807 -> 0.822). The weight is in the recorded parameters, so a re-run trains the same models.
        self.weigh_classes = task == "classification" and metric in mt.EQUAL_CLASS
        self.trials = self.abandoned = 0
        self.order: list[str] = []  # families in the order their first configuration scored
        self.per_score: float | None = None  # seconds of one of the ensemble selection's scores, timed once
        self.seconds: dict[str, float] = {}
        self.flip = False  # try each family's first configuration with the other target transform too
        self.trial_folds: list[list[float]] = []  # the ranking metric's folds of every configuration scored on all
        # the training rows (a forest sampled from a large table is scored on other folds' rows, so it is left out)

    # ---- phases ----

    def portfolios(self) -> Stopped | None:
        rounds = max((len(MODELS[f.kind].portfolio) for f in self.families), default=0)
        for r in range(rounds):
            for family in self.families:
                portfolio = MODELS[family.kind].portfolio
                if r >= len(portfolio):
                    continue
                stopped = self.attempt(family, dict(portfolio[r]), f"portfolio {r + 1} of {len(portfolio)}")
                if stopped is not None:
                    return stopped
            if r == 0 and self.flip and (stopped := self.transforms()) is not None:
                return stopped
        return None

    def transforms(self) -> Stopped | None:
        """Fit each family's first configuration to the other target transform (a log target where ``auto`` kept
        the target as it is, and the reverse), and keep whichever scored higher for the family's later ones.

        ``auto`` gives a positive, right-skewed target a log only on families where that measured better on a
        price table (:mod:`pipeline_core.compiler.target`); on the suite's tables the same family went either way
        (LightGBM, 5-fold CV R²: ames 0.893 -> 0.903 with a log target, hotel_rates 0.955 -> 0.954), so the search
        lets the folds decide (issue 20 point 6: the transform as a candidate)."""
        for family in self.families:
            if family.best is None:
                continue
            first = family.best.target_transform
            other = "log" if first == "none" else "none"
            label = "log(1 + target)" if other == "log" else "the target as it is"
            stopped = self.attempt(family, dict(family.best.params), f"fitted to {label}", transform=other)
            if family.best is not None:
                family.transform = family.best.target_transform
            if stopped is not None:
                return stopped
        return None

    def optuna(self, seed: int) -> Stopped:
        import optuna

        from pipeline_core.training.tuning import _suggest, search_space

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        direction = "maximize" if mt.greater_is_better(self.metric) else "minimize"
        study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))
        spaces = {f.kind: {f"{f.kind}.{name}": dim for name, dim in
                           search_space(ModelSpec(kind=f.kind), MODELS[f.kind]).items()} for f in self.families}
        by_kind = {f.kind: f for f in self.families}
        skips = 0
        while True:
            trial = study.ask()
            kind = trial.suggest_categorical("family", list(by_kind))
            params = {name.split(".", 1)[1]: value for name, value in _suggest(trial, spaces[kind]).items()}
            family = by_kind[kind]
            if not self.fits(family, params):
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                skips += 1
                if skips >= MAX_SKIPS or self.clock.left() <= 0:
                    return "budget" if self.clock.left() - self.reserve() < 0.1 * self.clock.budget else "exhausted"
                continue
            skips = 0
            before = self.trials
            stopped = self.attempt(family, params, "search", checked=True)
            value = family.history[-1]["score"] if self.trials > before and family.history else math.nan
            if stopped is not None:
                return stopped
            if math.isnan(value):
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, value)

    # ---- one candidate ----

    def attempt(self, family: _Family, params: dict[str, Any], source: str, *, checked: bool = False,
                transform: str | None = None) -> Stopped | None:
        """Score one configuration if its predicted time fits; ``None`` to go on, else why the search ends.
        ``transform``: the target transform to fit it to (default: the family's, else the definition's open one)."""
        if self.user_cancel():
            return "cancelled"
        if not checked and not self.fits(family, params):
            return None if self.clock.left() > 0 else "budget"
        params = {k: plain_value(v) for k, v in params.items()}
        entry = MODELS[family.kind]
        if self.weigh_classes:
            params = {**class_weights(family.kind), **params}
        self.trials += 1
        number, started = self.trials, time.perf_counter()
        model = self.model(family, params, transform)
        self.report(family, f"trial {number}: {entry.label} ({source})")
        store = self._trial_store()
        guard = _Guard(self, started)
        try:
            row = self.score(model, guard.progress(family, number, entry.label), guard, store)
        except CancelledError:
            if guard.why == "cancelled" or self.user_cancel():
                self._history(family, number, model, math.nan, time.perf_counter() - started, "cancelled")
                return "cancelled"
            self.abandoned += 1
            family.too_dear = True  # its folds showed it cannot finish in the time left: cheaper ones still may
            self._history(family, number, model, math.nan, time.perf_counter() - started, "out of time")
            return None if self.clock.left() > 0 else "budget"
        seconds = time.perf_counter() - started
        if store is not None:
            self.oof.left_out.update(store.left_out)
        family.trial_seconds.append(seconds / _size(family.kind, params))
        fits = min(seconds, self.n_folds * (row.fit_seconds + row.predict_seconds)) if not row.error else 0.0
        family.overhead_seconds.append(seconds - fits)
        family.fit_seconds.append(fits / _size(family.kind, params))
        value = row.metrics.get(self.metric, math.nan) if not row.error else math.nan
        if not math.isnan(value) and store is not None and family.kind in store.outputs:  # every row, the same folds
            self.trial_folds.append(list(row.folds.get(self.metric, [])))
        self._history(family, number, model.model_copy(update={"target_transform": row.target_transform}), value,
                      seconds, row.error or "")  # what ``auto`` became
        self.seconds[family.kind] = self.seconds.get(family.kind, 0.0) + seconds
        if not math.isnan(value) and (family.best is None or mt.better(self.metric, value, _value(family.best,
                                                                                                   self.metric))):
            family.best = row
            if store is not None and family.kind in store.outputs:
                family.outputs = store.outputs[family.kind]
                if self.per_score is None and self.oof.y is not None:
                    self.per_score = scoring_seconds(self.oof, self.metric, family.outputs, self.spec.evaluation.seed)
            if family.kind not in self.order:
                self.order.append(family.kind)
        self.report(family, f"trial {number}: {entry.label} ({source}) scored "
                            f"{'failed' if math.isnan(value) else f'{value:.4f}'}")
        return None

    def fits(self, family: _Family, params: dict[str, Any]) -> bool:
        """Whether the candidate's predicted time, plus the refits held back for it and the best so far, fits."""
        if self.trials == 0:
            return True  # the first candidate (the cheapest family's defaults) always runs: nothing to keep yet
        if family.too_dear:
            return False
        predicted = self.predict(family, params)
        reserve = self.reserve() + refit_from(predicted / self.n_folds, 0.0, self.spec, self.n_folds)
        return predicted + reserve <= self.clock.left()

    def predict(self, family: _Family, params: dict[str, Any]) -> float:
        """Seconds a candidate's cross-validation should take: its family's latest per size, else the median
        seconds per unit of cost the other families' latest took, times this family's cost.

        The latest, not the slowest: a run's first fit also pays for warming up (1.5 s against 0.27 s for the next
        one, measured), and taking it as the rule kept every other family out of a small budget. The median, not
        the slowest: relative costs vary by table (one-hot columns make a forest dear and a linear model cheap),
        and on 10,000 rows the slowest ratio kept both boosting families out of a 40 s budget while logistic
        regression was tried 22 times; a family that turns out dearer is abandoned after its first fold.

        Only the fits scale with the cost: a trial also compiles, dispatches and scores its folds, which takes about
        as long for any family. On the suite's caravan table (4,366 rows, 85 columns, 30 s on a busy machine)
        logistic regression's trials took 2.7 s of which its fold fits 1.3 s; five times the whole trial predicted
        13.5 s for LightGBM, so no other family was ever tried and the search ended with 8 s unused. So an untried
        family is predicted as the others' median overhead plus the median fit seconds per unit of cost (the fits
        counted one after another, so parallel folds only make the prediction err long)."""
        size = _size(family.kind, params)
        if family.trial_seconds:
            return family.trial_seconds[-1] * size
        tried = [f for f in self.families if f.trial_seconds]
        if not tried:
            return 0.0
        overhead = float(np.median([f.overhead_seconds[-1] for f in tried]))
        per_cost = float(np.median([f.fit_seconds[-1] / MODELS[f.kind].cost for f in tried]))
        return overhead + per_cost * MODELS[family.kind].cost * size

    def reserve(self) -> float:
        """What the final refits need, held back from every candidate: the slowest family's best if one model
        wins; with ensembles, the best :data:`ENSEMBLE_RESERVE` families' together (greedy selection leans on the
        best few; holding back every family's refits stopped a 10 s search at 6.6 s for refits that took 0.5 s),
        plus building the ensembles (:func:`building_seconds`: on the suite's credit table at 30 s it took 2 s of
        the 7 s left, and the refits held back no longer fitted); a member whose refits would take more than
        :data:`MEMBER_SHARE` of the budget is not held back for. Members whose refits do not fit are left out
        at the end (:func:`affordable_members`), or the ensembles are (:func:`ensemble_fits`)."""
        rows = sorted((f.best for f in self.families if f.best is not None), key=lambda r: rank_key(r, self.metric))
        needed = [refit_seconds(row, self.spec, self.n_folds) for row in rows]
        if self.oof is None:
            return max(needed, default=0.0)
        building = building_seconds(self.per_score or 0.0, len(rows), self.n_folds) if len(rows) > 1 else 0.0
        members = needed[:1] + [s for s in needed[1:ENSEMBLE_RESERVE] if s <= MEMBER_SHARE * self.clock.budget]
        return sum(members) + building

    # ---- bookkeeping ----

    def model(self, family: _Family, params: dict[str, Any], transform: str | None = None) -> ModelSpec:
        """A candidate as the definition would list it: fitted to ``transform``, else to the transform the
        family's first configurations chose, else as the definition leaves models it does not list."""
        model = self.spec.open_choices.model(family.kind, params)
        chosen = transform or family.transform
        return model.model_copy(update={"target_transform": chosen}) if chosen else model

    def _trial_store(self) -> OutOfFold | None:
        """A fresh out-of-fold store per candidate (same folds), so a worse one never replaces its family's best."""
        if self.oof is None:
            return None
        return OutOfFold(self.oof.task, self.oof.labels, self.oof.n_rows, self.oof.folds, y=self.oof.y,
                         rows=self.oof.rows)

    def _history(self, family: _Family, number: int, model: ModelSpec, value: float, seconds: float,
                 outcome: str) -> None:
        chosen = {"target_transform": model.target_transform} if self.flip else {}  # when the search chooses it
        family.history.append({"trial": number, "params": json.dumps(model.params, default=str), **chosen,
                               "score": value, "seconds": seconds, **({"outcome": outcome} if outcome else {})})

    def best(self) -> ModelScore | None:
        rows = [f.best for f in self.families if f.best is not None]
        return min(rows, key=lambda row: rank_key(row, self.metric)) if rows else None

    def report(self, family: _Family, message: str) -> None:
        best = self.best()
        so_far = f" · best so far: {best.label} {_value(best, self.metric):.4f}" if best is not None else ""
        self.emit(ProgressEvent(
            phase="comparing", fraction=max(0.0, min(COMPARE_SHARE, self.clock.elapsed() / self.clock.budget)),
            message=message + so_far, n_models=len(self.families),
            models_done=sum(f.best is not None for f in self.families), model_index=family.index,
            model_name=family.kind, stage="tuning", stage_done=self.trials, stage_total=self.trials))

    def outcome(self, stopped: Stopped) -> Search:
        by_kind = {f.kind: f for f in self.families}
        board, chosen = [], []
        for kind in self.order:
            family = by_kind[kind]
            row = family.best
            row.tuning_history = [{k: v for k, v in h.items() if k != "outcome"} for h in family.history]
            tried = len(family.history)
            row.notes.insert(0, f"the autopilot's best of {tried} configuration(s) of {row.label.lower()} "
                                "(its tuning history lists them); its CV scores reuse the folds that chose it, so only "
                                "the hold-out score is unbiased")
            board.append(row)
            chosen.append(self.model(family, row.params, row.target_transform if family.transform else None))
            if self.oof is not None and family.outputs is not None:
                self.oof.outputs[kind] = family.outputs
        if not board:
            raise CancelledError("the autopilot was stopped before any model finished its cross-validation, so "
                                 "there is no model to keep")
        selection = nested_selection(self.trial_folds, self.metric)
        plan = self.plan.model_copy(update={
            "chosen": chosen, "selection_folds": selection,
            "selection_basis": selection_basis(self.oof, self.metric) if selection and self.oof else ""})
        notes = [f"autopilot: {self.trials} configuration(s) of {len(board)} model families tried in "
                 f"{self.clock.elapsed():.0f} s of a {self.clock.budget:.0f} s budget ({_why(stopped)}); re-running "
                 "this definition re-trains the chosen configurations without searching"]
        record = AutopilotRecord(budget_seconds=self.clock.budget, search_seconds=self.clock.elapsed(),
                                 refit_predicted=self.reserve(), trials=self.trials, abandoned=self.abandoned,
                                 stopped=stopped, plan=plan)
        return Search(board, self.seconds, plan, record, notes, self.per_score or 0.0)


class _Guard:
    """The cancel check ``train`` makes after every fold: true when the user cancelled, or when the folds so far
    project the candidate past what the budget leaves after the refits (then ``why`` says which)."""

    def __init__(self, run: _Run, started: float):
        self.run, self.started, self.why, self.folds = run, started, "", 0

    def __call__(self) -> bool:
        if self.run.user_cancel():
            self.why = "cancelled"
            return True
        if self.folds == 0 or self.run.best() is None:
            return False  # nothing to keep yet: the first candidate to finish is the model, however long it takes
        spent = time.perf_counter() - self.started
        remaining = spent / self.folds * (self.run.n_folds - self.folds)
        if remaining + self.run.reserve() > self.run.clock.left():
            self.why = "budget"
            return True
        return False

    def progress(self, family: _Family, number: int, label: str) -> Callable[..., None]:
        def report(fraction: float, message: str, work: Work | None = None) -> None:
            if work is not None and work.stage == "cv":
                self.folds = work.done
            self.run.report(family, f"trial {number}: {message}")
        return report


def _size(kind: str, params: dict[str, Any]) -> float:
    """How much longer than the family's defaults a configuration should take: its rounds or trees against the
    defaults' (at least 1, so a smaller one is predicted conservatively; at most :data:`EARLY_STOPPED_SIZE` for one
    that stops early)."""
    entry = MODELS[kind]
    defaults = {**_class_defaults(kind), **next(iter(entry.defaults.values()), {})}
    ratios = [float(params[name]) / float(defaults[name]) for name in SIZE_PARAMS
              if name in params and isinstance(defaults.get(name), int | float) and defaults[name]]
    if _stops_early(kind, params):
        ratios = [min(r, EARLY_STOPPED_SIZE) for r in ratios]
    return max([1.0, *ratios])


def _stops_early(kind: str, params: dict[str, Any]) -> bool:
    """Whether a configuration's rounds are a ceiling: its family stops early (the registry entry's
    ``early_stopping``) and these parameters ask for it whatever the rows (histogram gradient boosting's "auto"
    stops only from 10,000 rows)."""
    stopping = MODELS[kind].early_stopping
    return stopping is not None and stopping.asked(params)


def _class_defaults(kind: str) -> dict[str, Any]:
    return {k: v for k, v in _estimator_class(kind)().get_params(deep=False).items() if k in SIZE_PARAMS}


def _estimator_class(kind: str) -> type:
    """A family's estimator class for its parameters (the same for both tasks of the families the search sizes)."""
    return next(iter(MODELS[kind].estimators.values()))


def _value(row: ModelScore, metric: str) -> float:
    return float(row.metrics.get(metric, np.nan))


def _why(stopped: Stopped) -> str:
    return {"budget": "the budget was spent", "cancelled": "stopped by the user; the best so far was kept",
            "exhausted": "no candidate left was predicted to fit in the time left"}[stopped]

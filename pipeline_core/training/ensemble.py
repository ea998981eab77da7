"""Ensembles built from the candidates' out-of-fold predictions (issue 20 point 3).

Cross-validation already predicts every training row once, with a model that never saw it. When the
definition asks (``evaluation.ensemble``), training keeps those predictions (:class:`OutOfFold`) and adds two
leaderboard rows made from them, never from the hold-out rows:

- ``ensemble``: greedy ensemble selection with replacement (Caruana et al. 2004): start empty, repeatedly add
  the candidate whose addition most improves the ranking metric, up to :data:`GREEDY_ITERATIONS` times; the
  weights are the counts. The ensemble kept is the best prefix, so on the predictions that chose it its score
  is never below its best member's (the first pick is that member). That score flatters it, though: the picks
  were fitted to those very rows. So its leaderboard scores are nested, like the stacker's: each fold is scored
  by an ensemble selected on the other folds' predictions only (:func:`nested_folds`). On the suite's hpc
  table (benchmarks/bench_suite.py, 300 s) the selection over five families scored 0.784 balanced accuracy
  on the predictions that chose it against 0.765 for its best member, won the leaderboard, and scored 0.818
  on the test rows against that member's 0.824 alone.
- ``stacking``: a simple model (logistic regression, or ridge with non-negative weights) on the candidates'
  out-of-fold outputs, itself cross-validated on the same folds of those outputs.

Both are scored per fold from the combined out-of-fold predictions, with the same scorers as every other
row, so their fold scores compare with the members' (no model is fitted to score them). Only the winner is
refitted: each member once on all training rows (:func:`refit_ensemble`).
"""

from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import check_scoring
from sklearn.pipeline import Pipeline

from pipeline_core.compiler.compile import compile_pipeline
from pipeline_core.definition import metrics as mt
from pipeline_core.definition.registry import ENSEMBLE_KINDS, MODELS
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.ensembles import EnsembleClassifier, EnsembleRegressor, assembled, stack_outputs
from pipeline_core.training.results import ModelScore, rank_key
from pipeline_core.training.rounds import refit_model
from pipeline_core.training.threads import fit_threads

GREEDY_ITERATIONS = 25
RANKED_FIRST = "ranked first although"
"""How the note of an ensemble that :func:`ensemble_first` put above a higher-scoring single model begins: the
leaderboard's display finds it by this (``reporting.leaderboard.ranked_first_note``)."""
SELECTION_ROWS = 5_000
"""Of each fold, the most rows greedy selection scores its picks on (beyond that, a seeded sample); the leaderboard
scores use every row. Each pick scores every candidate, and the nested scores repeat the selection once per fold: on
200,000 rows ranked on ROC AUC, seven candidates took 9.2 s to select and 35 s more to score nested on every row
(5,000 rows of each fold: 1.2 s and 5.2 s). The autopilot holds that time back (:func:`building_seconds`)."""


@dataclass
class OutOfFold:
    """Each candidate's out-of-fold outputs on the training rows, in their order: class probabilities (columns
    in ``labels`` order) for classification, predictions for regression. Filled fold by fold by CV."""

    task: str
    labels: np.ndarray | None  # the target's classes, sorted; None for regression
    n_rows: int
    folds: list[np.ndarray] = field(default_factory=list)  # each fold's test rows, in the splitter's order
    outputs: dict[str, np.ndarray] = field(default_factory=dict)  # model key -> (n_rows,) or (n_rows, classes)
    left_out: dict[str, str] = field(default_factory=dict)  # model key -> why it cannot be a member
    y: np.ndarray | None = None  # the training rows' targets, in their order: what the outputs are scored against
    rows: str = ""  # the training rows' values hash (``io.frames.training_values_sha256``), for a recorded selection

    def wants(self, pipeline: Any, n_rows: int) -> str | None:
        """Why a candidate's predictions cannot be kept (``None``: they can)."""
        if n_rows != self.n_rows:
            return "it trained on a sample of the rows, so it has no prediction for the others"
        if self.task == "classification" and not hasattr(pipeline, "predict_proba"):
            return "it gives no class probabilities to average"
        return None

    def keep(self, model: str, parts: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Store a candidate's fold outputs ``(test rows, outputs)``."""
        first = parts[0][1]
        full = np.zeros((self.n_rows, *first.shape[1:]))
        for rows, values in parts:
            full[rows] = values
        self.outputs[model] = full


def scoring_seconds(oof: OutOfFold, metric: str, output: np.ndarray, seed: int) -> float:
    """Seconds one of the selection's scores takes on these outputs (the second of two calls: the first warms up);
    0 when the metric cannot score them, which the ensembles' own rows then report."""
    picker = FoldScorer(oof, metric).sampled(SELECTION_ROWS, seed)
    try:
        picker.pooled(output)
        started = time.perf_counter()
        picker.pooled(output)
    except (ValueError, TypeError):
        return 0.0
    return time.perf_counter() - started


def building_seconds(per_score: float, members: int, n_folds: int) -> float:
    """Predicted seconds to build the ensembles of ``members`` candidates: each of :data:`GREEDY_ITERATIONS` picks
    scores every candidate, once on all folds and once per fold for the nested scores (on fewer rows each)."""
    return per_score * GREEDY_ITERATIONS * members * (1 + n_folds)


def fold_output(pipeline: Any, X: Any, labels: np.ndarray | None) -> np.ndarray:
    """What a fitted ``pipeline`` contributes for the rows ``X``: its predictions, or its class probabilities in
    ``labels`` order. Called inside each fold's job, which gets ``labels`` only (not every kept prediction)."""
    if labels is None:
        return np.asarray(pipeline.predict(X), dtype=float).ravel()
    proba = np.asarray(pipeline.predict_proba(X), dtype=float)
    out = np.zeros((len(X), len(labels)))
    out[:, np.searchsorted(labels, pipeline.classes_)] = proba
    return out


def ensemble_rows(board: list[ModelScore], oof: OutOfFold, metric: str, spec: PipelineSpec, *,
                  only: list[str] | None = None) -> tuple[list[ModelScore], list[str]]:
    """The greedy ensemble's and the stacker's leaderboard rows, and notes for the run's report. ``only`` (when
    not empty) limits the members to those models: the autopilot's, when it could refit no more."""
    ranked = sorted(board, key=lambda row: rank_key(row, metric))
    members = [row for row in ranked if not row.error and row.model in oof.outputs and (not only or row.model in only)]
    notes = [f"{MODELS[k].label} is not in the ensembles: {why}" for k, why in oof.left_out.items()]
    if len(members) < 2:
        return [], [*notes, "no ensemble was built: it needs at least two models with out-of-fold predictions"]
    scorer = FoldScorer(oof, metric)
    picker = scorer.sampled(SELECTION_ROWS, spec.evaluation.seed)
    outputs = [oof.outputs[m.model] for m in members]
    counts = greedy_selection(outputs, picker)
    weights = {m.model: c for m, c in zip(members, counts, strict=True) if c}
    greedy = _row(ENSEMBLE_KINDS[0], "Ensemble of " + ", ".join(f"{MODELS[k].label} ×{c}" for k, c in weights.items()),
                  {"members": weights}, nested_folds(outputs, scorer, picker), members, spec)
    chosen_on, alone = (mt.shown_value(metric, picker.pooled(out)) for out in (combine(outputs, counts), outputs[0]))
    greedy.notes[:0] = [
        f"greedy ensemble selection over {len(members)} models' out-of-fold predictions ({sum(counts)} picks with "
        "replacement; weights are the counts)",
        "its scores are nested: each fold is scored by an ensemble selected on the other folds' predictions only. "
        f"Selected on all of them at once (the weights kept), it scores {chosen_on:.4f} on the predictions that "
        f"chose it, against {alone:.4f} for {members[0].label.lower()} alone; that comparison flatters the "
        "ensemble, this row's scores do not"]
    kinds = [m.model for m in members]
    params = {"members": kinds, **({"class_weight": "balanced"} if metric in mt.EQUAL_CLASS else {})}
    final = _final_estimator(oof.task, spec.evaluation.seed, params)
    stacked = _stacked_predictions(final, [oof.outputs[k] for k in kinds], oof)
    name = "logistic regression" if oof.task == "classification" else "ridge regression (non-negative weights)"
    name += " with balanced class weights" if "class_weight" in params else ""
    stack = _row(ENSEMBLE_KINDS[1], f"Stacking of {', '.join(MODELS[k].label for k in kinds)} by {name}",
                 {**params, "final_estimator": type(final).__name__}, scorer.all_folds(stacked), members, spec)
    stack.notes.insert(0, f"{name} on {len(kinds)} models' out-of-fold predictions, cross-validated on the same "
                          "folds of those predictions")
    return [greedy, stack], notes


def ensemble_first(board: list[ModelScore], metric: str, selection: list[float] | None = None,
                   ) -> tuple[list[ModelScore], list[str]]:
    """The board best first, except that the best ensemble goes first when the single model ahead of it (or, given
    ``selection``, that selection) leads by less than the standard error of their fold-by-fold differences
    (Breiman's one-standard-error rule, applied to the choice between one model and a combination of several); a
    note on the row and in the report says so.

    The two scores are not alike: a single model's is its family's best of many configurations on the very folds
    that chose it, which flatters it (the winner's curse), while an ensemble's is nested (greedy selection) or
    cross-validated (the stacker) on its members' out-of-fold outputs. ``selection``, when given (the autopilot
    records it: :func:`nested_selection` over every configuration it tried), is what choosing the best single
    configuration scores on each fold when only the other folds choose it, and the ensemble is compared with that
    instead. That leans a little towards the ensemble, whose members are the families' best on the same folds. On
    the suite's covid table at 300 s (benchmarks/bench_suite.py) CatBoost alone led the stacking by
    0.0075 CV balanced accuracy, beyond the standard error, was kept, and scored 0.950 on the test rows against the
    stacking's 0.968 in the run before; in a third run the best of 46 configurations (XGBoost, 0.9286) scored
    0.9226 chosen on the other folds, below the stacking's 0.9277, which was kept and scored 0.965."""
    ranked = sorted(board, key=lambda row: rank_key(row, metric))
    ensembles = [row for row in ranked if row.model in ENSEMBLE_KINDS and not row.error
                 and not np.isnan(row.metrics.get(metric, np.nan))]
    if not ensembles or ranked[0].model in ENSEMBLE_KINDS or ranked[0].error:
        return ranked, []
    single, ensemble = ranked[0], ensembles[0]
    own, behind = (np.asarray(row.folds.get(metric, []), dtype=float) for row in (single, ensemble))
    chosen = np.asarray(selection, dtype=float) if selection and len(selection) == len(own) else own
    if len(chosen) < 2 or len(chosen) != len(behind):
        return ranked, []
    sign = 1.0 if mt.greater_is_better(metric) else -1.0
    lead = (chosen - behind) * sign
    error = float(lead.std(ddof=1) / np.sqrt(len(lead)))
    mean = float(lead.mean())
    if mean > error:
        return ranked, []
    gap = float((own - behind).mean() * sign)
    if chosen is own:
        why = (f"{RANKED_FIRST} {single.label} scores {abs(gap):.4f} better on the folds: that lead is within the "
               f"standard error of their fold-by-fold differences ({error:.4f}), and the best single model's score, "
               "chosen on the same folds, flatters it more than an ensemble's")
    else:
        versus = (f"{abs(mean):.4f} worse than this row" if mean < 0 else
                  f"{mean:.4f} better than this row, within the standard error of their fold-by-fold differences "
                  f"({error:.4f})")
        nested = mt.shown_value(metric, float(chosen.mean()))
        why = (f"{RANKED_FIRST} {single.label} scores {abs(gap):.4f} better on the folds that chose it: the best "
               f"single configuration, chosen on the other folds only, scores {nested:.4f} on the folds it did not "
               f"see, {versus}")
    ensemble.notes.insert(0, why)
    return [ensemble, *[row for row in ranked if row is not ensemble]], [f"{ensemble.label}: {why}"]


def selection_basis(oof: OutOfFold, metric: str) -> str:
    """A fingerprint of what a recorded selection was scored on: the metric, each fold's rows, the training
    targets and features. A re-run on other data, folds or metric would compare fold scores that are not each
    other's, so ``train`` uses a recorded selection only when this matches."""
    digest = hashlib.sha256(metric.encode())
    for rows in oof.folds:
        digest.update(np.asarray(rows, dtype=np.int64).tobytes() + b"|")
    if oof.y is not None:
        digest.update(pd.util.hash_array(np.asarray(oof.y, dtype=object)).tobytes())
    digest.update(oof.rows.encode())
    return digest.hexdigest()[:16]


def nested_selection(folds: list[list[float]], metric: str) -> list[float]:
    """Each fold's score of choosing the best of several configurations on the other folds only: for fold ``i``,
    the configuration with the best mean over the folds but ``i``, scored on ``i`` (ties to the earlier one).
    ``folds`` holds every configuration's fold scores on the same folds (those with another count, a missing or a
    NaN score are left out); with fewer than two folds, or none complete, there is nothing to nest (empty). Unlike
    the best configuration's own mean, which the same folds chose, this does not flatter the choice, so it compares
    with the ensembles' scores, whose weights or stacker are nested too."""
    count = max((len(f) for f in folds), default=0)
    rows = np.array([f for f in folds if len(f) == count and all(v is not None for v in f)]
                    if count else [], dtype=float)
    rows = rows[~np.isnan(rows).any(axis=1)] if rows.size else rows
    if rows.ndim != 2 or len(rows) == 0 or rows.shape[1] < 2:
        return []
    sign = 1.0 if mt.greater_is_better(metric) else -1.0
    picked = []
    for i in range(rows.shape[1]):
        others = np.delete(rows, i, axis=1).mean(axis=1) * sign
        picked.append(float(rows[int(np.argmax(others)), i]))
    return picked


def greedy_selection(outputs: list[np.ndarray], scorer: FoldScorer, iterations: int = GREEDY_ITERATIONS) -> list[int]:
    """How many times each candidate is picked: Caruana's selection with replacement, cut at its best prefix.

    ``outputs`` come best candidate first, so ties go to the better-ranked one; a pick must strictly improve
    the best score so far to extend the kept ensemble, so the kept one is never worse than one member alone.
    """
    total = np.zeros_like(outputs[0])
    counts, best_counts, best_score = [0] * len(outputs), None, np.nan
    for picks in range(1, iterations + 1):
        scores = [scorer.pooled((total + out) / picks) for out in outputs]
        choice = max(range(len(outputs)), key=lambda i: (_sortable(scores[i], scorer.metric), -i))
        total += outputs[choice]
        counts[choice] += 1
        if best_counts is None or mt.better(scorer.metric, scores[choice], best_score):
            best_counts, best_score = list(counts), scores[choice]
    return best_counts


def nested_folds(outputs: list[np.ndarray], scorer: FoldScorer, picker: FoldScorer | None = None,
                 ) -> dict[str, list[float]]:
    """Each fold's scores, every metric, of the greedy ensemble selected on the other folds' predictions only:
    an estimate of how the selection does on rows it did not see, as each member's CV scores are. ``picker``
    (default ``scorer``) holds the rows the selection scores, fold by fold in the same order."""
    picker = picker or scorer
    scores: dict[str, list[float]] = {name: [] for name in scorer.names}
    for i, rows in enumerate(scorer.folds):
        counts = greedy_selection(outputs, picker.on([f for j, f in enumerate(picker.folds) if j != i]))
        for name, values in scorer.on([rows]).all_folds(combine(outputs, counts)).items():
            scores[name].extend(values)
    return scores


def combine(outputs: list[np.ndarray], counts: list[int]) -> np.ndarray:
    """The members' outputs averaged with the pick counts as weights."""
    return sum(c * out for out, c in zip(outputs, counts, strict=True) if c) / sum(counts)


def _sortable(score: float, metric: str) -> float:
    if np.isnan(score):
        return -np.inf
    return score if mt.greater_is_better(metric) else -score


def refit_ensemble(spec: PipelineSpec, schema: dict, task: str, row: ModelScore, board: list[ModelScore],
                   oof: OutOfFold, X: pd.DataFrame, y: pd.Series, oof_y: pd.Series, *,
                   n_rows: int | None = None) -> Pipeline:
    """The winning ensemble as one fitted pipeline: each member refitted once on the rows ``X``, a stacker
    fitted on the members' out-of-fold outputs (the training rows', whose targets are ``oof_y``).
    ``n_rows`` settles the members' row-dependent choices (default: all of ``X``)."""
    by_kind = {r.model: r for r in board}
    if row.model == ENSEMBLE_KINDS[0]:
        kinds, weights, final = list(row.params["members"]), list(row.params["members"].values()), None
    else:
        kinds, weights, final = list(row.params["members"]), None, _final_estimator(task, spec.evaluation.seed,
                                                                                    row.params)
    fitted = []
    for kind in kinds:
        pipeline = compile_pipeline(spec, schema, task=task, model=refit_model(by_kind[kind], spec.evaluation),
                                    n_rows=n_rows or len(X))
        with warnings.catch_warnings(), fit_threads():
            warnings.simplefilter("ignore")
            fitted.append(pipeline.fit(X, y))
    inner = [Pipeline(p.steps[1:]) for p in fitted]  # the ensemble's own first step prepares for all of them
    cls = EnsembleClassifier if task == "classification" else EnsembleRegressor
    ensemble = cls(members=[(k, clone(p)) for k, p in zip(kinds, inner, strict=True)], weights=weights,
                   final_estimator=final, cv=spec.evaluation.cv_folds, random_state=spec.evaluation.seed)
    stacked = stack_outputs([oof.outputs[k] for k in kinds]) if final is not None else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assembled(ensemble, inner, y, stacked, oof_y)
    return Pipeline([("prepare", fitted[0][0]), ("model", ensemble)])


def _final_estimator(task: str, seed: int, params: dict[str, Any]) -> Any:
    """The stacker. Ranked on a metric that counts every class alike, it weighs the classes like the members do
    (``class_weight`` in the row's parameters, so a saved run refits the same one): unweighted, on the suite's covid
    table (93% one class, balanced accuracy) it scored 0.77 in CV against its members' 0.92."""
    if task == "classification":
        return LogisticRegression(max_iter=1000, random_state=seed, class_weight=params.get("class_weight"))
    return Ridge(alpha=1.0, positive=True)


def _stacked_predictions(final: Any, outputs: list[np.ndarray], oof: OutOfFold) -> np.ndarray:
    """The stacker's out-of-fold outputs: for each fold, fitted on the other folds' rows of the members' outputs."""
    features = stack_outputs(outputs)
    out = np.zeros_like(outputs[0])
    for rows in oof.folds:
        train = np.setdiff1d(np.arange(oof.n_rows), rows)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = clone(final).fit(features[train], oof.y[train])
        out[rows] = fold_output(model, features[rows], oof.labels)
    return out


def _row(key: str, label: str, params: dict, folds: dict[str, list[float]], members: list[ModelScore],
         spec: PipelineSpec) -> ModelScore:
    used = [m for m in members if m.model in params["members"]]
    row = ModelScore(model=key, label=label, params=params, folds=folds,
                     fit_seconds=sum(m.fit_seconds for m in used), predict_seconds=sum(m.predict_seconds for m in used))
    for name, values in folds.items():
        row.metrics[name] = float(np.mean(values))
        row.metrics_std[name] = float(np.std(values))
    row.notes.append("scored from the members' out-of-fold predictions on the same folds as every model (no extra "
                     "fits); its fit and predict times are its members' together")
    if spec.threshold.tune:
        row.notes.append("an ensemble predicts its most probable class: the decision threshold is tuned for single "
                         "models only")
    return row


class FoldScorer:
    """The leaderboard's scorers applied to predictions made elsewhere, fold by fold."""

    def __init__(self, oof: OutOfFold, metric: str, folds: list[np.ndarray] | None = None):
        self.oof, self.y, self.metric = oof, np.asarray(oof.y), metric
        self.folds = oof.folds if folds is None else folds
        self.names = mt.usable_metrics(oof.task, _given(oof, self.y[:0]))
        self.primary = check_scoring(_given(oof, self.y[:0]), scoring=metric)

    def on(self, folds: list[np.ndarray]) -> FoldScorer:
        """The same scorers over some of the folds only."""
        return FoldScorer(self.oof, self.metric, folds)

    def sampled(self, rows: int, seed: int) -> FoldScorer:
        """The same scorers over at most ``rows`` rows of each fold (a seeded sample of a larger one)."""
        rng = np.random.default_rng(seed)
        return self.on([f if len(f) <= rows else np.sort(rng.choice(f, rows, replace=False)) for f in self.folds])

    def pooled(self, values: np.ndarray) -> float:
        """The ranking metric on the folds' rows together, as greedy selection scores its picks (AutoGluon's and
        auto-sklearn's selections score the out-of-fold predictions at once too): one call, not one per fold, for
        each candidate at each pick."""
        rows = np.concatenate(self.folds)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(self.primary(_given(self.oof, values), rows[:, None], self.y[rows]))

    def all_folds(self, values: np.ndarray) -> dict[str, list[float]]:
        given, scorer = _given(self.oof, values), check_scoring(_given(self.oof, values), scoring=self.names)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = [scorer(given, rows[:, None], self.y[rows]) for rows in self.folds]
        return {name: [float(s[name]) for s in scores] for name in self.names}


class _Given(BaseEstimator):
    """Answers scorers with outputs computed elsewhere; ``X`` holds row numbers into them. Nothing to fit
    (``fit`` exists because scorers accept estimators only)."""

    def fit(self, X: Any, y: Any = None) -> _Given:
        return self


class _GivenClassifier(ClassifierMixin, _Given):
    """Class probabilities computed elsewhere, in ``classes`` order."""

    def __init__(self, values: np.ndarray, classes: np.ndarray):
        self.values, self.classes = values, classes

    @property
    def classes_(self) -> np.ndarray:
        return self.classes

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.values[np.asarray(X)[:, 0]]

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class _GivenRegressor(RegressorMixin, _Given):
    """Predictions computed elsewhere."""

    def __init__(self, values: np.ndarray):
        self.values = values

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.values[np.asarray(X)[:, 0]]


def _given(oof: OutOfFold, values: np.ndarray) -> BaseEstimator:
    return _GivenRegressor(values) if oof.labels is None else _GivenClassifier(values, oof.labels)


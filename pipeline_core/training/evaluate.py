"""Chart data for a trained model: tidy DataFrames, one row per point, no plotting.

Pages draw these with any chart library; the numbers come from scikit-learn's own
functions, so what a user sees matches what a data scientist would compute. A frame that
cannot be computed for this model or data comes back empty with ``frame.attrs["reason"]``
saying why, so the page can show the sentence instead of a blank chart.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.inspection import permutation_importance
from sklearn.metrics import auc, average_precision_score, confusion_matrix, precision_recall_curve, roc_curve
from sklearn.model_selection import KFold, StratifiedKFold, learning_curve

from pipeline_core.compiler.columns import infer_schema
from pipeline_core.compiler.compile import compile_pipeline
from pipeline_core.compiler.schema import model_features
from pipeline_core.compiler.target import resolve as resolve_target_transform
from pipeline_core.definition import metrics as mt
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.library_estimators import classes_of
from pipeline_core.training.splits import cv_splitter

if TYPE_CHECKING:
    from pipeline_core.training.results import TrainResult

TRAIN_SIZES = (0.1, 0.325, 0.55, 0.775, 1.0)
SIGNIFICANCE = 0.05
WILCOXON_MIN_FOLDS = 6  # below this the signed-rank test cannot reach p < 0.05


def _empty(columns: list[str], reason: str) -> pd.DataFrame:
    frame = pd.DataFrame(columns=columns)
    frame.attrs["reason"] = reason
    return frame


# ---- classification ---------------------------------------------------------------------------


def confusion_matrix_frame(pipeline: Any, X: pd.DataFrame, y: pd.Series) -> pd.DataFrame:
    """Every (actual, predicted) pair with its count, zeros included, so a heatmap has no holes."""
    columns = ["actual", "predicted", "count"]
    if not is_classifier(pipeline):
        return _empty(columns, "a confusion matrix needs a classifier")
    predicted = pipeline.predict(X)
    labels = _labels(pipeline, y, predicted)
    counts = confusion_matrix(np.asarray(y), predicted, labels=labels)
    rows = [(a, p, int(counts[i, j])) for i, a in enumerate(labels) for j, p in enumerate(labels)]
    return pd.DataFrame(rows, columns=columns)


def _labels(pipeline: Any, y: pd.Series, predicted: np.ndarray) -> list[Any]:
    """The model's classes first (its order), then any label seen only in ``y``."""
    classes = classes_of(pipeline)
    known = [] if classes is None else list(classes)
    extra = sorted((set(pd.unique(np.asarray(y))) | set(pd.unique(predicted))) - set(known), key=str)
    return known + extra


def _class_scores(pipeline: Any, X: pd.DataFrame, proba_only: bool = False) -> tuple[np.ndarray, list] | str:
    """Per-class scores (rows x classes) from ``predict_proba``, else ``decision_function``; or a reason."""
    if not is_classifier(pipeline):
        return "this chart needs a classifier"
    classes = list(pipeline.classes_)
    if hasattr(pipeline, "predict_proba"):
        return np.asarray(pipeline.predict_proba(X)), classes
    if proba_only:
        return "the model gives no probabilities (predict_proba), so calibration cannot be checked"
    if hasattr(pipeline, "decision_function"):
        scores = np.asarray(pipeline.decision_function(X))
        return (np.column_stack([-scores, scores]) if scores.ndim == 1 else scores), classes
    return "the model gives neither probabilities nor decision scores, so there is no curve to draw"


def _one_vs_rest(classes: list[Any]) -> list[tuple[int, Any]]:
    """Binary: the positive class only (the other curve mirrors it); multiclass: every class."""
    return [(1, classes[1])] if len(classes) == 2 else list(enumerate(classes))


def _per_class(
    pipeline: Any, X: pd.DataFrame, y: pd.Series, columns: list[str], build: Any, proba_only: bool = False,
) -> pd.DataFrame:
    """Run ``build(truth, scores)`` one-vs-rest; classes absent or alone in ``y`` are skipped."""
    scored = _class_scores(pipeline, X, proba_only)
    if isinstance(scored, str):
        return _empty(columns, scored)
    scores, classes = scored
    actual = np.asarray(y)
    parts = []
    for i, label in _one_vs_rest(classes):
        truth = actual == label
        if truth.any() and not truth.all():
            part = build(truth, scores[:, i])
            part.insert(0, "class", label)
            parts.append(part)
    if not parts:
        return _empty(columns, "the rows hold a single class, so positives cannot be told from negatives")
    return pd.concat(parts, ignore_index=True)[columns]


def roc_curve_frame(pipeline: Any, X: pd.DataFrame, y: pd.Series) -> pd.DataFrame:
    """ROC curve points per class (one-vs-rest for multiclass), each with its area under the curve."""

    def build(truth: np.ndarray, score: np.ndarray) -> pd.DataFrame:
        fpr, tpr, _ = roc_curve(truth, score)
        return pd.DataFrame({"fpr": fpr, "tpr": tpr, "auc": auc(fpr, tpr)})

    return _per_class(pipeline, X, y, ["class", "fpr", "tpr", "auc"], build)


def pr_curve_frame(pipeline: Any, X: pd.DataFrame, y: pd.Series) -> pd.DataFrame:
    """Precision-recall points per class; better than ROC when positives are rare."""

    def build(truth: np.ndarray, score: np.ndarray) -> pd.DataFrame:
        precision, recall, _ = precision_recall_curve(truth, score)
        ap = average_precision_score(truth, score)
        return pd.DataFrame({"recall": recall, "precision": precision, "average_precision": ap})

    return _per_class(pipeline, X, y, ["class", "recall", "precision", "average_precision"], build)


def calibration_frame(
    pipeline: Any, X: pd.DataFrame, y: pd.Series, n_bins: int = 10, strategy: str = "uniform",
) -> pd.DataFrame:
    """Reliability diagram: per probability bin, mean predicted vs. observed share, and row count.

    Bins match ``sklearn.calibration.calibration_curve``; empty bins are left out.
    """

    def build(truth: np.ndarray, prob: np.ndarray) -> pd.DataFrame:
        if strategy == "quantile":
            edges = np.percentile(prob, np.linspace(0, 100, n_bins + 1))
        else:
            edges = np.linspace(0.0, 1.0, n_bins + 1)
        bins = np.searchsorted(edges[1:-1], prob)
        grouped = pd.DataFrame({"bin": bins, "p": prob, "hit": truth.astype(float)}).groupby("bin")
        return grouped.agg(mean_predicted=("p", "mean"), fraction_positive=("hit", "mean"), count=("p", "size"))

    return _per_class(pipeline, X, y, ["class", "mean_predicted", "fraction_positive", "count"], build, True)


# ---- regression -------------------------------------------------------------------------------


def residuals_frame(pipeline: Any, X: pd.DataFrame, y: pd.Series) -> pd.DataFrame:
    """Actual, predicted and residual (actual - predicted) per row, for residual and parity plots."""
    columns = ["actual", "predicted", "residual"]
    if not is_regressor(pipeline):
        return _empty(columns, "residuals are for regression models")
    actual = np.asarray(y, dtype=float)
    predicted = np.asarray(pipeline.predict(X), dtype=float)
    return pd.DataFrame({"actual": actual, "predicted": predicted, "residual": actual - predicted})


# ---- any supervised model ---------------------------------------------------------------------


def learning_curve_frame(
    estimator: PipelineSpec | Any, X: pd.DataFrame, y: pd.Series, task: str, cv: Any = None,
    scoring: str | None = None, train_sizes: Sequence[float] = TRAIN_SIZES, seed: int | None = None,
) -> pd.DataFrame:
    """Train and validation score by training-set size: does more data help, or is the model the limit?

    ``estimator`` is an unfitted pipeline or a definition (its first model, else the task's first
    default, compiled against ``X``'s columns). ``X``/``y`` are the training rows after the row steps.
    Defaults follow the definition when given: its CV splitter, metric and seed.
    """
    pipeline, cv, scoring, seed = _learning_setup(estimator, X, y, task, cv, scoring, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small first sizes may lose a class; those folds score NaN
        sizes, train_scores, valid_scores = learning_curve(
            pipeline, X, y, train_sizes=np.asarray(train_sizes), cv=cv, scoring=scoring, shuffle=True,
            random_state=seed, error_score=np.nan,
        )
        rows = [
            {"train_size": int(n), "split": split, "score_mean": np.nanmean(s), "score_std": np.nanstd(s)}
            for split, scores in (("train", train_scores), ("validation", valid_scores))
            for n, s in zip(sizes, scores, strict=True)
        ]
    return pd.DataFrame(rows, columns=["train_size", "split", "score_mean", "score_std"])


def _learning_setup(
    estimator: PipelineSpec | Any, X: pd.DataFrame, y: pd.Series, task: str, cv: Any, scoring: str | None,
    seed: int | None,
) -> tuple[Any, Any, str, int]:
    if not isinstance(estimator, PipelineSpec):
        seed = 42 if seed is None else seed
        cls = StratifiedKFold if task == "classification" else KFold
        return (clone(estimator), cv if cv is not None else cls(5, shuffle=True, random_state=seed),
                scoring or mt.primary_metric(task, "auto", y), seed)

    spec = estimator
    open_choices = spec.open_choices
    model = spec.models[0] if spec.models else open_choices.model(open_choices.preselected(task, spec.steps)[0])
    model, _ = resolve_target_transform(model, task, y)
    pipeline = compile_pipeline(spec, infer_schema(X, spec), task=task, model=model, n_rows=len(X))
    return (pipeline, cv if cv is not None else cv_splitter(task, spec),
            scoring or mt.primary_metric(task, spec.evaluation.metric, y),
            spec.evaluation.seed if seed is None else seed)


def permutation_importance_frame(
    pipeline: Any, X: pd.DataFrame, y: pd.Series, scoring: str | None = None, n_repeats: int = 5,
    seed: int = 42, max_rows: int = 5000, features: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """How much the score drops when one of the user's raw columns is shuffled, sorted most important first.

    Permuting the raw frame (not the encoded matrix) keeps one row per user column, however many
    features one-hot or TF-IDF made from it. Above ``max_rows`` a seeded sample keeps it quick.
    ``features`` (raw name → pipeline name, :func:`pipeline_core.compiler.schema.model_features`) limits it
    to the columns the model reads and names them as the pipeline does: a dropped column's importance is
    zero by construction and only crowded the chart, and renamed columns read as on every other page.
    """
    if features is not None:
        X = X[[c for c in X.columns if c in features]]
    if len(X) > max_rows:
        picked = np.random.default_rng(seed).choice(len(X), size=max_rows, replace=False)
        X, y = X.iloc[picked], y.iloc[picked]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = permutation_importance(pipeline, X, y, scoring=scoring, n_repeats=n_repeats, random_state=seed)
    names = [str((features or {}).get(c, c)) for c in X.columns]
    frame = pd.DataFrame({"feature": names, "importance_mean": result.importances_mean,
                          "importance_std": result.importances_std})
    return frame.sort_values("importance_mean", ascending=False, ignore_index=True)


# ---- comparing two models ---------------------------------------------------------------------


def paired_fold_test(
    scores_a: Sequence[float], scores_b: Sequence[float], *, n_train: int | None = None, n_test: int | None = None,
    metric: str = "score", names: tuple[str, str] = ("Model A", "Model B"),
) -> dict[str, Any]:
    """Is model A really better than model B on the same CV folds?

    Folds share training rows, so a plain paired t-test is overconfident; with ``n_train`` and
    ``n_test`` (rows per fold) the variance gets the Nadeau-Bengio correction. With 6+ folds a
    Wilcoxon signed-rank p-value is added as a check that does not assume normality.
    """
    a, b = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError("paired_fold_test needs two equally long lists of at least 2 fold scores")
    diff = a - b
    corrected = bool(n_train and n_test)
    t, p = _corrected_t(diff, n_test / n_train if corrected else 0.0)
    method = "corrected paired t-test" if corrected else "paired t-test"
    a_ahead = diff > 0 if mt.greater_is_better(metric) else diff < 0
    result = {"mean_difference": float(diff.mean()), "t": t, "p_value": p, "significant": p < SIGNIFICANCE,
              "method": method, "n_folds": len(diff), "wilcoxon_p_value": _wilcoxon(diff),
              "wins_a": int(a_ahead.sum()), "wins_b": int(((diff != 0) & ~a_ahead).sum()),
              "ties": int((diff == 0).sum())}
    result["sentence"] = _verdict(result, metric, names)
    return result


def _corrected_t(diff: np.ndarray, test_train_ratio: float) -> tuple[float, float]:
    """t = mean / sqrt((1/k + n_test/n_train) * var); ratio 0 gives the ordinary paired t-test."""
    k, mean, var = len(diff), float(diff.mean()), float(diff.var(ddof=1))
    if var == 0:  # identical differences on every fold: no spread to test against
        return (0.0, 1.0) if mean == 0 else (math.copysign(math.inf, mean), 0.0)
    t = mean / math.sqrt((1 / k + test_train_ratio) * var)
    return float(t), float(2 * stats.t.sf(abs(t), df=k - 1))


def _wilcoxon(diff: np.ndarray) -> float | None:
    if len(diff) < WILCOXON_MIN_FOLDS:
        return None
    if not np.any(diff):
        return 1.0
    return float(stats.wilcoxon(diff).pvalue)


def _verdict(result: dict[str, Any], metric: str, names: tuple[str, str]) -> str:
    """One plain sentence a data scientist can paste into a report."""
    mean, k = result["mean_difference"], result["n_folds"]
    label = mt.LABELS.get(metric, metric)
    label = label.lower() if label == label.capitalize() else label
    if mean == 0:
        return f"{names[0]} and {names[1]} score the same on average over {k} folds; there is no difference to test."
    a_better = (mean > 0) if mt.greater_is_better(metric) else (mean < 0)
    winner = names[0] if a_better else names[1]
    p = result["p_value"]
    p_text = "p < 0.001" if p < 0.001 else f"p = {p:.2g}"
    judged = "significant" if result["significant"] else "not significant"
    sentence = f"{winner} is better by {abs(mean):.3g} {label}; the difference is {judged} ({p_text}, "
    sentence += f"{result['method']} over {k} folds)"
    if result["wilcoxon_p_value"] is not None:
        sentence += f"; Wilcoxon signed-rank p = {result['wilcoxon_p_value']:.2g}"
    wins = result["wins_a"] if a_better else result["wins_b"]
    sentence += f". {winner} did better on {wins} of {k} folds"
    if result["significant"]:
        return sentence + "."
    # "not significant" is not "equivalent": the test could not tell the difference from fold-to-fold noise
    # with this many folds; showing equivalence would need an equivalence test with a margin the user chooses
    return sentence + (". That is not evidence that the two are equivalent: with this many folds the test cannot "
                       "tell a difference this size from fold-to-fold noise. More folds or more data can settle it.")


# ---- everything for one run -------------------------------------------------------------------


def evaluation_frames(result: TrainResult, *, importance_rows: int | None = None) -> dict[str, pd.DataFrame]:
    """All hold-out charts that fit the run's task, plus ``notes`` (frame, reason) for any left empty.

    ``importance_rows`` caps the rows permutation importance shuffles (its default otherwise): it calls the model
    columns x repeats times, so a caller building many charts at once (the model report) may want it smaller.

    Without hold-out rows nothing is computed: CV scores are on the leaderboard, and charts on
    rows the model was trained on would flatter it.
    """
    if result.X_test is None or result.y_test is None or len(result.X_test) == 0:
        return {"notes": _notes({"all": "there are no hold-out rows: set evaluation.holdout above 0 "
                                        "to get charts on data the model has not seen"})}
    if result.task not in ("classification", "regression"):
        return {"notes": _notes({"all": f"hold-out charts are for supervised models, not {result.task}"})}
    pipeline, X, y = result.holdout_model, result.X_test, result.y_test  # never the model refitted on these rows
    builders = (
        {"confusion_matrix": confusion_matrix_frame, "roc_curve": roc_curve_frame, "pr_curve": pr_curve_frame,
         "calibration": calibration_frame}
        if result.task == "classification" else {"residuals": residuals_frame}
    )
    frames = {name: build(pipeline, X, y) for name, build in builders.items()}
    frames["permutation_importance"] = permutation_importance_frame(
        pipeline, X, y, scoring=result.metric, seed=result.spec.evaluation.seed,
        features=model_features(pipeline), **({"max_rows": importance_rows} if importance_rows else {}))
    reasons = {name: frame.attrs["reason"] for name, frame in frames.items() if "reason" in frame.attrs}
    reasons["learning_curve"] = ("needs the training rows, which a run does not keep; call "
                                 "learning_curve_frame(clone(result.pipeline), X_train, y_train, ...)")
    frames["notes"] = _notes(reasons)
    return frames


def _notes(reasons: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(list(reasons.items()), columns=["frame", "reason"])

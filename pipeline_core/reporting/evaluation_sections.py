"""The model report's sections on how well the model does: cross-validated and hold-out metrics with the run's
charts, and the tuning history when the run tuned the model.

The figures are the Compare page's own (:mod:`pipeline_core.reporting.evaluation_figures`), so the report shows
what the app shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline_core.definition import metrics as mt
from pipeline_core.reporting.document import Chart, Facts, Section, Table, Text
from pipeline_core.reporting.evaluation_figures import (
    fold_spread_figure,
    holdout_figures,
    importance_figure,
    tuning_history_figure,
)
from pipeline_core.reporting.leaderboard import fold_scores, leaderboard_frame, metric_names, metric_text
from pipeline_core.reporting.style import display_value, metric_label

CAPTIONS = {"confusion_matrix": "Counts per actual and predicted class; colour is the share of the actual class.",
            "roc_curve": "True against false positive rate as the decision threshold moves, per class.",
            "pr_curve": "Precision against recall as the decision threshold moves, per class.",
            "calibration": "Predicted probability against the observed share of the class.",
            "parity": "Each hold-out row's prediction against its actual value (the dotted line is perfect).",
            "residuals": "Actual minus predicted against the prediction: a pattern means the model misses a trend."}


@dataclass(frozen=True)
class Scores:
    """A registered model's scores: cross-validated means and spreads of each metric, and the hold-out."""

    task: str | None
    metric: str | None
    cv: Mapping[str, float | None] = field(default_factory=dict)
    cv_std: Mapping[str, float | None] = field(default_factory=dict)
    holdout: Mapping[str, float | None] = field(default_factory=dict)


def _shown(name: str, value: float | None) -> str:
    return "—" if value is None else f"{display_value(name, value):.4f}"


def metrics_section(scores: Scores, leaderboard: Sequence[Mapping[str, Any]], model: str,
                    holdout: Mapping[str, pd.DataFrame] | None, holdout_rows: int | None,
                    holdout_problem: str | None = None, importance_rows: int | None = None) -> Section:
    """Scores table, the run's leaderboard (the registered model marked), every fold's score, and the hold-out
    charts and permutation importance of the registered model; ``holdout_problem`` says why charts are missing."""
    names = metric_names([{"metrics": {**scores.cv, **scores.holdout}}])
    if scores.metric in names:
        names = [scores.metric] + [n for n in names if n != scores.metric]
    ranked = ""
    if scores.metric:
        direction = "higher" if mt.shown_greater_is_better(scores.metric) else "lower"
        ranked = f" Ranked by {metric_label(scores.metric)} ({direction} is better)."
    if scores.task == "clustering":  # no labels to cross-validate against: scored once on the training rows
        table = Table(["Metric", "On the training rows"], [
            [metric_label(n), metric_text({n: _none_or(n, scores.cv.get(n))}, n)] for n in names])
        blocks: list[Any] = [Text("Clustering has no target: each model is scored once on the rows it clustered."
                                  + ranked), table]
    else:
        table = Table(["Metric", "Cross-validated (mean ± std)", "Hold-out"], [
            [metric_label(n), metric_text({n: _none_or(n, scores.cv.get(n)), f"{n}__std": scores.cv_std.get(n)}, n),
             _shown(n, scores.holdout.get(n))] for n in names])
        where = f"the {holdout_rows:,} hold-out rows" if holdout_rows else "the hold-out rows"
        blocks = [Text(f"Cross-validated on the training rows; hold-out scores on {where}, scored once after the "
                       f"model was chosen.{ranked}"), table]
    board = leaderboard_frame(leaderboard, scores.metric)
    if not board.empty and scores.metric in board:
        rows = [["✓" if row["model"] == model else "", str(row["Model"]), metric_text(row, scores.metric),
                 "" if pd.isna(row["Fit time (s)"]) else f"{row['Fit time (s)']:.2f}", str(row["Error"])]
                for _, row in board.iterrows()]
        blocks.append(Table(["Registered", "Model", f"{metric_label(scores.metric)} (mean ± std)",
                             "Fit time per fold (s)", "Error"], rows,
                            note="Every model the run compared, best first."))
        folds = fold_scores(leaderboard, scores.metric)
        if not folds.empty:
            blocks.append(Chart(fold_spread_figure(board, folds, scores.metric),
                                "Each dot is one fold's score; the diamond is the mean with one standard deviation."))
    if holdout_problem:
        blocks.append(Text(f"No hold-out charts: {holdout_problem}", "warning"))
    elif holdout:
        blocks += [Chart(figure, CAPTIONS.get(key, "")) for key, figure in holdout_figures(holdout)]
        importance = holdout.get("permutation_importance")
        if importance is not None and not importance.empty and scores.metric:
            blocks.append(Chart(importance_figure(importance, scores.metric),
                                "How much the score drops when one column is shuffled"
                                + (f" (on a seeded sample of at most {importance_rows:,} hold-out rows)"
                                   if importance_rows else "")
                                + ": the model-agnostic check next to the SHAP values below."))
    main = scores.cv.get(scores.metric) if scores.metric else None
    summary = (f"Cross-validated {metric_label(scores.metric)} {_shown(scores.metric, main)}, hold-out "
               f"{_shown(scores.metric, scores.holdout.get(scores.metric))}." if scores.metric else "No scores.")
    if scores.task == "clustering" and scores.metric:
        summary = f"{metric_label(scores.metric)} {_shown(scores.metric, main)} on the training rows."
    return Section("metrics", "Metrics", summary, blocks)


def _none_or(name: str, value: float | None) -> float | None:
    return None if value is None else display_value(name, value)


def tuning_section(record: Mapping[str, Any] | None, metric: str | None, label: str) -> Section:
    """The registered model's search: each trial's score, the best so far and the untuned start, with the
    parameters it ended with; a plain sentence when the run did not tune it."""
    history = list((record or {}).get("tuning_history") or [])
    if not history or not metric:
        return Section("tuning", "Tuning history", "Not tuned.",
                       [Text(f"The run did not tune {label}: it was trained with the parameters listed under "
                             "Pipeline steps.", "note")])
    trials = [t for t in history if t.get("trial", 0) > 0 and t.get("score") is not None and t["score"] == t["score"]]
    untuned = next((t.get("score") for t in history if t.get("trial") == 0), None)
    scores = [display_value(metric, t["score"]) for t in trials]
    best = (max(scores) if mt.shown_greater_is_better(metric) else min(scores)) if scores else None
    notes = [n for n in (record or {}).get("notes") or [] if "tun" in n.lower()]
    facts = [("Trials", f"{len(trials):,}"), (f"Best {metric_label(metric)}", "—" if best is None else f"{best:.4f}"),
             ("Untuned", _shown(metric, untuned))]
    blocks: list[Any] = [Facts(facts), Chart(tuning_history_figure(history, metric, label),
                                             "Each trial's cross-validated score, the best so far, and the untuned "
                                             "model (dashed) the search had to beat.")]
    blocks += [Text(note, "note") for note in notes]
    return Section("tuning", "Tuning history", f"{len(trials):,} trial(s); best {metric_label(metric)} "
                                               f"{'—' if best is None else f'{best:.4f}'}.", blocks)

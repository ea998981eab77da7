"""Plotly figures and display tables built from the core's tidy frames and a run's leaderboard.

It also holds the one cached loader of stored models that Compare, Predict and Pipelines
share, so a model is loaded once per content hash whichever page asks first.

Plotting belongs to the UI layer: the core returns plain frames (one row per point, bin or
fold), and these builders only arrange them for the eye. Scores named ``neg_*`` by
scikit-learn (losses negated so that higher is better) are shown as the positive loss a data
scientist expects, labelled without "(negated)".
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from pipeline_core.definition import metrics
from pipeline_core.io.writers import neutralise_frame
from studio import models
from studio.runs import best_model_label

BEST_FILL = "#e6f4ea"
PALETTE = ["#3b5bdb", "#f08c00", "#2f9e44", "#c2255c", "#7048e8", "#1098ad", "#e8590c", "#5c940d"]
LAYOUT = {"template": "plotly_white", "margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "colorway": PALETTE}


# ---- metric names and values ------------------------------------------------------------------------


def metric_label(name: str) -> str:
    """The label a person reads, e.g. ``RMSE`` for ``neg_root_mean_squared_error``."""
    return metrics.LABELS.get(name, name).replace(" (negated)", "")


def display_value(name: str, value: float) -> float:
    """Losses stored negated come back positive (the rule is :func:`metrics.shown_value`'s)."""
    return metrics.shown_value(name, value)


def score_scope(task: str | None) -> str:
    """Where a run's scores come from: CV folds, except for clustering (scored once on the training rows)."""
    return "on the training rows" if task == "clustering" else "across folds"


def metric_text(row: Mapping[str, Any], metric: str) -> str:
    """``0.9512 ± 0.0123`` (mean ± std across folds) from a leaderboard frame row."""
    mean, std = row.get(metric), row.get(f"{metric}__std")
    if mean is None or pd.isna(mean):
        return "—"
    return f"{mean:.4f} ± {std:.4f}" if std is not None and not pd.isna(std) else f"{mean:.4f}"


# ---- leaderboards ------------------------------------------------------------------------------------


def _mean_and_std(row: Mapping[str, Any], name: str) -> tuple[float | None, float | None]:
    value = row.get("metrics", {}).get(name)
    std = row.get("metrics_std", {}).get(name)
    if isinstance(value, Mapping):  # {"mean": m, "std": s} is accepted too
        value, std = value.get("mean"), value.get("std", std)
    return value, std


def metric_names(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Metrics reported by any model, in the registry's order."""
    seen = {name for row in records for name in row.get("metrics", {})}
    ordered = [m for task in ("classification", "regression", "clustering") for m in metrics.metrics_for(task)]
    return [m for m in ordered if m in seen] + sorted(seen - set(ordered))


def leaderboard_frame(records: Sequence[Mapping[str, Any]], metric: str | None) -> pd.DataFrame:
    """One row per model, best first: ``model``, ``Model``, each metric (displayed sign) and ``<metric>__std``."""
    rows = []
    for record in records:
        threshold = record.get("threshold") or {}
        row = {"model": record["model"], "Model": record.get("label") or record["model"],
               "Threshold": threshold.get("value"), "Threshold metric": threshold.get("metric"),
               "Fit time (s)": record.get("fit_seconds"), "Notes": "; ".join(record.get("notes") or []),
               "Error": record.get("error") or ""}
        for name in metric_names([record]):
            mean, std = _mean_and_std(record, name)
            row[name] = display_value(name, mean) if mean is not None else None
            row[f"{name}__std"] = std
        rows.append(row)
    board = pd.DataFrame(rows)
    if board.empty or not metric or metric not in board:
        return board
    board["_failed"] = board["Error"] != ""
    board = board.sort_values(["_failed", metric], ascending=[True, not metrics.shown_greater_is_better(metric)],
                              na_position="last", kind="stable")
    return board.drop(columns="_failed").reset_index(drop=True)


def leaderboard_table(board: pd.DataFrame, metric: str | None) -> Any:
    """The leaderboard as a sortable, labelled table with the best model highlighted (a pandas Styler)."""
    table = pd.DataFrame({"Rank": range(1, len(board) + 1), "Model": board["Model"]})
    names = [m for m in metric_names_of(board) if m != metric]
    if metric in board:
        table[f"{metric_label(metric)} (mean ± std)"] = [metric_text(row, metric) for _, row in board.iterrows()]
    if "Threshold" in board and board["Threshold"].notna().any():  # the mean of the CV folds' tuned thresholds
        tuned_for = board["Threshold metric"].dropna().iloc[0]  # beside the ranking score, where a glance finds it
        table[f"Threshold ({metric_label(tuned_for).lower()})"] = board["Threshold"].astype(float).round(3)
    for name in names:
        table[metric_label(name)] = board[name].round(4)
    for column in ("Fit time (s)", "Notes", "Error"):
        if column in board and board[column].astype(bool).any():
            table[column] = board[column].round(3) if column == "Fit time (s)" else board[column]
    best = 0 if len(board) and not board.get("Error", pd.Series([""])).iloc[0] else None
    table = neutralise_frame(table)  # as ``common.safe_table``: the toolbar's CSV download writes cells raw
    return table.style.apply(lambda row: [f"background-color: {BEST_FILL}" if row.name == best else ""] * len(row),
                             axis=1).format(precision=4, na_rep="—")


def threshold_text(threshold: Any) -> str:
    """The saved model's tuned decision threshold, what it optimised and on which rows (issue 15 point 12)."""
    from pages.common import escape_markdown

    default = "0.5" if threshold.response == "probability" else "0"
    score = f" ({threshold.score:.3f} there)" if threshold.score is not None else ""
    return (f"Decision threshold: predicts **{escape_markdown(threshold.positive_class)}** when its "
            f"{threshold.response} is at least **{threshold.value:.3f}** (untuned: {default}), chosen to maximise "
            f"{metric_label(threshold.metric).lower()}{score} on out-of-fold predictions of the training rows; "
            "the hold-out rows played no part.")


# "Rank" and the model's name were cut to "R…" by the default widths (issue 15 point 15)
LEADERBOARD_COLUMNS = {"Rank": st.column_config.NumberColumn("Rank", width=60),
                       "Model": st.column_config.TextColumn("Model", width="medium")}


def metric_names_of(board: pd.DataFrame) -> list[str]:
    return [c for c in board.columns if c in metrics.LABELS]


def fold_scores(records: Sequence[Mapping[str, Any]], metric: str) -> pd.DataFrame:
    """Tidy fold scores: one row per (model, fold) with the displayed value."""
    rows = []
    for record in records:
        for fold, value in enumerate(record.get("folds", {}).get(metric, []), start=1):
            rows.append({"Model": record.get("label") or record["model"], "fold": fold,
                         "value": display_value(metric, value)})
    return pd.DataFrame(rows, columns=["Model", "fold", "value"])


# ---- figures --------------------------------------------------------------------------------------


LABEL_WIDTH = 24  # characters per line of a class name on an axis or in a legend
LINE_PX = 15  # height of one line of axis or legend text


def wrap_label(text: object, width: int = LABEL_WIDTH) -> str:
    """A class name broken into lines of at most ``width`` characters (plotly's ``<br>``), so a long name such as
    "Chronic obstructive pulmonary disease — severe exacerbation" takes height, not the plot's width."""
    return "<br>".join(textwrap.wrap(str(text), width, break_long_words=True)) or str(text)


def _lines(text: str) -> int:
    return text.count("<br>") + 1


def error_bars(mean: pd.Series, std: pd.Series, metric: str) -> dict[str, Any]:
    """Plotly ``error_x`` for mean ± std, clipped to the values ``metric`` can take: an accuracy of 0.98 ± 0.05
    is drawn up to 1.0, not to an impossible 1.03."""
    low, high = metrics.BOUNDS.get(metric, (None, None))
    std = std.fillna(0)
    upper = (mean + std).clip(upper=high) - mean if high is not None else std
    lower = mean - (mean - std).clip(lower=low) if low is not None else std
    return {"type": "data", "symmetric": False, "array": upper.clip(lower=0).tolist(),
            "arrayminus": lower.clip(lower=0).tolist()}


def _figure(title: str, **layout: Any) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(title=title, **{**LAYOUT, **layout})
    return figure


def fold_spread_figure(board: pd.DataFrame, folds: pd.DataFrame, metric: str) -> go.Figure:
    """Every fold's score as a dot, the mean as a diamond with ±1 std; the axis zooms to the scores."""
    label = metric_label(metric)
    arrow = "higher is better" if metrics.shown_greater_is_better(metric) else "lower is better"
    scored = board.dropna(subset=[metric]) if metric in board else board.iloc[0:0]
    order = list(scored["Model"])[::-1]
    figure = _figure(f"{label} across CV folds ({arrow})", height=max(240, 56 * len(order) + 130),
                     xaxis_title=label, legend={"orientation": "h", "y": -0.25})
    figure.add_scatter(y=folds["Model"], x=folds["value"], mode="markers", name="one fold",
                       marker={"color": PALETTE[0], "size": 9, "opacity": 0.55, "line": {"width": 1, "color": "white"}},
                       customdata=folds["fold"], hovertemplate="%{y}, fold %{customdata}: %{x:.4f}<extra></extra>")
    figure.add_scatter(y=scored["Model"], x=scored[metric], mode="markers", name="mean ± std",
                       marker={"color": PALETTE[1], "size": 13, "symbol": "diamond"},
                       error_x={**error_bars(scored[metric], scored[f"{metric}__std"], metric), "color": PALETTE[1],
                                "thickness": 2},
                       hovertemplate="%{y}: mean %{x:.4f}<extra></extra>")
    figure.update_yaxes(categoryorder="array", categoryarray=order)
    return figure


def tuning_history_figure(history: Sequence[Mapping[str, Any]], metric: str, model: str) -> go.Figure:
    """Each trial's CV score as a dot, the best so far as a step line, the untuned model (trial 0) as a dashed
    line: the history an Optuna dashboard shows, and whether the search beat the settings it started from."""
    frame = pd.DataFrame(list(history))
    frame["value"] = [display_value(metric, v) if v is not None and not pd.isna(v) else None for v in frame["score"]]
    trials, untuned = frame[frame["trial"] > 0], frame[frame["trial"] == 0]["value"].dropna()
    higher = metrics.shown_greater_is_better(metric)
    best = trials["value"].cummax() if higher else trials["value"].cummin()
    figure = _figure(f"Tuning {model}: {metric_label(metric)} per trial", height=320, xaxis_title="trial",
                     yaxis_title=metric_label(metric), legend={"orientation": "h", "y": -0.3})
    figure.add_scatter(x=trials["trial"], y=trials["value"], mode="markers", name="trial",
                       marker={"color": PALETTE[0], "size": 8, "opacity": 0.7}, customdata=trials["params"],
                       hovertemplate="trial %{x}: %{y:.4f}<br>%{customdata}<extra></extra>")
    figure.add_scatter(x=trials["trial"], y=best, mode="lines", name="best so far", line={"color": PALETTE[1],
                                                                                            "shape": "hv"})
    if len(untuned):
        figure.add_hline(y=float(untuned.iloc[0]), line={"dash": "dash", "color": "grey"},
                         annotation_text="untuned", annotation_position="top left")
    return figure


def paired_folds_figure(folds: pd.DataFrame, model_a: str, model_b: str, metric: str) -> go.Figure:
    """Each fold as a line from model A's score to model B's: crossing lines mean no consistent winner."""
    figure = _figure(f"{metric_label(metric)} per fold: {model_a} vs {model_b}", height=320, showlegend=False,
                     yaxis_title=metric_label(metric))
    a = folds[folds["Model"] == model_a].set_index("fold")["value"]
    b = folds[folds["Model"] == model_b].set_index("fold")["value"]
    for fold in a.index.intersection(b.index):
        better = (b[fold] > a[fold]) == metrics.shown_greater_is_better(metric)
        figure.add_scatter(x=[model_a, model_b], y=[a[fold], b[fold]], mode="lines+markers",
                           line={"color": PALETTE[1] if better else PALETTE[0]},
                           hovertemplate=f"fold {fold}: %{{y:.4f}}<extra></extra>")
    return figure


MAX_POINTS = 5_000


def _sampled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sample(MAX_POINTS, random_state=0) if len(frame) > MAX_POINTS else frame


def confusion_figure(frame: pd.DataFrame) -> go.Figure:
    """Counts in the cells, colour by share of the actual class (the row), so small classes stay readable.

    Class names are wrapped on the axes and the figure grows with them: unwrapped, long names left the matrix
    about 70 px wide (issue 15 point 15). Hover text keeps the full names.
    """
    labels = list(dict.fromkeys(frame["actual"]))  # the core lists every (actual, predicted) pair, model order
    counts = frame.pivot(index="actual", columns="predicted", values="count").reindex(index=labels, columns=labels)
    counts = counts.fillna(0).astype(int)
    shares = counts.div(counts.sum(axis=1).replace(0, 1), axis=0)
    names = [str(c) for c in counts.columns]
    wrapped = [wrap_label(name) for name in names]
    lines = max((_lines(w) for w in wrapped), default=1)
    row_px = max(50, LINE_PX * lines + 14)
    figure = _figure("Confusion matrix (hold-out rows)", height=max(320, row_px * len(names) + 120 + LINE_PX * lines),
                     xaxis_title="Predicted", yaxis_title="Actual")
    figure.add_heatmap(z=shares.to_numpy(), x=names, y=names, text=counts.to_numpy(), texttemplate="%{text}",
                       colorscale="Blues", zmin=0, zmax=1, colorbar={"title": "share of<br>actual"},
                       hovertemplate="actual %{y}, predicted %{x}: %{text} rows (%{z:.0%})<extra></extra>")
    figure.update_yaxes(autorange="reversed", type="category", tickvals=names, ticktext=wrapped, automargin=True)
    figure.update_xaxes(type="category", tickvals=names, ticktext=wrapped, tickangle=0, automargin=True)
    return figure


def _curve_legend(figure: go.Figure, base_height: int) -> go.Figure:
    """Per-class curves keep a full-size plot: the legend goes below it, names wrapped, and the figure grows by
    the legend's lines (inside the plot, long names covered all but ~60 px of it, issue 15 point 15)."""
    for trace in figure.data:
        trace.name = wrap_label(trace.name, 2 * LABEL_WIDTH)
    lines = sum(_lines(trace.name) for trace in figure.data)
    figure.update_layout(height=base_height + LINE_PX * lines + 40,
                         legend={"orientation": "v", "x": 0, "xanchor": "left", "y": -0.12, "yanchor": "top"})
    return figure


def roc_figure(frame: pd.DataFrame) -> go.Figure:
    figure = _figure("ROC curve (hold-out rows)", height=380, xaxis_title="False positive rate",
                     yaxis_title="True positive rate")
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#adb5bd"},
                       name="chance", hoverinfo="skip")
    for label, part in frame.groupby("class", sort=False):
        figure.add_scatter(x=part["fpr"], y=part["tpr"], mode="lines", name=f"{label} (AUC {part['auc'].iloc[0]:.3f})",
                           hovertemplate=f"{_hover_safe(label)}: FPR %{{x:.3f}}, TPR %{{y:.3f}}<extra></extra>")
    return _curve_legend(figure, 380)


def pr_figure(frame: pd.DataFrame) -> go.Figure:
    figure = _figure("Precision–recall curve (hold-out rows)", height=380, xaxis_title="Recall",
                     yaxis_title="Precision")
    for label, part in frame.groupby("class", sort=False):
        name = f"{label} (AP {part['average_precision'].iloc[0]:.3f})"
        figure.add_scatter(x=part["recall"], y=part["precision"], mode="lines", name=name, line_shape="hv",
                           hovertemplate=f"{_hover_safe(label)}: recall %{{x:.3f}}, precision %{{y:.3f}}"
                                         "<extra></extra>")
    figure.update_yaxes(range=[0, 1.05])
    return _curve_legend(figure, 380)


def _hover_safe(label: object) -> str:
    """A class name inside a plotly hover template: braces in it must not be read as ``%{field}``."""
    return str(label).replace("{", "(").replace("}", ")")


def calibration_figure(frame: pd.DataFrame) -> go.Figure:
    figure = _figure("Calibration (hold-out rows)", height=400, xaxis_title="Mean predicted probability",
                     yaxis_title="Observed share of the class")
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#adb5bd"},
                       name="perfectly calibrated", hoverinfo="skip")
    for label, part in frame.groupby("class", sort=False):
        figure.add_scatter(x=part["mean_predicted"], y=part["fraction_positive"], mode="lines+markers",
                           name=str(label), customdata=part["count"],
                           hovertemplate="predicted %{x:.2f}, observed %{y:.2f} (%{customdata} rows)<extra></extra>")
    return _curve_legend(figure, 400)


def parity_figure(frame: pd.DataFrame) -> go.Figure:
    shown = _sampled(frame)
    low, high = float(frame[["actual", "predicted"]].min().min()), float(frame[["actual", "predicted"]].max().max())
    figure = _figure("Predicted vs actual (hold-out rows)", height=380, xaxis_title="Actual",
                     yaxis_title="Predicted", showlegend=False)
    figure.add_scatter(x=[low, high], y=[low, high], mode="lines", line={"dash": "dot", "color": "#adb5bd"},
                       hoverinfo="skip")
    figure.add_scatter(x=shown["actual"], y=shown["predicted"], mode="markers", marker={"size": 6, "opacity": 0.6},
                       hovertemplate="actual %{x:.4g}, predicted %{y:.4g}<extra></extra>")
    return figure


def residuals_figure(frame: pd.DataFrame) -> go.Figure:
    shown = _sampled(frame)
    figure = _figure("Residuals (actual − predicted) vs predicted", height=380, xaxis_title="Predicted",
                     yaxis_title="Residual", showlegend=False)
    figure.add_hline(y=0, line_dash="dot", line_color="#adb5bd")
    figure.add_scatter(x=shown["predicted"], y=shown["residual"], mode="markers",
                       marker={"size": 6, "opacity": 0.6, "color": PALETTE[1]},
                       hovertemplate="predicted %{x:.4g}, residual %{y:.4g}<extra></extra>")
    return figure


def learning_curve_figure(frame: pd.DataFrame, metric: str) -> go.Figure:
    """Train and validation score by training-set size, ±1 std as a band."""
    label = metric_label(metric)
    figure = _figure(f"Learning curve ({label})", height=380, xaxis_title="Training rows", yaxis_title=label)
    for i, (split, part) in enumerate(frame.groupby("split", sort=False)):
        mean = part["score_mean"].map(lambda v: display_value(metric, v))
        color = PALETTE[i]
        band_x = list(part["train_size"]) + list(part["train_size"])[::-1]
        band_y = list(mean + part["score_std"]) + list(mean - part["score_std"])[::-1]
        figure.add_scatter(x=band_x, y=band_y, mode="lines", fill="toself", line={"width": 0}, fillcolor=color,
                           opacity=0.15, hoverinfo="skip", showlegend=False)
        figure.add_scatter(x=part["train_size"], y=mean, mode="lines+markers", name=split, line={"color": color},
                           hovertemplate=f"{split}: %{{y:.4f}} with %{{x}} rows<extra></extra>")
    return figure


def importance_figure(frame: pd.DataFrame, metric: str, top: int = 20) -> go.Figure:
    """Drop in score when one raw column is shuffled (permutation importance), most important on top."""
    shown = frame.head(top).iloc[::-1]
    figure = _figure("Permutation importance (hold-out rows)", height=max(280, 26 * len(shown) + 120),
                     showlegend=False,
                     xaxis_title=f"Drop in {metric_label(metric)} when the column is shuffled")
    figure.add_bar(y=shown["feature"], x=shown["importance_mean"], orientation="h", marker_color=PALETTE[0],
                   error_x={"type": "data", "array": shown["importance_std"], "color": "#1f2430"},
                   hovertemplate="%{y}: %{x:.4f}<extra></extra>")
    return figure


def prediction_figure(predictions: pd.Series, task: str | None) -> go.Figure:
    """How the predictions are distributed: counts per class or cluster, a histogram for numbers."""
    if task == "regression":
        figure = _figure("Predicted values", height=360, showlegend=False, xaxis_title="Prediction",
                         yaxis_title="Rows")
        figure.add_histogram(x=predictions, marker_color=PALETTE[0], nbinsx=40)
        return figure
    counts = predictions.astype(str).value_counts().head(30)
    title = "Rows per predicted cluster" if task == "clustering" else "Rows per predicted class"
    figure = _figure(title, height=360, showlegend=False, yaxis_title="Rows")
    figure.add_bar(x=counts.index, y=counts.to_numpy(), marker_color=PALETTE[0], text=counts.to_numpy(),
                   textposition="outside", hovertemplate="%{x}: %{y} rows<extra></extra>")
    figure.update_xaxes(type="category")
    return figure


def drift_figure(report: pd.DataFrame, psi_moderate: float, psi_drift: float) -> go.Figure:
    """PSI per column, drifted columns in orange, with the usual 0.1 / 0.2 thresholds."""
    shown = report.dropna(subset=["psi"]).sort_values("psi")
    shown = shown.assign(psi=shown["psi"].clip(lower=1e-4))  # a log axis cannot show 0
    colors = [PALETTE[1] if drifted else PALETTE[0] for drifted in shown["drifted"]]
    figure = _figure("Population stability index per column", height=max(260, 24 * len(shown) + 120),
                     showlegend=False, xaxis_title="PSI, new data vs training data (log scale)", xaxis_type="log")
    figure.add_bar(y=shown["column"], x=shown["psi"], orientation="h", marker_color=colors,
                   customdata=shown[["ks_statistic", "ks_pvalue"]].to_numpy(),
                   hovertemplate="%{y}: PSI %{x:.3f}<br>KS %{customdata[0]:.3f}, p=%{customdata[1]:.2g}<extra></extra>")
    for value, anchor in ((psi_moderate, "right"), (psi_drift, "left")):
        figure.add_vline(x=value, line_dash="dot", line_color="#868e96")
        # on a log axis an annotation's x is given in log10 units
        figure.add_annotation(x=math.log10(value), y=1, xref="x", yref="paper", yanchor="bottom", xanchor=anchor,
                              text=f"PSI {value:g}", showarrow=False, font={"size": 11, "color": "#868e96"})
    return figure


# ---- stored runs and their models (one shared cache for Compare, Predict and Pipelines) ---------------


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def loaded_model(artifact_id: int, sha256: str) -> Any:
    """A stored model, loaded (and checked) once per content hash; callers must not mutate it."""
    return models.load_stored_model(artifact_id)


def run_artifact(run_id: int) -> Any | None:
    """The run's saved model (the best one, saved when the run finished), if any."""
    return models.run_artifact(run_id)


def run_label(run: Any) -> str:
    """``Run #7 · done · 21 Nov 14:02 · best: Random forest``."""
    when = run.created_at.strftime("%d %b %H:%M") if run.created_at else ""
    best = best_model_label(run)
    parts = [f"Run #{run.id}", run.status, when] + ([f"best: {best}"] if best else [])
    return " · ".join(p for p in parts if p)


if __name__ == "__main__":  # opened by its address as the first run of a server: not a page
    from pages import common

    common.run_inside_app()

"""Plotly figures of a run's evaluation: scores across CV folds, tuning trials, and the hold-out charts
(confusion matrix, ROC, precision-recall, calibration, parity, residuals, learning curve, permutation importance).

The core returns plain frames (one row per point, bin or fold); these builders only arrange them for the eye.
The Compare page and the model report draw the same figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from pipeline_core.definition import metrics
from pipeline_core.reporting.style import LABEL_WIDTH, LINE_PX, PALETTE, display_value, metric_label, wrap_label
from pipeline_core.reporting.style import figure as _figure
from pipeline_core.reporting.style import lines as _lines


def error_bars(mean: pd.Series, std: pd.Series, metric: str) -> dict[str, Any]:
    """Plotly ``error_x`` for mean ± std, clipped to the values ``metric`` can take: an accuracy of 0.98 ± 0.05
    is drawn up to 1.0, not to an impossible 1.03."""
    low, high = metrics.BOUNDS.get(metric, (None, None))
    std = std.fillna(0)
    upper = (mean + std).clip(upper=high) - mean if high is not None else std
    lower = mean - (mean - std).clip(lower=low) if low is not None else std
    return {"type": "data", "symmetric": False, "array": upper.clip(lower=0).tolist(),
            "arrayminus": lower.clip(lower=0).tolist()}


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
    if "target_transform" in frame:  # the autopilot chose the target transform too: say which each trial had
        frame["params"] = frame["params"] + " · target: " + frame["target_transform"].fillna("as set").astype(str)
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



def holdout_figures(frames: Mapping[str, pd.DataFrame]) -> list[tuple[str, go.Figure]]:
    """The task's hold-out charts that have data, in reading order: confusion matrix, ROC, precision-recall,
    calibration (classification) or parity and residuals (regression); keyed by their frame's name."""
    builders = {"confusion_matrix": confusion_figure, "roc_curve": roc_figure, "pr_curve": pr_figure,
                "calibration": calibration_figure}
    figures = [(k, build(frames[k])) for k, build in builders.items() if k in frames and not frames[k].empty]
    residuals = frames.get("residuals")
    if residuals is not None and not residuals.empty:
        figures += [("parity", parity_figure(residuals)), ("residuals", residuals_figure(residuals))]
    return figures

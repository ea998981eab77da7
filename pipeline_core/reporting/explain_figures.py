"""Plotly figures of explanations: SHAP bar and beeswarm charts, partial dependence with ICE lines, one row's
contributions.

Columns sit on the vertical axis with their names wrapped (a long column name takes lines, not the plot's
width) and each figure grows with the lines they take. The beeswarm colours each dot by the row's value of
that column, as a rank within the sample (low blue, high red); columns without an order (categories, text,
dates) are grey, since a colour scale would suggest one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pipeline_core.analysis.dependence import DependenceCurve
from pipeline_core.analysis.explain import RowExplanations
from pipeline_core.analysis.explain_global import GlobalExplanation
from pipeline_core.reporting.style import LAYOUT, LINE_PX, PALETTE, wrap_label

BAR_PX = 26
TOP = 15  # columns shown in the bar chart and the beeswarm
ICE_LINES = 50
NEUTRAL = "#adb5bd"
VALUE_SCALE = [[0, "#3b5bdb"], [0.5, "#ced4da"], [1, "#e03131"]]


def _figure(title: str, labels: Sequence[str], per_label: int = BAR_PX, **layout: Any) -> go.Figure:
    """Each label gets the room its lines take (or ``per_label``), so wrapped names never run into each other."""
    slots = sum(max(per_label, LINE_PX * (label.count("<br>") + 1) + 16) for label in labels)
    height = max(280, 140 + slots + 18 * title.count("<br>"))
    figure = go.Figure()
    figure.update_layout(title=title, height=height, **{**LAYOUT, **layout})
    figure.update_yaxes(type="category", autorange="reversed", automargin=True)
    return figure


def _space(output_space: str, explained: list[str] | None) -> str:
    """What the values move, in words: 'log-odds of malignant', 'prediction', '… of each row's predicted class'."""
    if explained is None:
        return output_space
    classes = sorted(set(explained))
    return f"{output_space} of '{classes[0]}'" if len(classes) == 1 else f"{output_space} of each row's predicted class"


def shap_bar_figure(summary: GlobalExplanation, top: int = TOP) -> go.Figure:
    """Mean absolute contribution per column, largest on top."""
    importance = summary.importance().head(top)
    labels = [wrap_label(c) for c in importance["column"]]
    space = _space(summary.rows.output_space, summary.rows.explained_class)
    figure = _figure("Mean |SHAP value| per column", labels, showlegend=False,
                     xaxis_title=f"Average size of the column's contribution to the {space}")
    figure.add_bar(y=labels, x=importance["mean_abs_contribution"], orientation="h", marker_color=PALETTE[0],
                   hovertemplate="%{y}: %{x:.4g}<extra></extra>")
    return figure


def beeswarm_figure(summary: GlobalExplanation, top: int = TOP, seed: int = 0) -> go.Figure:
    """Every sampled row's contribution per column as a dot, jittered vertically, coloured by the row's value."""
    columns = summary.top_columns(top)
    labels = [wrap_label(c) for c in columns]
    space = _space(summary.rows.output_space, summary.rows.explained_class)
    figure = _figure("SHAP values of each row (colour: the row's value, low blue, high red)", labels, per_label=34,
                     showlegend=False, xaxis_title=f"Contribution to the {space}")
    rng = np.random.default_rng(seed)
    position = {c: i for i, c in enumerate(summary.rows.columns)}
    for row, column in enumerate(columns):
        values = summary.rows.contributions[:, position[column]]
        raw = summary.values[column]
        numeric = pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw)
        colour = raw.rank(pct=True).to_numpy() if numeric else None
        y = row + rng.uniform(-0.3, 0.3, size=len(values))
        shown = raw.astype(str).str.slice(0, 40).to_numpy()
        marker: dict[str, Any] = {"size": 5, "opacity": 0.7}
        if colour is not None:
            marker.update(color=np.nan_to_num(colour, nan=0.5), colorscale=VALUE_SCALE, cmin=0, cmax=1)
        else:
            marker.update(color=NEUTRAL)
        figure.add_scatter(x=values, y=y, mode="markers", marker=marker, customdata=shown,
                           hovertemplate=f"{column}=%{{customdata}}: %{{x:.4g}}<extra></extra>")
    figure.update_yaxes(type="linear", tickmode="array", tickvals=list(range(len(labels))), ticktext=labels,
                        range=[len(labels) - 0.5, -0.5], autorange=False, showgrid=False)
    figure.add_vline(x=0, line_color="#868e96", line_width=1)
    return figure


def dependence_figure(curve: DependenceCurve, seed: int = 0) -> go.Figure:
    """ICE lines (one per sampled row, faint) and their average, the partial dependence (bold)."""
    title = wrap_label(f"Partial dependence on {curve.column}", 44)
    figure = go.Figure()
    figure.update_layout(title=title, height=380 + 18 * title.count("<br>"), showlegend=False,
                         yaxis_title=wrap_label(curve.output, 40), xaxis_title=wrap_label(curve.column, 50),
                         **{**LAYOUT, "margin": {**LAYOUT["margin"], "t": 40 + 18 * title.count("<br>")}})
    figure.update_xaxes(automargin=True)
    x = [wrap_label(v, 16) for v in curve.grid] if curve.kind == "categorical" else curve.grid
    rng = np.random.default_rng(seed)
    lines = curve.individual
    if len(lines) > ICE_LINES:
        lines = lines[rng.choice(len(lines), ICE_LINES, replace=False)]
    for line in lines:
        figure.add_scatter(x=x, y=line, mode="lines" if curve.kind == "numeric" else "lines+markers",
                           line={"color": PALETTE[0], "width": 1}, opacity=0.18, hoverinfo="skip",
                           name="one row (ICE)")
    figure.add_scatter(x=x, y=curve.average, mode="lines+markers", line={"color": PALETTE[1], "width": 3},
                       name="average (partial dependence)", hovertemplate="%{x}: %{y:.4g}<extra></extra>")
    if curve.kind == "categorical":
        figure.update_xaxes(type="category")
    return figure


def row_figure(rows: RowExplanations, index: int, values: pd.Series, top: int = TOP) -> go.Figure:
    """One row's contributions, largest first: red pushes the output up, blue down; the rest summed in one bar."""
    contributions = pd.Series(rows.contributions[index], index=rows.columns)
    order = contributions.abs().sort_values(ascending=False).index
    shown, rest = list(order[:top]), list(order[top:])
    labels = [wrap_label(f"{c} = {str(values.get(c))[:30]}") for c in shown]
    amounts = [float(contributions[c]) for c in shown]
    if rest:
        labels.append(f"{len(rest)} other columns")
        amounts.append(float(contributions[rest].sum()))
    explained = rows.explained_class[index] if rows.explained_class else None
    space = rows.output_space + (f" of '{explained}'" if explained is not None else "")
    title = wrap_label(f"Base value {rows.base_values[index]:.4g} + contributions = {rows.outputs[index]:.4g} "
                       f"({space})", 90)
    figure = _figure(title, labels, showlegend=False, xaxis_title=f"Contribution to the {space}")
    figure.add_bar(y=labels, x=amounts, orientation="h",
                   marker_color=[PALETTE[3] if a > 0 else PALETTE[0] for a in amounts],
                   hovertemplate="%{y}: %{x:+.4g}<extra></extra>")
    figure.add_vline(x=0, line_color="#868e96", line_width=1)
    return figure

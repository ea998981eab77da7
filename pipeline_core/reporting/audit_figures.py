"""Plotly figures of a run's audit: metrics by group, the data's balance by group, and the worst error slices.

Groups and slices are bars on the vertical axis with their names wrapped, and each figure grows with the
lines its names take, so "region=Provence-Alpes-Côte d'Azur, age=(45.0, 62.0]" stays readable instead of
squeezing the plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from pipeline_core.analysis.error_slices import ErrorAnalysis, ErrorSlice
from pipeline_core.analysis.fairness import LABELS, FairnessReport
from pipeline_core.analysis.groups import DataBalance
from pipeline_core.reporting.style import LAYOUT, LINE_PX, PALETTE, wrap_label

SMALL = "#adb5bd"
BAR_PX = 26


def _figure(title: str, labels: Sequence[str], **layout: Any) -> go.Figure:
    lines = sum(label.count("<br>") + 1 for label in labels)
    height = max(260, 130 + max(BAR_PX * len(labels), LINE_PX * lines + 8 * len(labels)))
    figure = go.Figure()
    figure.update_layout(title=title, height=height, **{**LAYOUT, **layout})
    figure.update_yaxes(type="category", autorange="reversed", automargin=True)
    return figure


def group_metric_figure(report: FairnessReport, metric: str) -> go.Figure:
    """One bar per group with its bootstrap interval; groups too small to judge in grey; the overall value as a line."""
    groups = [g for g in report.groups if g.metrics.get(metric) is not None]
    labels = [wrap_label(g.group + (" (too small)" if g.too_small else "")) for g in groups]
    figure = _figure(f"{LABELS[metric]} by group (hold-out rows)", labels, showlegend=False,
                     xaxis_title=f"{LABELS[metric]} (bars: {report.rule.confidence:.0%} bootstrap interval)")
    for small in (False, True):  # groups too small to judge: grey, and no interval to draw
        shown = [(g, label) for g, label in zip(groups, labels, strict=True) if g.too_small == small]
        values = [g.metrics[metric] for g, _ in shown]
        bars = None
        if not small:
            intervals = [g.intervals.get(metric) or [v, v] for (g, _), v in zip(shown, values, strict=True)]
            bars = {"type": "data", "symmetric": False, "color": "#1f2430",
                    "array": [max((high if high is not None else v) - v, 0) for (_, high), v in zip(intervals, values,
                                                                                                    strict=True)],
                    "arrayminus": [max(v - (low if low is not None else v), 0) for (low, _), v in zip(intervals, values,
                                                                                                      strict=True)]}
        figure.add_bar(y=[label for _, label in shown], x=values, orientation="h", error_x=bars,
                       marker_color=SMALL if small else PALETTE[0], customdata=[g.size for g, _ in shown],
                       hovertemplate="%{x:.3f} on %{customdata} rows<extra></extra>")
    overall = report.overall.get(metric)
    if overall is not None:
        figure.add_vline(x=overall, line_dash="dash", line_color=PALETTE[1],
                         annotation_text=f"all rows {overall:.3f}", annotation_position="top")
    return figure


def balance_figure(balance: DataBalance, scope: str) -> go.Figure:
    """Classification: each group's rows split by class (stacked to 100%); regression: the target's mean ± std.
    ``scope`` says which rows, e.g. "all rows of the run"."""
    labels = [wrap_label(g.group + (" (too small)" if g.too_small else "")) for g in balance.groups]
    if balance.task != "classification":
        figure = _figure(f"Target by group ({scope})", labels, showlegend=False,
                         xaxis_title="Mean of the target (bars: ± one standard deviation)")
        figure.add_bar(y=labels, x=[g.label_rates["mean"] for g in balance.groups], orientation="h",
                       marker_color=PALETTE[0], error_x={"type": "data", "color": "#1f2430",
                                                         "array": [g.label_rates["std"] for g in balance.groups]})
        return figure
    figure = _figure(f"Label rates by group ({scope})", labels, barmode="stack",
                     xaxis_title="Share of the group's rows", xaxis_tickformat=".0%",
                     legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0, "traceorder": "normal"})
    for i, label in enumerate(balance.overall):
        figure.add_bar(y=labels, x=[g.label_rates.get(label, 0.0) for g in balance.groups], orientation="h",
                       name=wrap_label(label, 48), marker_color=PALETTE[i % len(PALETTE)],
                       customdata=[g.rows for g in balance.groups],
                       hovertemplate="%{fullData.name}: %{x:.1%} of %{customdata} rows<extra></extra>")
    return figure


def slices_figure(analysis: ErrorAnalysis, slices: Sequence[ErrorSlice]) -> go.Figure:
    """The worst slices' error next to the overall error (the dashed line)."""
    labels = [wrap_label(f"{s.column}: {s.slice}", 36) for s in slices]
    figure = _figure(f"Slices with the most excess error ({analysis.error_name})", labels, showlegend=False,
                     xaxis_title=analysis.error_name.capitalize())
    figure.add_bar(y=labels, x=[s.error for s in slices], orientation="h", marker_color=PALETTE[3],
                   customdata=[s.rows for s in slices], hovertemplate="%{x:.3f} on %{customdata} rows<extra></extra>")
    figure.add_vline(x=analysis.overall, line_dash="dash", line_color=PALETTE[0],
                     annotation_text=f"all rows {analysis.overall:.3f}", annotation_position="top")
    return figure


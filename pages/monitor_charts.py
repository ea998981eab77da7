"""The Monitor page's Plotly figures, built from :mod:`studio.monitoring`'s typed buckets.

Every figure shares one time axis (the bucket starts, UTC). Traffic draws an empty bucket as a zero bar, so a
quiet night reads as quiet; shares, quantiles and live performance leave empty buckets out (a share of no rows
is not 0%), and their lines join the buckets that have rows, so stacked areas and interval bands stay whole.
"""

from __future__ import annotations

import plotly.graph_objects as go

from pipeline_core.reporting.style import LAYOUT, PALETTE, wrap_label
from studio.monitor_drift import DriftOverTime
from studio.monitor_violations import ViolationsOverTime
from studio.monitoring import LivePerformance, PredictionDistribution, TrafficBucket

GREY = "#868e96"
METRIC_WORDS = {"accuracy": "Accuracy", "mean_absolute_error": "Mean absolute error"}


def _figure(title: str, **layout: object) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(title=title, **{**LAYOUT, "hovermode": "x unified", **layout})
    return figure


def traffic_figure(buckets: list[TrafficBucket]) -> go.Figure:
    """Rows scored per bucket (bars) and request latency p50/p95 (lines, right axis)."""
    starts = [b.start for b in buckets]
    figure = _figure("Rows scored and request latency", height=340, yaxis_title="rows scored",
                     yaxis2={"title": "latency (ms)", "overlaying": "y", "side": "right", "rangemode": "tozero",
                             "showgrid": False},
                     legend={"orientation": "h", "y": -0.2})
    figure.add_bar(x=starts, y=[b.rows for b in buckets], name="rows", marker_color="#d0ebff",
                   customdata=[b.requests for b in buckets],
                   hovertemplate="%{y:,} rows in %{customdata:,} request(s)<extra></extra>")
    for field, name, dash in (("latency_p50_ms", "latency, median", "solid"),
                              ("latency_p95_ms", "latency, 95th percentile", "dot")):
        figure.add_scatter(x=starts, y=[getattr(b, field) for b in buckets], name=name, yaxis="y2",
                           mode="lines+markers", line={"color": PALETTE[1], "dash": dash}, marker={"size": 4},
                           hovertemplate="%{y:.1f} ms<extra>" + name + "</extra>")
    return figure


def distribution_figure(distribution: PredictionDistribution) -> go.Figure:
    """Class shares per bucket (stacked areas), or the predicted values' median with 50% and 90% bands."""
    if distribution.kind == "classes":
        figure = _figure("Predicted classes: share of each bucket's rows", height=360,
                         yaxis={"title": "share of rows", "tickformat": ".0%", "range": [0, 1]},
                         legend={"title": "predicted class", "font": {"size": 11}})
        busy = [c for c in distribution.classes if c.rows]
        starts = [c.start for c in busy]
        for i, label in enumerate(distribution.labels):
            shares = [c.share(label) for c in busy]
            counts = [c.counts.get(label, 0) for c in busy]
            figure.add_scatter(x=starts, y=shares, name=wrap_label(label, 30), stackgroup="classes",
                               mode="lines", line={"width": 0.5, "color": PALETTE[i % len(PALETTE)]},
                               customdata=counts, hovertemplate="%{y:.1%} (%{customdata:,} rows)<extra>"
                               + wrap_label(label, 30) + "</extra>")
        return figure
    figure = _figure("Predicted values: median, 50% and 90% of the rows", height=360, yaxis_title="predicted value",
                     legend={"orientation": "h", "y": -0.2})
    busy = [v for v in distribution.values if v.quantiles]
    starts = [v.start for v in busy]
    quantile = [v.quantiles for v in busy]
    for low, high, name, opacity in ((0, 4, "5th–95th percentile", 0.15), (1, 3, "25th–75th percentile", 0.3)):
        figure.add_scatter(x=starts, y=[q[high] for q in quantile], mode="lines", line={"width": 0},
                           showlegend=False, hoverinfo="skip")
        figure.add_scatter(x=starts, y=[q[low] for q in quantile], mode="lines", line={"width": 0}, fill="tonexty",
                           fillcolor=f"rgba(59, 91, 219, {opacity})", name=name, hoverinfo="skip")
    figure.add_scatter(x=starts, y=[q[2] for q in quantile], name="median", mode="lines+markers",
                       line={"color": PALETTE[0]}, marker={"size": 4}, customdata=[v.rows for v in busy],
                       hovertemplate="median %{y:.4g} (%{customdata:,} rows)<extra></extra>")
    return figure


def performance_figure(performance: LivePerformance) -> go.Figure:
    """The live metric per bucket with its 95% interval, and the cross-validated estimate as a dashed line."""
    word = METRIC_WORDS.get(performance.metric, performance.metric)
    bounded = performance.metric == "accuracy"
    figure = _figure(f"{word} on rows whose true outcome has arrived", height=360,
                     yaxis={"title": word.lower(), **({"range": [0, 1.02]} if bounded else {"rangemode": "tozero"})},
                     legend={"orientation": "h", "y": -0.2})
    buckets = [b for b in performance.buckets if b.value is not None]
    starts = [b.start for b in buckets]
    figure.add_scatter(x=starts, y=[b.high for b in buckets], mode="lines", line={"width": 0}, showlegend=False,
                       hoverinfo="skip")
    figure.add_scatter(x=starts, y=[b.low for b in buckets], mode="lines", line={"width": 0}, fill="tonexty",
                       fillcolor="rgba(47, 158, 68, 0.18)", name="95% interval", hoverinfo="skip")
    figure.add_scatter(x=starts, y=[b.value for b in buckets], name=f"live {word.lower()}", mode="lines+markers",
                       line={"color": PALETTE[2]}, marker={"size": 5}, customdata=[b.rows for b in buckets],
                       hovertemplate="%{y:.3f} on %{customdata:,} labelled rows<extra></extra>")
    if performance.cv_estimate is not None:
        figure.add_hline(y=performance.cv_estimate, line_dash="dash", line_color=GREY,
                         annotation_text=f"cross-validated estimate {performance.cv_estimate:.3f}",
                         annotation_position="top left", annotation_font={"size": 11, "color": GREY})
    return figure


DRIFT_SCALE = [[0.0, "#f1f3f5"], [0.1 / 0.5, "#ffe8cc"], [0.2 / 0.5, "#ffa94d"], [1.0, "#d9480f"]]
"""PSI 0 to 0.5 and beyond: grey below 0.1 (stable), orange from 0.2 (the usual 'shifted' line), dark above."""


def drift_figure(drift: DriftOverTime, top: int = 15) -> go.Figure:
    """PSI per feature (rows, most drifted first) and bucket (columns); a ✕ marks a bucket the test calls drifted."""
    features = drift.features[:top]
    starts = sorted({cell.start for cell in drift.cells})
    psi = {(cell.feature, cell.start): cell.psi for cell in drift.cells}
    flagged = {(cell.feature, cell.start) for cell in drift.cells if cell.drifted}
    labels = [wrap_label(name, 28) for name in features]
    figure = _figure(f"Drift per feature against version {drift.version}'s training data (PSI)",
                     height=max(300, 34 * len(features) + 140), hovermode="closest",
                     yaxis={"autorange": "reversed", "automargin": True}, xaxis_title="bucket start (UTC)")
    figure.add_heatmap(x=starts, y=labels, z=[[psi.get((f, s)) for s in starts] for f in features], zmin=0, zmax=0.5,
                       colorscale=DRIFT_SCALE, colorbar={"title": "PSI"}, hoverongaps=False,
                       hovertemplate="%{y}<br>%{x}<br>PSI %{z:.3f}<extra></extra>")
    marks = [(s, wrap_label(f, 28)) for f in features for s in starts if (f, s) in flagged]
    if marks:
        figure.add_scatter(x=[m[0] for m in marks], y=[m[1] for m in marks], mode="markers", name="drifted",
                           marker={"symbol": "x-thin", "size": 9, "line": {"width": 2, "color": "#212529"}},
                           hoverinfo="skip")
    figure.update_layout(legend={"orientation": "h", "y": -0.15})
    return figure


def violations_figure(violations: ViolationsOverTime, top: int = 8) -> go.Figure:
    """The share of each bucket's rows breaking any quality rule (pale bars, left axis) and the rows breaking each
    rule (lines over them, right axis; the most broken rules)."""
    starts = [b.start for b in violations.buckets]
    figure = _figure("Rows breaking each quality rule", height=360,
                     yaxis={"title": "share of rows breaking any rule", "tickformat": ".0%", "rangemode": "tozero"},
                     yaxis2={"title": "rows breaking the rule", "overlaying": "y", "side": "right",
                             "rangemode": "tozero", "showgrid": False, "tickmode": "auto", "tickformat": ",d"},
                     legend={"orientation": "h", "y": -0.2, "font": {"size": 11}})
    figure.add_bar(x=starts, y=[b.rate for b in violations.buckets], name="share of rows breaking any rule",
                   marker_color="#ffe3e3", customdata=[b.rows for b in violations.buckets],
                   hovertemplate="%{y:.1%} of %{customdata:,} rows<extra></extra>")
    for i, rule in enumerate(violations.rules[:top]):
        name = wrap_label(rule.label(), 40)
        figure.add_scatter(x=starts, y=[b.per_rule.get(rule, 0) for b in violations.buckets], name=name, yaxis="y2",
                           mode="lines+markers", line={"color": PALETTE[i % len(PALETTE)]}, marker={"size": 4},
                           hovertemplate="%{y:,} rows<extra>" + name + "</extra>")
    return figure

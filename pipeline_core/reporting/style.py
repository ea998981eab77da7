"""The look every chart shares (palette, margins, wrapped labels) and metric names as people read them.

The pages and the model report draw with these, so a chart looks the same in the app and in a downloaded
report. Scores named ``neg_*`` by scikit-learn (losses negated so that higher is better) are shown as the
positive loss a data scientist expects, labelled without "(negated)".
"""

from __future__ import annotations

import textwrap
from typing import Any

import plotly.graph_objects as go

from pipeline_core.definition import metrics

PALETTE = ["#3b5bdb", "#f08c00", "#2f9e44", "#c2255c", "#7048e8", "#1098ad", "#e8590c", "#5c940d"]
LAYOUT = {"template": "plotly_white", "margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "colorway": PALETTE}
LABEL_WIDTH = 24  # characters per line of a class name on an axis or in a legend
LINE_PX = 15  # height of one line of axis or legend text


def metric_label(name: str) -> str:
    """The label a person reads, e.g. ``RMSE`` for ``neg_root_mean_squared_error``."""
    return metrics.LABELS.get(name, name).replace(" (negated)", "")


def display_value(name: str, value: float) -> float:
    """Losses stored negated come back positive (the rule is :func:`metrics.shown_value`'s)."""
    return metrics.shown_value(name, value)


def wrap_label(text: object, width: int = LABEL_WIDTH) -> str:
    """A class name broken into lines of at most ``width`` characters (plotly's ``<br>``), so a long name such as
    "Chronic obstructive pulmonary disease — severe exacerbation" takes height, not the plot's width."""
    return "<br>".join(textwrap.wrap(str(text), width, break_long_words=True)) or str(text)


def lines(text: str) -> int:
    """Lines a wrapped label takes."""
    return text.count("<br>") + 1


def figure(title: str, **layout: Any) -> go.Figure:
    """An empty figure with the shared layout, ``layout`` on top."""
    built = go.Figure()
    built.update_layout(title=title, **{**LAYOUT, **layout})
    return built

"""A report as plain data: sections of text, key-value facts, tables and Plotly charts.

Section builders fill these from the core's typed results; :mod:`pipeline_core.reporting.html` renders them.
Keeping the two apart means no builder writes markup, so no builder can forget to escape a value: every
string here is text, and only the renderer turns it into HTML (escaping it on the way).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
import plotly.graph_objects as go

Tone = Literal["plain", "note", "ok", "warning", "alert"]
MAX_TABLE_ROWS = 200  # a report stays readable (and small) on very wide data; the table says what it left out


@dataclass(frozen=True)
class Text:
    """A paragraph; ``tone`` other than plain draws it as a coloured call-out."""

    text: str
    tone: Tone = "plain"


@dataclass(frozen=True)
class Facts:
    """Label-value pairs, drawn as a two-column table."""

    pairs: list[tuple[str, str]]


@dataclass(frozen=True)
class Table:
    """A table of text cells; ``note`` says what was left out, if anything."""

    columns: list[str]
    rows: list[list[str]]
    note: str = ""

    @classmethod
    def of(cls, frame: pd.DataFrame, *, formats: Mapping[str, Callable[[Any], str]] | None = None,
           limit: int = MAX_TABLE_ROWS) -> Table:
        """A frame's first ``limit`` rows as text: numbers to 4 significant digits unless ``formats`` says."""
        formats = formats or {}
        shown = frame.head(limit)
        rows = [[formats.get(str(column), cell_text)(value) for column, value in zip(frame.columns, row, strict=True)]
                for row in shown.itertuples(index=False, name=None)]
        note = f"The first {limit:,} of {len(frame):,} rows." if len(frame) > limit else ""
        return cls([str(c) for c in frame.columns], rows, note)


@dataclass(frozen=True)
class Chart:
    """A Plotly figure, drawn interactively by the plotly.js embedded in the report."""

    figure: go.Figure
    caption: str = ""


Block = Text | Facts | Table | Chart


@dataclass(frozen=True)
class Section:
    """One part of a report: ``key`` is its anchor, ``summary`` one line saying what it holds (for previews)."""

    key: str
    title: str
    summary: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def charts(self) -> int:
        return sum(isinstance(block, Chart) for block in self.blocks)


@dataclass(frozen=True)
class Document:
    """A whole report: a title, a line under it, and its sections in reading order."""

    title: str
    subtitle: str
    sections: Sequence[Section]


def cell_text(value: Any) -> str:
    """A table cell as people read it: empty for missing, 4 significant digits for floats, else ``str``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):  # lists and arrays have no single truth value
        pass
    return str(value)

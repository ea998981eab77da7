"""Data overview for the explore screen: summary numbers and plot-ready tidy tables.

The core never draws: it returns DataFrames the UI (or a report, or the CLI) plots as it
likes, which also makes every number testable against pandas. This module is the entry point:
:func:`summarise` reads the data once (``column_summary``, ``overview_tables``) and
:func:`with_target` adds how the features relate to a target (``target_relations``) without
reading it again, so a 1,000,000 x 20 mixed frame is summarised in about a second or two.

The full ydata-profiling report is in ``report.py``; one column's value counts in ``value_counts.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from pipeline_core.analysis.column_summary import ColumnSummary, summarise_columns
from pipeline_core.analysis.overview_tables import (
    MAX_CORRELATION_COLUMNS,
    correlated_columns,
    correlation_matrix,
    count_duplicate_rows,
    histogram_table,
    missing_table,
    stats_table,
)
from pipeline_core.analysis.target_relations import relate_to_target
from pipeline_core.compiler.schema import DataSchema
from pipeline_core.errors import DataError

MEMORY_EXACT_ROWS = 200_000
# What summarising holds per column and per cell (float values, row hash, level codes, sort buffers,
# histogram rows), measured with tracemalloc and rounded up: the estimate is compared with the memory
# budget before anything is computed, so it errs on the large side.
SUMMARY_COLUMN_BYTES = 32 * 2**10
SUMMARY_CELL_BYTES = 64


@dataclass
class Overview:
    """What the explore screen shows, as plain numbers and tidy DataFrames.

    ``histograms`` holds numeric bins (``kind="numeric"``: bin_left, bin_right, count) and the
    top values of the other columns (``kind="categorical"``: value, count), one frame so a
    chart can filter by ``column``. ``target_relations`` is per feature: for a numeric target
    (feature, measure, value) with Pearson r or the correlation ratio; for a categorical
    target (feature, target_class, level, count, mean): per-class means of numeric features
    and per-class counts of each feature's top levels. ``target_kind`` says which: "numeric",
    "categorical" (also a numeric or date target with few distinct values, each one a class) or
    "datetime": a date target related as a point in time, in the numeric target's columns.
    """

    shape: tuple[int, int]
    memory_bytes: int
    dtypes: dict[str, str]
    missing: pd.DataFrame
    duplicate_rows: int
    stats: pd.DataFrame
    histograms: pd.DataFrame
    correlation: pd.DataFrame
    target: str | None = None
    target_kind: str | None = None
    target_relations: pd.DataFrame = field(default_factory=pd.DataFrame)
    numeric_columns: int = 0  # all of them; ``correlation`` covers the first MAX_CORRELATION_COLUMNS only


@dataclass
class Summary:
    """The target-independent part of an overview, for one dataset (treat as read-only).

    Summarising reads every value (seconds on a million rows), while relating the features
    to a target only needs each column's float values or level codes: keeping them here
    makes choosing another target a handful of ``bincount`` calls instead of a new summary.
    """

    overview: Overview  # without a target
    columns: list[ColumnSummary]


def overview(frame: pd.DataFrame, target: str | None = None) -> Overview:
    """Summarise ``frame`` for display; ``target`` adds how each feature relates to it."""
    if target is not None and target not in frame.columns:
        raise DataError(f"Target column '{target}' is not in the data. Pick one of its columns as the target.")
    return with_target(summarise(frame), target)


def summarise(frame: pd.DataFrame, *, memory_budget_bytes: int | None = None,
              budget_setting: str = "the memory budget") -> Summary:
    """Everything :func:`overview` computes that does not depend on the target, linear in rows and columns.

    Pairwise work (correlations) covers the first ``MAX_CORRELATION_COLUMNS`` numeric columns only: a
    30 x 20,000 upload once took gigabytes here. With ``memory_budget_bytes`` a frame whose summary would
    not fit is refused before anything is computed (:func:`check_summary_budget`); ``budget_setting`` names
    what raises the budget (the caller knows: an environment variable in the app, an option in the CLI).
    """
    if memory_budget_bytes is not None:
        check_summary_budget(frame, memory_budget_bytes, budget_setting)
    columns = summarise_columns(frame)
    n_rows = len(frame)
    numeric = [c for c in columns if c.values is not None and c.type != "boolean"]
    base = Overview(
        shape=(n_rows, frame.shape[1]),
        memory_bytes=memory_bytes(frame),
        dtypes={str(c): str(t) for c, t in frame.dtypes.items()},
        missing=missing_table(columns, n_rows),
        duplicate_rows=count_duplicate_rows(columns, n_rows),
        stats=stats_table(columns, n_rows),
        histograms=histogram_table(columns),
        correlation=correlation_matrix(correlated_columns(numeric)),
        numeric_columns=len(numeric),
    )
    return Summary(base, [_kept(c) for c in columns])


def summarise_schema(frame: pd.DataFrame, schema: DataSchema, *, dropped: bool = True,
                     memory_budget_bytes: int | None = None, budget_setting: str = "the memory budget") -> Summary:
    """:func:`summarise` of the data as the pipeline reads it: the schema's names, types and roles.

    The columns are ``schema.view(frame)`` (renamed, left-out ones gone, dates read as dates, overridden
    types applied); ``dropped=False`` also leaves out the columns that never reach the model. The statistics
    table's ``type`` is the schema's (the one training uses), next to each column's ``role``.
    """
    summary = summarise(schema.view(frame, dropped=dropped), memory_budget_bytes=memory_budget_bytes,
                        budget_setting=budget_setting)
    stats = summary.overview.stats.copy()
    stats["type"] = [schema[name].type for name in stats["column"]]
    stats.insert(2, "role", [schema[name].role for name in stats["column"]])
    return replace(summary, overview=replace(summary.overview, stats=stats))


def with_target(summary: Summary, target: str | None) -> Overview:
    """The overview of ``summary`` with how each feature relates to ``target`` (none: as summarised)."""
    if target is None:
        return replace(summary.overview)
    by_name = {c.name: c for c in summary.columns}
    if str(target) not in by_name:
        raise DataError(f"Target column '{target}' is not in the data. Pick one of its columns as the target.")
    kind, relations = relate_to_target(by_name[str(target)], [c for c in summary.columns if c.name != str(target)],
                                       summary.overview.correlation, summary.overview.shape[0])
    return replace(summary.overview, target=str(target), target_kind=kind, target_relations=relations)


def estimate_summary_bytes(frame: pd.DataFrame) -> int:
    """Memory summarising ``frame`` takes at most, from its shape alone: linear in columns and in cells."""
    n_rows, n_cols = frame.shape
    pairwise = 5 * 8 * min(n_cols, MAX_CORRELATION_COLUMNS) ** 2  # the correlation's k x k matrices
    return n_cols * (SUMMARY_COLUMN_BYTES + n_rows * SUMMARY_CELL_BYTES) + pairwise


def check_summary_budget(frame: pd.DataFrame, budget_bytes: int, setting: str = "the memory budget") -> None:
    """Refuse, before computing, an overview the memory budget cannot hold; the message names the budget."""
    estimate = estimate_summary_bytes(frame)
    if estimate > budget_bytes:
        n_rows, n_cols = frame.shape
        raise DataError(
            f"The overview of this table ({n_rows:,} rows x {n_cols:,} columns) would take about "
            f"{estimate / 2**20:,.0f} MB, more than the {budget_bytes / 2**20:,.0f} MB memory budget. "
            f"Upload a smaller extract (fewer columns or rows), or ask the administrator to raise {setting}."
        )


def _kept(column: ColumnSummary) -> ColumnSummary:
    """What the target relations need of a column, smaller: no row hashes, level codes as int32."""
    codes = column.codes
    if codes is not None and len(column.levels or []) < np.iinfo(np.int32).max:
        codes = codes.astype(np.int32)
    return replace(column, row_hash=None, codes=codes)


def memory_bytes(frame: pd.DataFrame, *, exact_rows: int = MEMORY_EXACT_ROWS, seed: int = 0) -> int:
    """Deep memory use; text columns of long frames are measured on a sample of rows and scaled.

    Measuring every Python string costs ~0.1 s per million cells, so beyond ``exact_rows`` the
    object columns are estimated (typically within a few percent); other dtypes are always exact.
    """
    n = len(frame)
    if n <= exact_rows:
        return int(frame.memory_usage(deep=True, index=True).sum())
    total = int(frame.index.memory_usage(deep=False))
    rows = np.random.default_rng(seed).choice(n, size=exact_rows // 2, replace=False)
    for i in range(frame.shape[1]):
        col = frame.iloc[:, i]
        if col.dtype == object:
            total += int(col.iloc[rows].memory_usage(deep=True, index=False) * n / rows.size)
        else:
            total += int(col.memory_usage(deep=True, index=False))
    return total

"""The target-independent tables of the overview, assembled from the column summaries.

Missing values, per-column statistics, histograms, duplicate rows and the correlation matrix
are plain DataFrames (the core never draws), so the UI, a report or the CLI can plot them and
every number can be tested against pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_core.analysis.column_summary import ColumnSummary

CORRELATION_CHUNK_ROWS = 131_072
# Pairwise work grows with the square of the columns (20,000 columns: 3.2 GB per k x k matrix), so the
# correlation matrix covers at most this many numeric columns (the first ones, in frame order);
# callers state the cap wherever they show it. Everything else in the overview is linear in the columns.
MAX_CORRELATION_COLUMNS = 100
STAT_COLUMNS = ["column", "type", "non_null", "missing_pct", "unique", "mean", "std", "min", "p25", "median", "p75",
                "max", "top_value", "top_freq"]
HISTOGRAM_COLUMNS = ["column", "kind", "bin_left", "bin_right", "value", "count"]


def missing_table(columns: list[ColumnSummary], n_rows: int) -> pd.DataFrame:
    """Missing values per column, as a count and a percentage of the rows."""
    missing = [c.missing for c in columns]
    return pd.DataFrame({"column": [c.name for c in columns], "missing": missing,
                         "missing_pct": [100.0 * m / n_rows if n_rows else 0.0 for m in missing]})


def stats_table(columns: list[ColumnSummary], n_rows: int) -> pd.DataFrame:
    """One row of ``STAT_COLUMNS`` per column; statistics a column lacks are NaN so the dtypes stay float."""
    rows = []
    for c in columns:
        rows.append({"column": c.name, "type": c.type, "non_null": n_rows - c.missing,
                     "missing_pct": 100.0 * c.missing / n_rows if n_rows else 0.0, "unique": c.unique,
                     **{k: c.stats.get(k, np.nan) for k in STAT_COLUMNS[5:12]},
                     "top_value": c.top_value, "top_freq": c.top_freq})
    table = pd.DataFrame(rows, columns=STAT_COLUMNS)
    return table.astype({k: "float64" for k in STAT_COLUMNS[5:12]})


def histogram_table(columns: list[ColumnSummary]) -> pd.DataFrame:
    """Every column's bins or top values in one tidy frame, so a chart can filter by ``column``."""
    rows = [row for c in columns for row in c.histogram]
    return pd.DataFrame(rows, columns=HISTOGRAM_COLUMNS).astype({"bin_left": "float64", "bin_right": "float64"})


def count_duplicate_rows(columns: list[ColumnSummary], n_rows: int) -> int:
    """Rows equal to an earlier row, via a combined 64-bit row hash (collisions are vanishingly rare)."""
    if n_rows == 0 or not columns:
        return 0
    combined = np.zeros(n_rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in columns:
            combined = combined * np.uint64(0x100000001B3) ^ c.row_hash
    return n_rows - int(pd.unique(combined).size)


def correlated_columns(numeric: list[ColumnSummary], cap: int = MAX_CORRELATION_COLUMNS) -> list[ColumnSummary]:
    """The numeric columns the correlation matrix covers: the first ``cap``, in frame order.

    The first ones, not a chosen few, so the subset is easy to state and the same on every run; the
    cap keeps the k x k matrices (and their memory) bounded however wide the upload is.
    """
    return numeric[:cap]


def correlation_matrix(numeric: list[ColumnSummary]) -> pd.DataFrame:
    """Pearson r over pairwise-complete rows (like ``DataFrame.corr``), as a few chunked matrix products.

    Memory is quadratic in ``len(numeric)``: pass :func:`correlated_columns`, never every column of wide data.
    """
    names = [c.name for c in numeric]
    if not numeric:
        return pd.DataFrame(index=names, columns=names, dtype="float64")
    k = len(numeric)
    means = np.array([c.stats["mean"] if np.isfinite(c.stats["mean"]) else 0.0 for c in numeric])
    n_pairs, sums, squares, products = (np.zeros((k, k)) for _ in range(4))
    n_rows = numeric[0].values.size
    for start in range(0, n_rows, CORRELATION_CHUNK_ROWS):
        block = np.column_stack([c.values[start:start + CORRELATION_CHUNK_ROWS] for c in numeric]) - means
        valid = np.isfinite(block)
        centred = np.where(valid, block, 0.0)
        mask = valid.astype(np.float64)
        n_pairs += mask.T @ mask
        sums += centred.T @ mask
        squares += (centred * centred).T @ mask
        products += centred.T @ centred
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = products - sums * sums.T / n_pairs
        var = squares - sums * sums / n_pairs
        corr = cov / np.sqrt(var * var.T)
    corr = np.clip(corr, -1.0, 1.0)
    corr[n_pairs < 2] = np.nan
    return pd.DataFrame(corr, index=names, columns=names)

"""One pass over each column, from which every table of the overview is assembled.

Everything is vectorised: one sort per numeric column gives its quantiles, histogram, distinct
count and mode; one factorize per other column gives its counts, top values and a hash for
duplicate rows. Doing it once per column, in parallel, is what keeps a 1,000,000 x 20 mixed
frame to a second or two; the summaries keep the values or level codes the target relations need.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

HISTOGRAM_BINS = 30
TOP_VALUES = 20
TEXT_MIN_MEAN_WORDS = 4
NAT_INT = np.iinfo(np.int64).min  # how numpy stores NaT in an int64 view


@dataclass
class ColumnSummary:
    """One column summarised once; every table of the overview is assembled from these."""

    name: str
    type: str
    missing: int
    unique: int
    top_value: str | None
    top_freq: int
    stats: dict[str, float]
    histogram: list[dict[str, Any]]
    row_hash: np.ndarray | None  # dropped once the duplicate rows are counted
    values: np.ndarray | None = None  # float64 with NaN, numeric columns only
    codes: np.ndarray | None = None  # int64 (int32 in a Summary), -1 for missing, non-numeric columns only
    levels: list[str] | None = None
    times: np.ndarray | None = None  # int64 nanoseconds (UTC), NAT_INT for missing, datetime columns only


def summarise_columns(frame: pd.DataFrame) -> list[ColumnSummary]:
    """Per-column summaries, in parallel: numpy sorts and pandas factorize release the GIL for long stretches."""
    workers = max(1, min(4, os.cpu_count() or 1))
    series = [frame.iloc[:, i] for i in range(frame.shape[1])]
    if workers == 1 or len(frame) < 50_000:
        return [_summarise(s) for s in series]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_summarise, series))


def _summarise(series: pd.Series) -> ColumnSummary:
    name, dtype = str(series.name), series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return _categorical(name, series, "boolean")
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return _numeric(name, series.to_numpy(dtype="float64", na_value=np.nan))
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _datetime(name, series)
    return _categorical(name, series, None)


def _numeric(name: str, values: np.ndarray) -> ColumnSummary:
    finite = np.sort(values[np.isfinite(values)])
    unique, top, freq = _sorted_uniques(finite)
    stats = {"mean": np.nan, "std": np.nan, "min": np.nan, "p25": np.nan, "median": np.nan, "p75": np.nan,
             "max": np.nan}
    if finite.size:
        q25, q50, q75 = _sorted_quantiles(finite, (0.25, 0.5, 0.75))
        stats.update(mean=float(finite.mean()), std=float(finite.std(ddof=1)) if finite.size > 1 else np.nan,
                     min=float(finite[0]), p25=q25, median=q50, p75=q75, max=float(finite[-1]))
    missing = int(np.isnan(values).sum())
    return ColumnSummary(
        name, _value_type("numeric", unique, len(values) - missing), missing, unique,
        None if top is None else level_label(top), freq, stats, _numeric_histogram(name, finite, unique),
        pd.util.hash_array(values), values=values,
    )


def _datetime(name: str, series: pd.Series) -> ColumnSummary:
    naive = series.dt.tz_convert("UTC").dt.tz_localize(None) if series.dt.tz is not None else series
    ints = naive.to_numpy(dtype="datetime64[ns]").view("int64")
    nat = ints == NAT_INT
    ordered = np.sort(ints[~nat])
    unique, top, freq = _sorted_uniques(ordered)
    top_label = None if top is None else str(pd.Timestamp(top))
    return ColumnSummary(
        name, _value_type("datetime", unique, int((~nat).sum())), int(nat.sum()), unique, top_label, freq,
        {}, [], pd.util.hash_array(ints), times=ints,
    )


def _categorical(name: str, series: pd.Series, kind: str | None) -> ColumnSummary:
    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists, dicts): summarise their text form
        codes, uniques = pd.factorize(series.map(lambda v: None if v is None else str(v)))
    codes = np.asarray(codes, dtype=np.int64)
    present = codes >= 0
    counts = np.bincount(codes[present], minlength=len(uniques))
    levels = [level_label(u) for u in uniques]
    top = int(np.argmax(counts)) if len(counts) else None
    kind = kind or _string_kind(series)
    stats = {"mean": counts[levels.index("True")] / counts.sum()} if kind == "boolean" and "True" in levels else {}
    return ColumnSummary(
        name, _value_type(kind, len(uniques), int(present.sum())), int((~present).sum()), len(uniques),
        None if top is None else levels[top], int(counts[top]) if top is not None else 0, stats,
        _top_values(name, counts, levels), pd.util.hash_array(codes), codes=codes, levels=levels,
    )


def _string_kind(series: pd.Series) -> str:
    head = series.iloc[:2000].dropna()
    if head.empty or not all(isinstance(v, str) for v in head.iloc[:50]):
        return "categorical"
    words = head.astype(str).str.split().str.len().mean()
    return "text" if words >= TEXT_MIN_MEAN_WORDS else "categorical"


def _value_type(kind: str, unique: int, present: int) -> str:
    if present == 0:
        return "empty"
    return "constant" if unique == 1 else kind


def _sorted_uniques(ordered: np.ndarray) -> tuple[int, Any, int]:
    """(distinct count, most frequent value, its count) from a sorted array, in O(n)."""
    if ordered.size == 0:
        return 0, None, 0
    starts = np.concatenate(([0], np.flatnonzero(ordered[1:] != ordered[:-1]) + 1))
    lengths = np.diff(np.append(starts, ordered.size))
    best = int(np.argmax(lengths))
    return int(starts.size), ordered[starts[best]].item(), int(lengths[best])


def _sorted_quantiles(ordered: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """numpy's default (linear) quantiles, read off an already sorted array."""
    out = []
    for q in qs:
        pos = q * (ordered.size - 1)
        lo = int(np.floor(pos))
        hi = min(lo + 1, ordered.size - 1)
        out.append(float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)))
    return out


def _numeric_histogram(name: str, ordered: np.ndarray, unique: int) -> list[dict[str, Any]]:
    if ordered.size == 0:
        return []
    low, high = float(ordered[0]), float(ordered[-1])
    edges = np.linspace(low, high, min(HISTOGRAM_BINS, max(unique, 1)) + 1) if high > low else np.array([low, high])
    idx = np.searchsorted(ordered, edges, side="left")
    idx[-1] = ordered.size  # the last bin is closed on the right, as in numpy.histogram
    counts = np.diff(idx)
    return [{"column": name, "kind": "numeric", "bin_left": float(edges[i]), "bin_right": float(edges[i + 1]),
             "value": None, "count": int(counts[i])} for i in range(counts.size)]


def _top_values(name: str, counts: np.ndarray, levels: list[str]) -> list[dict[str, Any]]:
    if counts.size == 0:
        return []
    top = np.argsort(-counts, kind="stable")[:TOP_VALUES]
    rows = [{"column": name, "kind": "categorical", "bin_left": np.nan, "bin_right": np.nan, "value": levels[i],
             "count": int(counts[i])} for i in top]
    rest = int(counts.sum() - counts[top].sum())
    if rest:
        rows.append({"column": name, "kind": "categorical", "bin_left": np.nan, "bin_right": np.nan,
                     "value": f"(other {counts.size - top.size:,} values)", "count": rest})
    return rows


def level_label(value: Any) -> str:
    """A value as shown in tables: whole floats without ``.0`` so a level reads the same as an integer one."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)

"""Data overview for the explore screen: summary numbers and plot-ready tidy tables.

The core never draws: it returns DataFrames the UI (or a report, or the CLI) plots as it
likes, which also makes every number testable against pandas. Everything is vectorised -
one sort per numeric column gives its quantiles, histogram, distinct count and mode; one
factorize per other column gives its counts, top values and a hash for duplicate rows - so
a 1,000,000 x 20 mixed frame is summarised in about a second or two.

The full ydata-profiling report is separate: slow, computed on a seeded sample, and meant to
be shown through :func:`sandboxed_report_html` because it echoes column names as raw HTML.
"""

from __future__ import annotations

import functools
import html
import os
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from pipeline_core.errors import DataError

HISTOGRAM_BINS = 30
TOP_VALUES = 20
RELATION_LEVELS = 10
MAX_TARGET_CLASSES = 20
NUMERIC_TARGET_MIN_UNIQUE = 20
TEXT_MIN_MEAN_WORDS = 4
CORRELATION_CHUNK_ROWS = 131_072
MEMORY_EXACT_ROWS = 200_000
NAT_INT = np.iinfo(np.int64).min  # how numpy stores NaT in an int64 view
NO_ANALYTICS_ENV = "YDATA_PROFILING_NO_ANALYTICS"  # otherwise every report phones home
STAT_COLUMNS = ["column", "type", "non_null", "missing_pct", "unique", "mean", "std", "min", "p25", "median", "p75",
                "max", "top_value", "top_freq"]
HISTOGRAM_COLUMNS = ["column", "kind", "bin_left", "bin_right", "value", "count"]


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


@dataclass
class _Column:
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


# ---------------------------------------------------------------- overview


@dataclass
class Summary:
    """The target-independent part of an overview, for one dataset (treat as read-only).

    Summarising reads every value (seconds on a million rows), while relating the features
    to a target only needs each column's float values or level codes: keeping them here
    makes choosing another target a handful of ``bincount`` calls instead of a new summary.
    """

    overview: Overview  # without a target
    columns: list[_Column]


def overview(frame: pd.DataFrame, target: str | None = None) -> Overview:
    """Summarise ``frame`` for display; ``target`` adds how each feature relates to it."""
    if target is not None and target not in frame.columns:
        raise DataError(f"Target column '{target}' is not in the data. Pick one of its columns as the target.")
    return with_target(summarise(frame), target)


def summarise(frame: pd.DataFrame) -> Summary:
    """Everything :func:`overview` computes that does not depend on the target."""
    columns = _summarise_all(frame)
    n_rows = len(frame)
    numeric = [c for c in columns if c.values is not None and c.type != "boolean"]
    base = Overview(
        shape=(n_rows, frame.shape[1]),
        memory_bytes=memory_bytes(frame),
        dtypes={str(c): str(t) for c, t in frame.dtypes.items()},
        missing=_missing_table(columns, n_rows),
        duplicate_rows=_duplicate_rows(columns, n_rows),
        stats=_stats_table(columns, n_rows),
        histograms=_histogram_table(columns),
        correlation=_correlation(numeric),
    )
    return Summary(base, [_kept(c) for c in columns])


def with_target(summary: Summary, target: str | None) -> Overview:
    """The overview of ``summary`` with how each feature relates to ``target`` (none: as summarised)."""
    if target is None:
        return replace(summary.overview)
    by_name = {c.name: c for c in summary.columns}
    if str(target) not in by_name:
        raise DataError(f"Target column '{target}' is not in the data. Pick one of its columns as the target.")
    kind, relations = _target_relations(by_name[str(target)], [c for c in summary.columns if c.name != str(target)],
                                        summary.overview.correlation, summary.overview.shape[0])
    return replace(summary.overview, target=str(target), target_kind=kind, target_relations=relations)


def _kept(column: _Column) -> _Column:
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


def _summarise_all(frame: pd.DataFrame) -> list[_Column]:
    """Per-column summaries, in parallel: numpy sorts and pandas factorize release the GIL for long stretches."""
    workers = max(1, min(4, os.cpu_count() or 1))
    series = [frame.iloc[:, i] for i in range(frame.shape[1])]
    if workers == 1 or len(frame) < 50_000:
        return [_summarise(s) for s in series]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_summarise, series))


def _summarise(series: pd.Series) -> _Column:
    name, dtype = str(series.name), series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return _categorical(name, series, "boolean")
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return _numeric(name, series.to_numpy(dtype="float64", na_value=np.nan))
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _datetime(name, series)
    return _categorical(name, series, None)


def _numeric(name: str, values: np.ndarray) -> _Column:
    finite = np.sort(values[np.isfinite(values)])
    unique, top, freq = _sorted_uniques(finite)
    stats = {"mean": np.nan, "std": np.nan, "min": np.nan, "p25": np.nan, "median": np.nan, "p75": np.nan,
             "max": np.nan}
    if finite.size:
        q25, q50, q75 = _sorted_quantiles(finite, (0.25, 0.5, 0.75))
        stats.update(mean=float(finite.mean()), std=float(finite.std(ddof=1)) if finite.size > 1 else np.nan,
                     min=float(finite[0]), p25=q25, median=q50, p75=q75, max=float(finite[-1]))
    missing = int(np.isnan(values).sum())
    return _Column(name, _value_type("numeric", unique, len(values) - missing), missing, unique,
                   None if top is None else _label(top), freq, stats, _numeric_histogram(name, finite, unique),
                   pd.util.hash_array(values), values=values)


def _datetime(name: str, series: pd.Series) -> _Column:
    naive = series.dt.tz_convert("UTC").dt.tz_localize(None) if series.dt.tz is not None else series
    ints = naive.to_numpy(dtype="datetime64[ns]").view("int64")
    nat = ints == NAT_INT
    ordered = np.sort(ints[~nat])
    unique, top, freq = _sorted_uniques(ordered)
    top_label = None if top is None else str(pd.Timestamp(top))
    return _Column(name, _value_type("datetime", unique, int((~nat).sum())), int(nat.sum()), unique, top_label, freq,
                   {}, [], pd.util.hash_array(ints), times=ints)


def _categorical(name: str, series: pd.Series, kind: str | None) -> _Column:
    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists, dicts): summarise their text form
        codes, uniques = pd.factorize(series.map(lambda v: None if v is None else str(v)))
    codes = np.asarray(codes, dtype=np.int64)
    present = codes >= 0
    counts = np.bincount(codes[present], minlength=len(uniques))
    levels = [_label(u) for u in uniques]
    top = int(np.argmax(counts)) if len(counts) else None
    kind = kind or _string_kind(series)
    stats = {"mean": counts[levels.index("True")] / counts.sum()} if kind == "boolean" and "True" in levels else {}
    return _Column(name, _value_type(kind, len(uniques), int(present.sum())), int((~present).sum()), len(uniques),
                   None if top is None else levels[top], int(counts[top]) if top is not None else 0, stats,
                   _top_values(name, counts, levels), pd.util.hash_array(codes), codes=codes, levels=levels)


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


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------- tables


def _missing_table(columns: list[_Column], n_rows: int) -> pd.DataFrame:
    missing = [c.missing for c in columns]
    return pd.DataFrame({"column": [c.name for c in columns], "missing": missing,
                         "missing_pct": [100.0 * m / n_rows if n_rows else 0.0 for m in missing]})


def _stats_table(columns: list[_Column], n_rows: int) -> pd.DataFrame:
    rows = []
    for c in columns:
        rows.append({"column": c.name, "type": c.type, "non_null": n_rows - c.missing,
                     "missing_pct": 100.0 * c.missing / n_rows if n_rows else 0.0, "unique": c.unique,
                     **{k: c.stats.get(k, np.nan) for k in STAT_COLUMNS[5:12]},
                     "top_value": c.top_value, "top_freq": c.top_freq})
    table = pd.DataFrame(rows, columns=STAT_COLUMNS)
    return table.astype({k: "float64" for k in STAT_COLUMNS[5:12]})


def _histogram_table(columns: list[_Column]) -> pd.DataFrame:
    rows = [row for c in columns for row in c.histogram]
    return pd.DataFrame(rows, columns=HISTOGRAM_COLUMNS).astype({"bin_left": "float64", "bin_right": "float64"})


def _duplicate_rows(columns: list[_Column], n_rows: int) -> int:
    """Rows equal to an earlier row, via a combined 64-bit row hash (collisions are vanishingly rare)."""
    if n_rows == 0 or not columns:
        return 0
    combined = np.zeros(n_rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in columns:
            combined = combined * np.uint64(0x100000001B3) ^ c.row_hash
    return n_rows - int(pd.unique(combined).size)


def _correlation(numeric: list[_Column]) -> pd.DataFrame:
    """Pearson r over pairwise-complete rows (like ``DataFrame.corr``), as a few chunked matrix products."""
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


# ---------------------------------------------------------------- target relations


def _target_relations(target: _Column, features: list[_Column], correlation: pd.DataFrame,
                      n_rows: int) -> tuple[str, pd.DataFrame]:
    many = target.unique > NUMERIC_TARGET_MIN_UNIQUE
    if target.times is not None and many:  # a date is ordered: which features move with time
        seconds = _seconds(target.times)
        return "datetime", _numeric_target(seconds, features, lambda f: _pearson(f.values, seconds), n_rows)
    if target.values is not None and target.type != "boolean" and many:
        return "numeric", _numeric_target(target.values, features,
                                          lambda f: correlation.at[f.name, target.name], n_rows)
    return "categorical", _categorical_target(target, features, n_rows)


def _numeric_target(y: np.ndarray, features: list[_Column], pearson: Callable[[_Column], float],
                    n_rows: int) -> pd.DataFrame:
    """Pearson r of the numeric features (``pearson``), correlation ratio of the categorical ones, strongest first."""
    rows = []
    for f in _informative(features):
        if f.values is not None and f.type != "boolean":
            rows.append({"feature": f.name, "measure": "pearson", "value": pearson(f)})
        elif f.codes is not None and _usable_levels(f, n_rows):
            rows.append({"feature": f.name, "measure": "correlation_ratio", "value": _eta(f.codes, y)})
    table = pd.DataFrame(rows, columns=["feature", "measure", "value"])
    order = table["value"].abs().sort_values(ascending=False, na_position="last").index
    return table.loc[order].reset_index(drop=True)


def _seconds(times: np.ndarray) -> np.ndarray:
    """Timestamps as float seconds after the earliest (exact differences, whatever the epoch), NaN when missing."""
    present = times != NAT_INT
    if not present.any():
        return np.full(times.size, np.nan)
    return np.where(present, (times - times[present].min()) / 1e9, np.nan)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r over the rows where both are present, like ``Series.corr``."""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        return np.nan
    a, b = x[ok] - x[ok].mean(), y[ok] - y[ok].mean()
    scale = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float(np.clip((a * b).sum() / scale, -1.0, 1.0)) if scale > 0 else np.nan


def _eta(codes: np.ndarray, y: np.ndarray) -> float:
    """Correlation ratio: how much of the target's variance the feature's levels explain (0..1)."""
    ok = (codes >= 0) & np.isfinite(y)
    if ok.sum() < 2:
        return np.nan
    c, v = codes[ok], y[ok]
    counts = np.bincount(c)
    sums = np.bincount(c, weights=v)
    present = counts > 0
    group_means = sums[present] / counts[present]
    between = float((counts[present] * (group_means - v.mean()) ** 2).sum())
    total = float(((v - v.mean()) ** 2).sum())
    return float(np.sqrt(between / total)) if total > 0 else np.nan


def _categorical_target(target: _Column, features: list[_Column], n_rows: int) -> pd.DataFrame:
    classes, labels = _target_classes(target)
    slots = classes + 1  # 0: the target is missing
    class_rows = np.bincount(slots, minlength=len(labels) + 1)[1:]
    rows: list[dict[str, Any]] = []
    for f in _informative(features):
        if f.values is not None and f.type != "boolean":
            rows += _class_means(f, slots, class_rows, labels)
        elif f.codes is not None and _usable_levels(f, n_rows):
            rows += _class_counts(f, slots, labels)
    return pd.DataFrame(rows, columns=["feature", "target_class", "level", "count", "mean"])


def _target_classes(target: _Column) -> tuple[np.ndarray, list[str]]:
    """Class index per row (-1 when the target is missing), the most frequent classes kept and the rest lumped."""
    if target.codes is not None:
        codes, levels = target.codes, list(target.levels or [])
    elif target.times is not None:
        present = target.times != NAT_INT
        dates, inverse = np.unique(target.times[present], return_inverse=True)
        codes = np.full(target.times.size, -1, dtype=np.int64)
        codes[present] = inverse
        levels = [str(pd.Timestamp(d)) for d in dates]
    else:
        raw, uniques = pd.factorize(target.values, use_na_sentinel=True)
        codes, levels = np.asarray(raw, dtype=np.int64), [_label(u) for u in uniques]
    counts = np.bincount(codes[codes >= 0], minlength=len(levels))
    keep = np.argsort(-counts, kind="stable")[:MAX_TARGET_CLASSES]
    remap = np.full(len(levels) + 1, len(keep), dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    remap[-1] = -1
    labels = [levels[i] for i in keep] + (["(other)"] if len(levels) > len(keep) else [])
    return remap[codes], labels


def _class_means(f: _Column, slots: np.ndarray, class_rows: np.ndarray, labels: list[str]) -> list[dict[str, Any]]:
    """Per-class mean of a numeric feature over rows where both are present.

    ``slots`` is the class index plus one (0 where the target is missing), ``class_rows`` the
    rows per class. Rows are not filtered (that copies the long arrays twice per feature): a
    missing value is sent to slot 0 with the missing targets, which is cut off, so each class's
    sum adds the same values in the same order as over the filtered rows.
    """
    finite = np.isfinite(f.values)
    counts = class_rows - np.bincount(slots[~finite], minlength=class_rows.size + 1)[1:]
    sums = np.bincount(np.where(finite, slots, 0), weights=f.values, minlength=class_rows.size + 1)[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    return [{"feature": f.name, "target_class": labels[i], "level": None, "count": int(counts[i]),
             "mean": float(means[i])} for i in range(len(labels))]


def _class_counts(f: _Column, slots: np.ndarray, labels: list[str]) -> list[dict[str, Any]]:
    """Rows per (top level of the feature, class), as one ``bincount`` over a combined index.

    Levels outside the top ones, missing values and a missing target land in slots of their
    own that are cut off at the end, so no row needs filtering.
    """
    level_counts = np.bincount(f.codes + 1, minlength=len(f.levels or []) + 1)[1:]
    top = np.argsort(-level_counts, kind="stable")[:RELATION_LEVELS]
    slot = np.full(level_counts.size + 1, top.size, dtype=np.int64)  # the last entry: code -1 (missing)
    slot[top] = np.arange(top.size)
    width = len(labels) + 1
    table = np.bincount(slot[f.codes] * width + slots, minlength=(top.size + 1) * width)
    table = table.reshape(top.size + 1, width)[:top.size, 1:]
    levels = f.levels or []
    return [{"feature": f.name, "target_class": labels[j], "level": levels[top[i]], "count": int(table[i, j]),
             "mean": np.nan} for i in range(top.size) for j in range(len(labels))]


def _informative(features: list[_Column]) -> list[_Column]:
    return [f for f in features if f.type not in ("constant", "empty")]


def _usable_levels(f: _Column, n_rows: int) -> bool:
    """Skip free text and ID-like columns: per-level statistics of them are noise."""
    return f.type in ("categorical", "boolean") and f.unique <= max(50, n_rows // 2) and f.unique <= 10_000


# ---------------------------------------------------------------- one column


def distinct_values(values: pd.Series) -> pd.Series:
    """Each distinct value once (missing included once), same dtype and name.

    For questions the distinct values answer as well as all rows do (how many distinct, all
    whole numbers?): task detection on a million-row target then hashes it once, not thrice.
    """
    return pd.Series(values.unique(), name=values.name)


def class_counts(values: pd.Series) -> pd.Series:
    """Rows per value as text, "(missing)" for missing ones, most frequent first.

    Exactly ``values.astype(object).where(values.notna(), "(missing)").astype(str).value_counts()``
    (same order among ties), but for strings, integers, booleans and floats each distinct
    value is turned into text once instead of every row (seconds on a million rows).
    """
    coded = _text_codes(values)
    if coded is None:  # mixed objects (1 and 1.0 are one value but two texts), categories, dates: row by row
        return values.astype("object").where(values.notna(), "(missing)").astype(str).value_counts()
    codes, texts = coded
    rows = np.bincount(codes + 1, minlength=len(texts) + 1)  # [0]: missing
    missing_at = None  # how many codes appear before the first missing row (codes number by first appearance)
    if rows[0]:
        first = int(np.argmax(codes < 0))
        missing_at = int(codes[:first].max()) + 1 if first else 0
    merged: dict[str, int] = {}  # insertion order: the order in which each text first appears
    for i, text in enumerate([*texts, None]):
        if i == missing_at:
            merged["(missing)"] = merged.get("(missing)", 0) + int(rows[0])
        if text is not None and rows[i + 1]:
            merged[text] = merged.get(text, 0) + int(rows[i + 1])
    shaped = pd.Series(list(merged), name=values.name, dtype=object).value_counts(sort=False)  # value_counts' form
    counted = pd.Series(list(merged.values()), index=shaped.index, name=shaped.name, dtype=shaped.dtype)
    return counted.sort_values(ascending=False)


def _text_codes(values: pd.Series) -> tuple[np.ndarray, list[str]] | None:
    """Codes by first appearance (-1: missing) and each code's text, where equal values have equal texts.

    Floats are coded by their bits: -0.0 equals 0.0 but prints differently. None for the dtypes
    where equality and text differ in ways not worth coding here.
    """
    dtype, array = values.dtype, values.to_numpy()
    if isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize == 8:
        codes, bits = pd.factorize(array.view(np.int64))
        codes[np.isnan(array)] = -1  # NaN bits got codes of their own: they count no rows
        uniques = np.asarray(bits).view(np.float64)
    elif isinstance(dtype, np.dtype) and (dtype.kind in "iub" or (
            dtype.kind == "O" and pd.api.types.infer_dtype(array, skipna=True) in ("string", "empty"))):
        codes, uniques = pd.factorize(array, use_na_sentinel=True)  # -1 for exactly what isna() calls missing
    else:
        return None
    if len(uniques) > max(1000, len(values) // 10):  # mostly distinct: text per value is no saving
        return None
    return np.asarray(codes, dtype=np.int64), pd.Series(uniques, dtype=object).astype(str).tolist()


# ---------------------------------------------------------------- full report


def full_report_html(frame: pd.DataFrame, *, title: str, minimal: bool = False, sample_rows: int = 100_000,
                     seed: int = 0) -> str:
    """A ydata-profiling HTML report, on a seeded random sample when the frame is larger than ``sample_rows``.

    The title says how many rows were profiled. Assets are inlined and analytics are off, so
    nothing is fetched from the network. Show it only through :func:`sandboxed_report_html`.
    """
    if sample_rows < 1:
        raise DataError(f"sample_rows must be at least 1 for the report '{title}' (got {sample_rows}).")
    data, described = _report_sample(frame, sample_rows, seed)
    profile_report = _profile_report_class()
    os.environ[NO_ANALYTICS_ENV] = "1"  # read on every report, so set it every time
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            report = profile_report(data, title=f"{title} ({described})", minimal=minimal, progress_bar=False,
                                    html={"inline": True, "use_local_assets": True, "navbar_show": True})
            return report.to_html()
        except Exception as e:  # noqa: BLE001 - a third-party failure must reach the user as a DataError
            raise DataError(f"The full report for '{title}' could not be built ({type(e).__name__}: {e}). "
                            "Try the minimal report or a smaller sample.") from e


def _report_sample(frame: pd.DataFrame, sample_rows: int, seed: int) -> tuple[pd.DataFrame, str]:
    if len(frame) > sample_rows:
        data = frame.sample(n=sample_rows, random_state=seed).sort_index()
        described = f"random sample of {sample_rows:,} of {len(frame):,} rows, seed {seed}"
    else:
        data, described = frame, f"all {len(frame):,} rows"
    return _escaped(data), described


def _escaped(frame: pd.DataFrame) -> pd.DataFrame:
    """ydata-profiling writes names and text values into its HTML unescaped: escape them first,
    so a column called ``<img onerror=…>`` reads as text in the report instead of running."""
    data = frame.copy()
    data.columns = [html.escape(str(c)) for c in data.columns]
    for col in data.columns:
        values = data[col]
        if values.dtype == object:
            data[col] = values.where(values.isna(), values.astype(str).map(html.escape))
    return data


def _profile_report_class() -> Callable[..., Any]:
    """Import ydata-profiling quietly (after the first call this is a cheap module lookup).

    Its usage analytics (a network call per report) are switched off before it is imported.
    """
    os.environ[NO_ANALYTICS_ENV] = "1"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ydata_profiling import ProfileReport

        _silence_column_progress_bar()
    return ProfileReport


def _silence_column_progress_bar() -> None:
    """ydata-profiling draws one progress bar even with ``progress_bar=False``; it would spam server logs."""
    try:
        from tqdm.auto import tqdm
        from ydata_profiling.model.pandas import summary_pandas
    except ImportError:
        return
    if hasattr(summary_pandas, "tqdm"):
        summary_pandas.tqdm = functools.partial(tqdm, disable=True)


def sandboxed_report_html(report_html: str, *, title: str = "Data profile report") -> str:
    """Wrap a report so its scripts run in an isolated frame that cannot reach the hosting page.

    The report goes into ``<iframe sandbox="allow-scripts" srcdoc=...>`` without
    ``allow-same-origin``: the frame gets an opaque origin, so a column named
    ``</script><script>...`` can at worst script the report itself, never the app, its
    cookies or its storage. The whole report is attribute-escaped, so it cannot close the
    iframe tag either.
    """
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>"
        "<style>html,body{margin:0;height:100%}iframe{border:0;width:100%;height:100vh;display:block}</style>"
        "</head><body>"
        f"<iframe sandbox=\"allow-scripts\" referrerpolicy=\"no-referrer\" title=\"{html.escape(title)}\" "
        f"srcdoc=\"{html.escape(report_html, quote=True)}\"></iframe>"
        "</body></html>\n"
    )

"""How each feature relates to a chosen target, from the column summaries alone.

Kept apart from summarising because a new target choice must not read the data again: with
each column's float values or level codes already at hand, relating them to a target is a
handful of ``bincount`` calls (Pearson r and correlation ratio for a numeric or date target,
per-class means and counts for a categorical one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from pipeline_core.analysis.column_summary import NAT_INT, ColumnSummary, level_label

RELATION_LEVELS = 10
MAX_TARGET_CLASSES = 20
NUMERIC_TARGET_MIN_UNIQUE = 20


def relate_to_target(target: ColumnSummary, features: list[ColumnSummary], correlation: pd.DataFrame,
                     n_rows: int) -> tuple[str, pd.DataFrame]:
    """(target kind, relations table) as documented on ``profile.Overview``; ``correlation`` is the summary's matrix."""
    many = target.unique > NUMERIC_TARGET_MIN_UNIQUE
    if target.times is not None and many:  # a date is ordered: which features move with time
        seconds = _seconds(target.times)
        return "datetime", _numeric_target(seconds, features, lambda f: _pearson(f.values, seconds), n_rows)
    if target.values is not None and target.type != "boolean" and many:
        return "numeric", _numeric_target(target.values, features,
                                          lambda f: _matrix_or_pearson(correlation, f, target), n_rows)
    return "categorical", _categorical_target(target, features, n_rows)


def _numeric_target(y: np.ndarray, features: list[ColumnSummary], pearson: Callable[[ColumnSummary], float],
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


def _matrix_or_pearson(correlation: pd.DataFrame, feature: ColumnSummary, target: ColumnSummary) -> float:
    """The summary's r when the (capped) correlation matrix holds both columns, else computed for this pair.

    The matrix covers only the first numeric columns of wide data; one pair costs one pass over the rows,
    so relating every feature to the target stays linear in the columns.
    """
    if feature.name in correlation.index and target.name in correlation.index:
        return correlation.at[feature.name, target.name]
    return _pearson(feature.values, target.values)


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


def _categorical_target(target: ColumnSummary, features: list[ColumnSummary], n_rows: int) -> pd.DataFrame:
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


def _target_classes(target: ColumnSummary) -> tuple[np.ndarray, list[str]]:
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
        codes, levels = np.asarray(raw, dtype=np.int64), [level_label(u) for u in uniques]
    counts = np.bincount(codes[codes >= 0], minlength=len(levels))
    keep = np.argsort(-counts, kind="stable")[:MAX_TARGET_CLASSES]
    remap = np.full(len(levels) + 1, len(keep), dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    remap[-1] = -1
    labels = [levels[i] for i in keep] + (["(other)"] if len(levels) > len(keep) else [])
    return remap[codes], labels


def _class_means(
    f: ColumnSummary, slots: np.ndarray, class_rows: np.ndarray, labels: list[str]
) -> list[dict[str, Any]]:
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


def _class_counts(f: ColumnSummary, slots: np.ndarray, labels: list[str]) -> list[dict[str, Any]]:
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


def _informative(features: list[ColumnSummary]) -> list[ColumnSummary]:
    return [f for f in features if f.type not in ("constant", "empty")]


def _usable_levels(f: ColumnSummary, n_rows: int) -> bool:
    """Skip free text and ID-like columns: per-level statistics of them are noise."""
    return f.type in ("categorical", "boolean") and f.unique <= max(50, n_rows // 2) and f.unique <= 10_000

"""Warnings about columns that would let a model cheat.

A column leaks when it carries the answer: an identifier the model can memorise, or a
near copy of the target (a numeric column almost perfectly correlated with it, or a
label column that maps one-to-one onto it). Models look brilliant in cross-validation
and fail on new data, so the Features page shows these before anything is trained.

The work is split in two so that choosing another target stays cheap on a long frame:
:func:`leakage_basis` does what does not depend on the target (a seeded sample of rows,
each column's type, each column's values as integer codes) once per dataset, and
:func:`target_warnings` checks the columns against one target with a few integer
operations on those codes. :func:`leakage_warnings` does both, for one-off callers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_core.compiler.columns import ColumnInfo, infer_column
from pipeline_core.errors import DataError

CORRELATION_LIMIT = 0.98
MAX_LEVELS = 50  # a one-to-one mapping is only checked for label-like columns
MIN_ROWS_PER_LEVEL = 5  # a column that fixes the target needs this many rows per value to be suspicious
SAMPLE_ROWS = 200_000
NEAR_PERFECT = 0.98  # a single column that predicts this share of a class target is suspicious
MAX_CLASSES = 50  # single-column predictors are judged for class-like targets only
MAX_BINS = 200  # a numeric column is judged as a predictor in quantile bins of MIN_ROWS_PER_LEVEL rows, at most 200
MIN_CLASS_ROWS = 5  # a value that marks exactly one class's rows counts from this many rows
ID_NAME = re.compile(r"(^|[_\s-])(id|key|uuid|guid|code|no|number|nr)$|id$", re.IGNORECASE)
MANY_LEVELS_SHARE = 0.5  # distinct values per row above which a label column looks like an identifier


@dataclass(frozen=True)
class LeakageBasis:
    """The target-independent part of the checks, for one dataset (treat as read-only).

    ``sample`` holds the sampled rows under the pipeline's column names; ``infos`` each
    column's inferred type on that sample; ``codes`` each column's values in text form as
    integer codes (-1 where missing), so "value a always goes with target value b" is a
    question about pairs of integers instead of a string group-by per target; ``numbers``
    the numeric (not boolean) columns as float64 with NaN where missing.
    """

    sample: pd.DataFrame
    infos: dict[str, ColumnInfo]
    codes: dict[str, np.ndarray]
    numbers: dict[str, np.ndarray]
    bins: dict[str, np.ndarray]  # the numeric columns as quantile-bin codes, for the single-column predictor check


def leakage_warnings(frame: pd.DataFrame, target: str) -> list[str]:
    """One sentence per suspicious column, naming it and saying why; empty when nothing looks wrong."""
    if target not in frame.columns:
        raise DataError(f"target '{target}' is not a column of the data")
    return target_warnings(leakage_basis(frame), target)


def leakage_basis(frame: pd.DataFrame, rename: Mapping[str, str] | None = None) -> LeakageBasis:
    """Sample the rows (seeded), then type and encode every column; ``rename`` is applied to the sample.

    Sampling first means a long frame is never copied whole. The rows drawn depend only on
    the frame's length, so they are the rows ``frame.sample(SAMPLE_ROWS, random_state=0)``
    of any column selection of it would give.
    """
    if len(frame) > SAMPLE_ROWS:
        frame = frame.sample(SAMPLE_ROWS, random_state=0)
    sample = frame.rename(columns=dict(rename)) if rename else frame
    infos = {col: infer_column(sample[col]) for col in sample.columns}
    codes = {col: _text_codes(sample[col]) for col in sample.columns}
    numbers = {col: sample[col].to_numpy(dtype="float64", na_value=np.nan) for col in sample.columns
               if _is_number(sample[col])}
    bins = {col: _binned(values) for col, values in numbers.items()}
    return LeakageBasis(sample, infos, codes, numbers, bins)


def target_warnings(basis: LeakageBasis, target: str, columns: Iterable[str] | None = None) -> list[str]:
    """The warnings for ``target``: one per suspicious column of ``columns`` (default: all), in their order."""
    if target not in basis.infos:
        raise DataError(f"target '{target}' is not a column of the data")
    warnings = []
    for col in basis.sample.columns if columns is None else columns:
        if col == target:
            continue
        message = _column_warning(basis, col, target)
        if message:
            warnings.append(message)
    return warnings


def _column_warning(basis: LeakageBasis, col: str, target: str) -> str | None:
    info, values, y = basis.infos[col], basis.sample[col], basis.sample[target]
    if info.type == "constant":
        return None
    if info.type == "id":
        evidence = info.reason.split(":")[0]
        return (
            f"'{values.name}' looks like a row identifier ({evidence}): a model could memorise rows through it. "
            "ID-like columns are left out of the features; keep it that way unless the ID carries meaning."
        )
    correlation = _numeric_correlation(basis.numbers.get(col), basis.numbers.get(target))
    if correlation is not None and abs(correlation) > CORRELATION_LIMIT:
        return (
            f"'{values.name}' correlates {correlation:+.3f} with the target '{y.name}': it is almost a copy of it. "
            "Keep it only if it is known before the target is."
        )
    binned = col in basis.bins
    table = _contingency(basis.bins[col] if binned else basis.codes[col], basis.codes[target])
    return (_mapping_warning(str(values.name), str(y.name), basis.codes[col], basis.codes[target])
            or _identifier_warning(info, str(values.name), basis.codes[col])
            or (table is not None and (_class_marker_warning(str(values.name), values, y, table, binned=binned)
                                       or _predictor_warning(str(values.name), str(y.name), table, binned=binned)))
            or None)


def _identifier_warning(info: ColumnInfo, name: str, codes: np.ndarray) -> str | None:
    """A label column with very many values, or many values and an identifier's name (``specimen_id``: 190
    values): a model can memorise rows through it, though fewer than 95% of its values are unique."""
    if info.type != "categorical":
        return None
    present = codes[codes >= 0]
    levels = _distinct(present) if present.size else 0
    if levels <= MAX_LEVELS:
        return None
    named = bool(ID_NAME.search(name.strip()))
    if not named and levels < MANY_LEVELS_SHARE * present.size:
        return None
    why = "is named like an identifier" if named else f"has a value for every {present.size / levels:.1f} rows"
    return (f"'{name}' has {levels:,} distinct values in {present.size:,} rows and {why}: a model can memorise "
            "rows through it instead of learning. Drop it unless its values mean something beyond naming a row.")


@dataclass(frozen=True)
class _Contingency:
    """Rows per (column value, class) on the rows where both are present; ``rows`` holds each cell's first row."""

    counts: np.ndarray  # values x classes
    first_row: np.ndarray  # values x classes, -1 where the cell is empty


def _contingency(x_codes: np.ndarray, y_codes: np.ndarray) -> _Contingency | None:
    """The table the single-column checks read, for class-like targets and columns of moderate cardinality
    (one ``bincount``; more levels than that are the identifier check's business)."""
    both = np.flatnonzero((x_codes >= 0) & (y_codes >= 0))
    if not both.size:
        return None
    x, t = x_codes[both].astype(np.int64), y_codes[both].astype(np.int64)
    n_values, n_classes = int(x.max()) + 1, int(t.max()) + 1
    if n_classes > MAX_CLASSES or n_values * n_classes > 4 * x.size + 10_000:
        return None
    cells = x * n_classes + t
    counts = np.bincount(cells, minlength=n_values * n_classes).reshape(n_values, n_classes)
    first = np.full(n_values * n_classes, -1, dtype=np.int64)
    first[cells[::-1]] = both[::-1]  # the last write wins: reversed, that is each cell's first row
    return _Contingency(counts, first.reshape(n_values, n_classes))


def _class_marker_warning(name: str, values: pd.Series, y: pd.Series, table: _Contingency, *,
                          binned: bool) -> str | None:
    """One value of the column marks exactly the rows of one class (all of them, and no others)."""
    counts = table.counts
    classes = np.count_nonzero(counts.sum(axis=0))
    if classes < 2:
        return None
    exact = (counts == counts.sum(axis=1, keepdims=True)) & (counts == counts.sum(axis=0, keepdims=True))
    exact &= (counts >= MIN_CLASS_ROWS) & (counts < counts.sum())  # a value on every row marks nothing
    if not exact.any():
        return None
    value_code, class_code = np.argwhere(exact)[0]
    row = int(table.first_row[value_code, class_code])
    value, label = values.iloc[row], y.iloc[row]
    shown = f"one range of its values (around {_short(value)})" if binned else f"the value {_short(value)!r}"
    return (f"'{name}' identifies the class {_short(label)!r} perfectly: {shown} occurs on exactly its "
            f"{int(counts[value_code, class_code]):,} rows and no others. Check it is not recorded after the outcome.")


def _predictor_warning(name: str, target: str, table: _Contingency, *, binned: bool) -> str | None:
    """The column alone predicts a class target almost perfectly (each value's most common class), judged only
    where every value has enough rows that the score is not memorisation."""
    counts = table.counts
    per_value, per_class = counts.sum(axis=1), counts.sum(axis=0)
    rows, levels = int(per_value.sum()), int(np.count_nonzero(per_value))
    if np.count_nonzero(per_class) < 2 or levels < 2 or rows < MIN_ROWS_PER_LEVEL * levels:
        return None
    score, baseline = counts.max(axis=1).sum() / rows, per_class.max() / rows
    if score < NEAR_PERFECT or score - baseline < (1 - baseline) / 2:
        return None
    how = "binned into ranges" if binned else "by its values"
    return (f"'{name}' alone predicts '{target}' for {score:.1%} of rows ({how}; the most common class alone: "
            f"{baseline:.1%}): near-perfect for one column. Check it is not recorded after the outcome.")


def _binned(numbers: np.ndarray) -> np.ndarray:
    """Quantile-bin codes of a numeric column (-1 where missing), so it can be judged like a label column."""
    present = ~np.isnan(numbers)
    codes = np.full(numbers.shape, -1, dtype=np.int32)
    if present.sum() < 2:
        return codes
    bins = max(2, min(MAX_BINS, int(present.sum()) // MIN_ROWS_PER_LEVEL))  # small bins: a boundary costs few rows
    edges = np.unique(np.quantile(numbers[present], np.linspace(0, 1, bins + 1)[1:-1]))
    codes[present] = np.searchsorted(edges, numbers[present], side="right")
    return codes


def _short(value: object, width: int = 40) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _numeric_correlation(x: np.ndarray | None, y: np.ndarray | None) -> float | None:
    """Pearson r over the rows where both are present, as ``Series.corr`` computes it (``np.corrcoef``).

    None when either is not numeric, or fewer than three rows or a single value remain.
    """
    if x is None or y is None:
        return None
    both = ~(np.isnan(x) | np.isnan(y))
    if not both.all():
        x, y = x[both], y[both]
    if x.size < 3 or x.min() == x.max() or y.min() == y.max():
        return None
    return float(np.corrcoef(x, y)[0, 1])


def _mapping_warning(name: str, target: str, x_codes: np.ndarray, y_codes: np.ndarray) -> str | None:
    """Does each (text) value of the column go with a single target value, and the other way round?

    On the rows where both are present: the column fixes the target exactly when the number of
    distinct (value, target) pairs equals the number of distinct values; it is a relabelled
    copy when that number also equals the number of distinct target values.
    """
    both = (x_codes >= 0) & (y_codes >= 0)
    x, y = x_codes[both].astype(np.int64), y_codes[both].astype(np.int64)
    levels = _distinct(x)
    if levels < 2 or levels > MAX_LEVELS or x.size < 2 * levels:
        return None
    pairs = _distinct(x * (int(y.max()) + 1) + y)
    if pairs != levels:
        return None
    if pairs == _distinct(y):
        return (
            f"'{name}' maps one-to-one onto the target '{target}' (each value goes with exactly one "
            "target value and back): it is a relabelled copy of the target. Drop it."
        )
    if x.size >= MIN_ROWS_PER_LEVEL * levels:
        return (
            f"every value of '{name}' goes with a single target value: it determines '{target}' exactly. "
            "Check it is not recorded after the outcome."
        )
    return None


def _text_codes(values: pd.Series) -> np.ndarray:
    """Codes of ``values.astype(str)``, -1 where missing: equal codes exactly when the texts are equal.

    Converting a column to text is slow, and needless where equal values have equal texts and
    different values different texts: strings, integers, booleans, and floats read by their
    bits (repr round-trips, and -0.0 and 0.0, which compare equal, print differently).
    """
    dtype, array = values.dtype, values.to_numpy()
    if isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize in (4, 8):
        codes = pd.factorize(array.view(f"i{dtype.itemsize}"))[0]
        codes[np.isnan(array)] = -1
    elif isinstance(dtype, np.dtype) and (dtype.kind in "iub" or (
            dtype.kind == "O" and pd.api.types.infer_dtype(array, skipna=True) in ("string", "empty"))):
        codes = pd.factorize(array, use_na_sentinel=True)[0]  # -1 for exactly what isna() calls missing
    else:  # mixed objects (1 and 1.0 are one value but two texts), categories, dates, nullable numbers
        codes = pd.factorize(values.astype(str).to_numpy())[0]
        codes[values.isna().to_numpy()] = -1
    return codes.astype(np.int32)


def _distinct(codes: np.ndarray) -> int:
    """How many different non-negative integers: by counting when their range is small, else by hashing."""
    if codes.size and int(codes.max()) < 4 * codes.size:
        return int(np.count_nonzero(np.bincount(codes)))
    return len(pd.unique(codes))


def _is_number(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)

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
    return LeakageBasis(sample, infos, codes, numbers)


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
    return _mapping_warning(str(values.name), str(y.name), basis.codes[col], basis.codes[target])


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

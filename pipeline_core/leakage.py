"""Warnings about columns that would let a model cheat.

A column leaks when it carries the answer: an identifier the model can memorise, or a
near copy of the target (a numeric column almost perfectly correlated with it, or a
label column that maps one-to-one onto it). Models look brilliant in cross-validation
and fail on new data, so the Features page shows these before anything is trained.
"""

from __future__ import annotations

import pandas as pd

from pipeline_core.columns import infer_column
from pipeline_core.errors import DataError

CORRELATION_LIMIT = 0.98
MAX_LEVELS = 50  # a one-to-one mapping is only checked for label-like columns
MIN_ROWS_PER_LEVEL = 5  # a column that fixes the target needs this many rows per value to be suspicious
SAMPLE_ROWS = 200_000


def leakage_warnings(frame: pd.DataFrame, target: str) -> list[str]:
    """One sentence per suspicious column, naming it and saying why; empty when nothing looks wrong."""
    if target not in frame.columns:
        raise DataError(f"target '{target}' is not a column of the data")
    if len(frame) > SAMPLE_ROWS:
        frame = frame.sample(SAMPLE_ROWS, random_state=0)
    y = frame[target]
    warnings = []
    for col in frame.columns:
        if col == target:
            continue
        message = _column_warning(frame[col], y)
        if message:
            warnings.append(message)
    return warnings


def _column_warning(values: pd.Series, y: pd.Series) -> str | None:
    info = infer_column(values)
    if info.type == "constant":
        return None
    if info.type == "id":
        evidence = info.reason.split(":")[0]
        return (
            f"'{values.name}' looks like a row identifier ({evidence}): a model could memorise rows through it. "
            "ID-like columns are left out of the features; keep it that way unless the ID carries meaning."
        )
    correlation = _numeric_correlation(values, y)
    if correlation is not None and abs(correlation) > CORRELATION_LIMIT:
        return (
            f"'{values.name}' correlates {correlation:+.3f} with the target '{y.name}': it is almost a copy of it. "
            "Keep it only if it is known before the target is."
        )
    return _mapping_warning(values, y)


def _numeric_correlation(values: pd.Series, y: pd.Series) -> float | None:
    if not (_is_number(values) and _is_number(y)):
        return None
    both = pd.DataFrame({"x": values, "y": y}).dropna()
    if len(both) < 3 or both["x"].nunique() < 2 or both["y"].nunique() < 2:
        return None
    return float(both["x"].astype(float).corr(both["y"].astype(float)))


def _mapping_warning(values: pd.Series, y: pd.Series) -> str | None:
    both = pd.DataFrame({"x": values.astype(str), "y": y.astype(str)})[values.notna() & y.notna()]
    levels = both["x"].nunique()
    if levels < 2 or levels > MAX_LEVELS or len(both) < 2 * levels:
        return None
    fixes_target = both.groupby("x")["y"].nunique().max() == 1
    if not fixes_target:
        return None
    if both.groupby("y")["x"].nunique().max() == 1:
        return (
            f"'{values.name}' maps one-to-one onto the target '{y.name}' (each value goes with exactly one "
            "target value and back): it is a relabelled copy of the target. Drop it."
        )
    if len(both) >= MIN_ROWS_PER_LEVEL * levels:
        return (
            f"every value of '{values.name}' goes with a single target value: it determines '{y.name}' exactly. "
            "Check it is not recorded after the outcome."
        )
    return None


def _is_number(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)

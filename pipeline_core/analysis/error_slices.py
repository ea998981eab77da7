"""Where a model is wrong: the hold-out rows it misses most, and the slices of rows where it errs most.

A slice is one column's level (a label, or a number with few values) or one of its ranges (a number
cut into quintiles); missing values are a slice of their own. Each slice's error is the task's
plain error: the share of rows misclassified, or the mean absolute error for regression, so it reads
next to the overall figure. Slices smaller than :data:`MIN_SLICE_SHARE` of the rows (and
:data:`MIN_SLICE_ROWS` at least) are left out: on a few rows the worst slice is noise.

Slices are ranked by how many errors they hold beyond what the overall rate predicts
(``(slice error - overall) x rows``): a slice twice as bad on half the data is a better lead than
one three times as bad on five rows. Every raw column is sliced, including ones the model does not
read: a column left out of the features can still explain where the model fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from pipeline_core.analysis.groups import MISSING
from pipeline_core.errors import DataError

MIN_SLICE_ROWS = 10
MIN_SLICE_SHARE = 0.03
NUMERIC_LEVELS = 10
QUANTILE_BINS = 5
MAX_LEVELS = 20  # the most frequent levels of a label; the rest pool into one slice
OTHER = "(other levels)"
WORST_ROWS = 20


@dataclass(frozen=True)
class ErrorSlice:
    """One column's level or range, its size and its error next to the overall error."""

    column: str
    slice: str
    kind: Literal["level", "range"]
    rows: int
    error: float
    overall: float
    excess_errors: float
    """Errors beyond the overall rate: ``(error - overall) * rows`` (for regression, in target units x rows)."""


@dataclass(frozen=True)
class ErrorAnalysis:
    """The rows with the largest errors and the slices with the most excess error, worst first."""

    task: str
    error_name: str
    overall: float
    rows: int
    worst_rows: pd.DataFrame
    """Row number in the data (from 0), actual, predicted, error, then the row's raw columns."""
    slices: list[ErrorSlice]
    min_slice_rows: int
    skipped: list[str] = field(default_factory=list)
    """Columns not sliced, each with why (e.g. every value distinct)."""


def error_analysis(X: pd.DataFrame, y: pd.Series, predicted: np.ndarray | pd.Series, task: str, *,
                   true_class_probability: np.ndarray | None = None, top_rows: int = WORST_ROWS,
                   top_slices: int = 10) -> ErrorAnalysis:
    """Rank ``X``'s rows (raw columns, ``y`` aligned) by error and its columns' slices by excess error.

    For classification, ``true_class_probability`` (the probability the model gave each row's actual
    class) orders the misclassified rows from the most confident mistake; without it they come in
    data order. Slices always use the misclassification rate.
    """
    if task not in ("classification", "regression"):
        raise DataError(f"error analysis needs a classification or regression model, not {task}")
    if len(X) == 0:
        raise DataError("there are no rows to analyse")
    actual = pd.Series(np.asarray(y), index=X.index)
    guess = pd.Series(np.asarray(predicted), index=X.index)
    probability = None
    if task == "classification":
        error = (actual.astype(str) != guess.astype(str)).astype(float)
        if true_class_probability is not None:
            probability = pd.Series(np.asarray(true_class_probability, dtype=float), index=X.index)
        name = "share misclassified"
    else:
        error = (pd.to_numeric(actual, errors="coerce") - pd.to_numeric(guess, errors="coerce")).abs()
        if error.isna().any():
            raise DataError("the target or the predictions hold values that are not numbers")
        name = "mean absolute error"
    overall = float(error.mean())
    worst = _worst_rows(X, actual, guess, error, probability, top_rows, task)
    min_rows = max(MIN_SLICE_ROWS, int(np.ceil(MIN_SLICE_SHARE * len(X))))
    slices, skipped = [], []
    for column in X.columns:
        keys, why = _slice_keys(X[column])
        if keys is None:
            skipped.append(f"{column}: {why}")
            continue
        slices += _slices(str(column), keys, error, overall, min_rows)
    slices.sort(key=lambda s: (-s.excess_errors, -s.error, s.column, s.slice))
    worse = [s for s in slices if s.excess_errors > 0][:top_slices]
    return ErrorAnalysis(task, name, overall, len(X), worst, worse, min_rows, skipped)


def _worst_rows(X: pd.DataFrame, actual: pd.Series, guess: pd.Series, error: pd.Series, probability: pd.Series | None,
                top: int, task: str) -> pd.DataFrame:
    """Regression: the largest absolute errors; classification: the misclassified rows, the most confident
    mistakes first (the lowest probability given to the actual class)."""
    rank = error if probability is None else error + (1 - probability)
    order = pd.Series(np.asarray(rank, dtype=float), index=X.index).sort_values(ascending=False, kind="stable")
    if task == "classification":
        order = order[error.loc[order.index] > 0]  # a right answer is not among the worst, however unsure
    picked = order.index[:top]
    head = pd.DataFrame({"row in data": picked, "actual": actual.loc[picked].to_numpy(),
                         "predicted": guess.loc[picked].to_numpy()})
    if task == "classification":
        if probability is not None:
            head["probability of the actual class"] = probability.loc[picked].to_numpy()
    else:
        head["absolute error"] = error.loc[picked].to_numpy()
    rest = X.loc[picked].reset_index(drop=True)
    rest.columns = [f"{c} " if str(c) in head.columns else c for c in rest.columns]  # a column named 'actual'
    return pd.concat([head, rest], axis=1)


def _slice_keys(values: pd.Series) -> tuple[pd.Series | None, str]:
    """Each row's slice label (and kind in the attrs), or ``None`` and why the column is not sliced."""
    present = values.dropna()
    if present.empty:
        return None, "every value is missing"
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and present.nunique() > NUMERIC_LEVELS:
        bins = pd.qcut(values.astype(float), QUANTILE_BINS, duplicates="drop")
        keys = bins.astype(str).where(bins.notna(), MISSING)
        keys.attrs["kind"] = "range"
        return keys, ""
    text = values.astype(str)
    distinct = present.nunique()
    if distinct == len(present) and distinct > NUMERIC_LEVELS:
        return None, "every value is distinct (an identifier or free text)"
    top = text[values.notna()].value_counts().index[:MAX_LEVELS]
    keys = text.where(text.isin(top), OTHER).where(values.notna(), MISSING)
    keys.attrs["kind"] = "level"
    return keys, ""


def _slices(column: str, keys: pd.Series, error: pd.Series, overall: float, min_rows: int) -> list[ErrorSlice]:
    kind = keys.attrs.get("kind", "level")
    stats = error.groupby(keys, sort=False).agg(["size", "mean"])
    return [ErrorSlice(column, str(label), kind, int(row["size"]), float(row["mean"]), overall,
                       float((row["mean"] - overall) * row["size"]))
            for label, row in stats.iterrows() if row["size"] >= min_rows and len(stats) > 1]

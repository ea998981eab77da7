"""Task detection and the target checks that must pass before any model is trained."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_core.errors import DataError

FEW_DISTINCT = 10
# Dates kept as text (when the reader could not be sure of the format): ISO, or day/month/year with / . or -.
# Dots only with a four-digit year, so version labels such as 1.2.10 stay labels.
_DATE_TEXT = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?"
                        r"|\d{1,2}[/-]\d{1,2}[/-]\d{2,4}|\d{1,2}\.\d{1,2}\.\d{4})$")
DATE_SAMPLE = 1000
LISTED_CLASSES = 10  # a message names this many classes, then says how many more


@dataclass(frozen=True)
class TaskChoice:
    task: str
    reason: str
    ambiguous: bool = False  # a numeric target with few values: the user should confirm


def detect_task(target: pd.Series | None) -> TaskChoice:
    """Pick classification, regression or clustering from the target, and say why."""
    if target is None:
        return TaskChoice("clustering", "no target column was chosen, so rows are grouped instead")
    values = target.dropna()
    n_unique = values.nunique()
    if holds_dates(values):
        return TaskChoice("classification", f"the target holds {n_unique:,} dates, which cannot be predicted as "
                          "they are: predict a part of the date instead")
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return TaskChoice("classification", f"the target holds {n_unique} labels, not numbers")
    integral = bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
    if integral and n_unique <= 2:
        return TaskChoice("classification", f"the target has only {n_unique} distinct values")
    if integral and n_unique <= FEW_DISTINCT:
        return TaskChoice(
            "classification",
            f"the target has {n_unique} distinct whole numbers; choose regression if they are amounts",
            ambiguous=True,
        )
    return TaskChoice("regression", f"the target is numeric with {n_unique:,} distinct values")


def drop_unusable_target(frame: pd.DataFrame, target: str | None) -> tuple[pd.DataFrame, str]:
    """``frame`` without the rows whose target is missing or infinite, and a sentence saying how many went.

    The one definition of a target no model can learn from. Training applies it once, after the
    row steps (:func:`pipeline_core.compiler.prepare.training_rows`); the exported script's
    ``training_rows`` spells the same test in pandas. Booleans are never infinite, so they skip the check.
    """
    if not target or target not in frame:
        return frame, "no target chosen: nothing to drop"
    values = frame[target]
    bad = values.isna()
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        bad |= ~np.isfinite(values.astype(float).fillna(0))
    kept = frame[~bad] if bad.any() else frame  # a boolean mask copies every column, even keeping all
    return kept, f"dropped {int(bad.sum()):,} rows whose target '{target}' is missing or infinite"


def rows_needed(cv_folds: int, holdout: float = 0.0) -> int:
    """Rows a class needs so that ``cv_folds`` of them remain after the (stratified) hold-out split."""
    rows = cv_folds
    while rows - math.ceil(rows * holdout - 1e-9) < cv_folds:
        rows += 1
    return rows


def check_target(y: pd.Series, task: str, cv_folds: int, *, holdout: float = 0.0) -> list[str]:
    """Refuse targets no model can learn from; return warnings for ones that need care.

    ``holdout`` is the share of rows set aside before cross-validation: a class must keep a
    row for every fold after it is taken, or a fold would have no example of the class.
    """
    name = y.name
    if len(y) == 0:
        raise DataError("no rows are left to train on after the row steps; loosen the filters")
    if holds_dates(y):
        raise DataError(_date_target_message(y))
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y):
            raise DataError(f"target '{name}' is not numeric, so regression is impossible; choose classification")
        if y.nunique() < 2:
            raise DataError(f"target '{name}' has a single value; there is nothing to predict")
        return []
    counts = y.value_counts()
    if len(counts) < 2:
        raise DataError(f"target '{name}' has a single class ({counts.index[0]!r}); a classifier needs two or more")
    needed = rows_needed(cv_folds, holdout)
    rare = counts[counts < needed]
    if len(rare):
        listed = ", ".join(f"{k!r} ({v})" for k, v in rare.head(LISTED_CLASSES).items())
        if len(rare) > LISTED_CLASSES:  # a 1,000-class target listed every class: 12,000 characters
            listed += f" and {len(rare) - LISTED_CLASSES:,} more"
        after = f" (at least {needed} rows, as the {holdout:.0%} hold-out is set aside first)" if holdout else ""
        raise DataError(
            f"target '{name}': class(es) {listed} have fewer rows than the {cv_folds} CV folds need{after}; "
            "merge them into another class, drop them with a row filter, or use fewer folds"
            + (" or a smaller hold-out" if holdout else "")
        )
    warnings = []
    share = counts.min() / counts.sum()
    if share < 0.05:
        warnings.append(
            f"target '{name}' is imbalanced (smallest class {share:.1%}): folds are stratified and "
            "balanced accuracy is the default metric"
        )
    return warnings


def holds_dates(values: pd.Series) -> bool:
    """Whether a target holds dates: a datetime column, or text in which every sampled value is a date.

    A date target used to become a classification with one class per date (28 dates, 28 classes),
    which trains, scores and predicts nonsense without a word; the caller refuses it instead.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return True
    if values.dtype != object and not pd.api.types.is_string_dtype(values):
        return False
    present = values.dropna()
    sample = present.iloc[:DATE_SAMPLE] if len(present) > DATE_SAMPLE else present
    return len(sample) > 0 and all(isinstance(v, str) and _DATE_TEXT.match(v.strip()) for v in sample)


def _date_target_message(y: pd.Series) -> str:
    present = y.dropna()
    first, last = (present.min(), present.max()) if pd.api.types.is_datetime64_any_dtype(y) else (
        present.iloc[0], present.iloc[-1])
    shown = [str(v.date()) if isinstance(v, pd.Timestamp) and v == v.normalize() else str(v) for v in (first, last)]
    return (f"target '{y.name}' holds dates ({shown[0]} … {shown[1]}, {present.nunique():,} distinct): as a target "
            "each date would be its own class, and a date the model never saw could never be predicted. Predict a "
            "part of the date instead: add a column with its year, month, weekday or days since a start (computed "
            "before upload) and choose that as the target, or keep the date as a feature with a date-parts step")

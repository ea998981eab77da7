"""From a raw frame to model inputs: column slicing, row steps, target checks, schema.

Row steps run here, before any split, because they remove training rows; they never run
at predict time. Everything that learns from data runs later, inside the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline_core.compiler.columns import ColumnInfo, apply_column_spec, infer_schema
from pipeline_core.definition import steps as st
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.definition.task import check_target, detect_task, drop_unusable_target
from pipeline_core.errors import DataError
from pipeline_core.transformers import MAX_MAGNITUDE


@dataclass
class Prepared:
    """Model inputs: ``X`` keeps the raw column names, so the fitted pipeline scores raw files."""

    X: pd.DataFrame
    y: pd.Series | None
    task: str
    task_reason: str
    schema: dict[str, ColumnInfo]
    report: list[str] = field(default_factory=list)


def prepare(spec: PipelineSpec, frame: pd.DataFrame) -> Prepared:
    """Apply the definition's slicing and row steps, pick the task, and check the target."""
    if frame.empty:
        raise DataError("the data has no rows")
    frame = _numbered(frame)
    sliced = apply_column_spec(frame, spec)
    if spec.target is not None and spec.target not in sliced:
        raise DataError(f"target '{spec.target}' is not a column; columns are: {', '.join(map(str, sliced.columns))}")
    sliced, report = training_rows(spec, sliced)
    y = sliced[spec.target].copy() if spec.target else None  # a column alone: a view would keep its whole block
    choice = detect_task(y)
    task = choice.task if spec.task == "auto" else spec.task
    reason = choice.reason if spec.task == "auto" else "chosen by you"
    if y is not None:
        report += check_target(y, task, spec.evaluation.cv_folds, holdout=spec.evaluation.holdout)
    schema = infer_schema(sliced, spec, sliced=True)
    report += _extreme_values_notice(sliced, schema)
    X = _features(frame, sliced.index, _raw_name(spec, spec.target))
    return Prepared(X, y, task, reason, schema, report)


def training_rows(spec: PipelineSpec, sliced: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The rows a model trains on, from the sliced frame, and one sentence per rule saying what went.

    The one owner of which rows train: the row steps in order, then the rows whose target is
    missing or infinite (:func:`~pipeline_core.definition.task.drop_unusable_target`), always and
    last, so a ``drop_missing_target`` step's position cannot change the result. The step preview
    calls this, and the exported script's ``training_rows`` follows the same order.
    """
    rows, report = apply_row_steps(spec.steps, sliced, spec.target)
    kept, message = drop_unusable_target(rows, spec.target)
    if kept.empty and not sliced.empty:
        raise DataError(_no_rows_reason(spec, rows))
    if len(kept) < len(rows) or any(isinstance(s, st.DropMissingTarget) for s in spec.steps):
        report.append(message)
    return kept, report


def _no_rows_reason(spec: PipelineSpec, rows: pd.DataFrame) -> str:
    """Why no row is left, blaming what removed them: an all-missing target was blamed on "the filters",
    which sent users looking for row steps that did not exist."""
    steps = [s.kind for s in spec.steps if isinstance(s, st.RowStep) and not isinstance(s, st.DropMissingTarget)]
    if rows.empty:
        return (f"no rows are left to train on after the row steps ({', '.join(dict.fromkeys(steps))}); "
                "loosen or remove them")
    kept = " that the row steps keep" if steps else ""
    return (f"target '{spec.target}' is missing or infinite in all {len(rows):,} rows{kept}, so there is nothing "
            "to learn from; choose another target, or fill it in the data")


def apply_row_steps(steps: list[st.Step], frame: pd.DataFrame, target: str | None) -> tuple[pd.DataFrame, list[str]]:
    """Run the row steps among ``steps`` in order, except ``drop_missing_target`` (see :func:`training_rows`)."""
    report = []
    for step in steps:
        if isinstance(step, st.RowStep) and not isinstance(step, st.DropMissingTarget):
            frame, message = step.apply(frame, target)
            report.append(message)
    return frame, report


def _numbered(frame: pd.DataFrame) -> pd.DataFrame:
    """The same columns, not copied, with rows numbered 0..n-1: row steps' index then picks raw rows back."""
    numbered = frame.copy(deep=False)
    numbered.index = pd.RangeIndex(len(frame))
    return numbered


def _features(frame: pd.DataFrame, rows: pd.Index, target: str | None) -> pd.DataFrame:
    """The raw columns but the target, for the kept rows: one copy when rows were dropped, none otherwise.

    A million-row frame is the largest thing training holds; every copy here adds its whole size
    to the peak, and the hold-out split copies the rows once more anyway.
    """
    if len(rows) < len(frame):
        return frame.loc[rows, [c for c in frame.columns if c != target]]
    features = frame.copy(deep=False)
    if target in features:
        del features[target]  # drops the column from the shallow copy's blocks, as views
    return features


def _extreme_values_notice(frame: pd.DataFrame, schema: dict[str, ColumnInfo]) -> list[str]:
    """Name the numeric columns holding infinities or magnitudes no model can compute with.

    The pipeline's first step treats those values as missing (see ``FramePreparer``); this says so.
    """
    columns = [c for c, info in schema.items() if info.type == "numeric" and pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    if not columns:
        return []
    with np.errstate(invalid="ignore"):  # a column at a time: one column's copy, not the whole block's
        counts = [int((np.abs(frame[c].to_numpy(dtype="float64")) > MAX_MAGNITUDE).sum()) for c in columns]
    found = [(c, n) for c, n in zip(columns, counts, strict=True) if n]
    if not found:
        return []
    listed = ", ".join(f"'{c}' ({n:,})" for c, n in found)
    return [f"values that are infinite or too large to compute with (beyond ±{MAX_MAGNITUDE:.1e}) are treated "
            f"as missing: {listed}; fix them in the data if they are real measurements"]


def _raw_name(spec: PipelineSpec, name: str | None) -> str | None:
    for raw, new in spec.columns.rename.items():
        if new == name:
            return raw
    return name

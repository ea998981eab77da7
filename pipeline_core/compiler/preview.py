"""Before/after previews of one step, so a user sees what a step does while editing it.

A preview fits only what is needed to show step ``i``: for a column step, the chain of
column steps that feed the same columns up to ``i`` (on a sample of rows); for a global
step (selection, PCA), the preprocessing compiled up to ``i``; row and drop steps run on
the frame itself. Nothing here is cached: the page caches by data hash and definition.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.pipeline import Pipeline

from pipeline_core.compiler.columns import apply_column_spec, infer_schema, resolve_columns
from pipeline_core.compiler.compile import column_chains, compile_pipeline, feature_columns
from pipeline_core.compiler.prepare import apply_row_steps, training_rows
from pipeline_core.definition import steps as st
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.definition.task import detect_task
from pipeline_core.errors import DataError, SpecError
from pipeline_core.transformers import FramePreparer

MAX_COLUMNS = 30  # widest before/after table a preview returns
SCHEMA_ROWS = 20_000  # rows used to infer column types for a preview


@dataclass
class StepPreview:
    """``before``/``after``: the affected columns on the sample; ``counts``: metric, before, after."""

    before: pd.DataFrame
    after: pd.DataFrame
    summary: str
    counts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["metric", "before", "after"]))
    removed: pd.DataFrame | None = None  # row steps: examples of the rows the step removes


def preview_step(spec: PipelineSpec, step_index: int, frame: pd.DataFrame, n_rows: int = 200) -> StepPreview:
    """What ``spec.steps[step_index]`` does to ``frame``; raises DataError/SpecError naming the step."""
    if not 0 <= step_index < len(spec.steps):
        raise SpecError(f"steps[{step_index}]: there is no such step (the pipeline has {len(spec.steps)})")
    step = spec.steps[step_index]
    sliced = apply_column_spec(frame.reset_index(drop=True), spec)
    if isinstance(step, st.RowStep):
        return _row_preview(spec, step_index, sliced, n_rows)
    rows = _rows_for_training(spec, sliced)
    sample = rows.sample(min(n_rows, len(rows)), random_state=spec.evaluation.seed).sort_index()
    if isinstance(step, st.DropColumns):
        return _drop_preview(step, sample)
    schema_rows = rows.sample(min(SCHEMA_ROWS, len(rows)), random_state=0)
    schema = infer_schema(schema_rows, spec, sliced=True)
    y = sample.get(spec.target) if spec.target else None
    task = detect_task(y).task if spec.task == "auto" else spec.task
    try:
        with warnings.catch_warnings():  # a 200-row sample makes estimators chatty; the summary says enough
            warnings.simplefilter("ignore")
            if step.stage == "global":
                return _global_preview(spec, step_index, sample, schema, y, task)
            return _column_preview(spec, step_index, sample, schema, y, task)
    except (ValueError, TypeError, IndexError) as e:
        raise DataError(f"steps[{step_index}] ({step.label}) cannot run on this data: {e}") from e


# ---- rows and dropped columns ---------------------------------------------------------------------


def _row_preview(spec: PipelineSpec, index: int, sliced: pd.DataFrame, n_rows: int) -> StepPreview:
    step = spec.steps[index]
    # Training drops unusable targets after every other row step, so that step is shown there.
    earlier = spec.steps if isinstance(step, st.DropMissingTarget) else spec.steps[:index]
    rows, _ = apply_row_steps(earlier, sliced, spec.target)
    kept, message = step.apply(rows, spec.target)
    columns = _row_step_columns(step, rows, spec.target)
    removed = rows.loc[rows.index.difference(kept.index), columns]
    counts = _counts([("rows", len(rows), len(kept))])
    return StepPreview(rows[columns].head(n_rows), kept[columns].head(n_rows), message, counts, removed.head(n_rows))


def _row_step_columns(step: st.Step, rows: pd.DataFrame, target: str | None) -> list[str]:
    if isinstance(step, st.FilterRows) and step.column in rows:
        return [step.column]
    if isinstance(step, st.DropMissingTarget) and target in rows:
        return [target]
    if isinstance(step, st.DropDuplicates) and step.subset:
        return [c for c in step.subset if c in rows][:MAX_COLUMNS]
    return list(rows.columns[:MAX_COLUMNS])


def _rows_for_training(spec: PipelineSpec, sliced: pd.DataFrame) -> pd.DataFrame:
    """The rows training would use (``prepare`` owns the rule), so previews fit on what the model sees."""
    rows, _ = training_rows(spec, sliced)
    if rows.empty:
        raise DataError("no rows are left after the row steps; loosen the filters to see a preview")
    return rows


def _drop_preview(step: st.DropColumns, sample: pd.DataFrame) -> StepPreview:
    present = [c for c in step.columns if c in sample]
    absent = [c for c in step.columns if c not in sample]
    summary = f"drops {len(present)} column(s): {', '.join(present)}" if present else "drops no column"
    if absent:
        summary += f"; not in the data: {', '.join(absent)}"
    counts = _counts([("columns", sample.shape[1], sample.shape[1] - len(present))])
    return StepPreview(sample[present[:MAX_COLUMNS]], sample.drop(columns=present).iloc[:, :0], summary, counts)


# ---- column steps ------------------------------------------------------------------------------------


def _column_preview(
    spec: PipelineSpec, index: int, sample: pd.DataFrame, schema: dict, y: pd.Series | None, task: str
) -> StepPreview:
    step = spec.steps[index]
    types = {c: schema[c].type for c in feature_columns(spec, schema)}
    affected = resolve_columns(step.columns, types)
    if not affected:
        summary = f"matches no feature column (columns: {_selector_text(step.columns)}), so it changes nothing"
        return StepPreview(pd.DataFrame(), pd.DataFrame(), summary)
    X = FramePreparer(types=types).fit_transform(sample)
    befores, afters = [], []
    # the compiler's chains, restricted to the affected columns and to the steps up to this one
    for chain, cols in column_chains(spec.steps[: index + 1], {c: types[c] for c in affected}).items():
        earlier = [spec.steps[k] for k in chain if k < index]
        per_column = any(s.per_column for s in [*earlier, step])
        inputs = [([c], X[c]) for c in cols] if per_column else [(cols, X[cols])]
        for names, data in inputs:
            befores.append(_run(earlier, data, names, y, task, spec.evaluation.seed, per_column))
            afters.append(_run([*earlier, step], data, names, y, task, spec.evaluation.seed, per_column))
    before, after = pd.concat(befores, axis=1), pd.concat(afters, axis=1)
    preview = _feature_preview(step, affected, before, after)
    earlier = sorted({k for chain in column_chains(spec.steps[: index + 1], {c: types[c] for c in affected})
                      for k in chain if k < index})
    if earlier:  # "before" is what this step receives, not the raw column: say which steps made it
        names = ", ".join(f"{k + 1}. {type(spec.steps[k]).label}" for k in earlier)
        preview.summary += f". 'Before' is this step's input, after step(s) {names}"
    return preview


def _run(
    steps: list[st.Step], data: Any, names: list[str], y: pd.Series | None, task: str, seed: int, per_column: bool
) -> pd.DataFrame:
    if not steps:
        return data.to_frame() if isinstance(data, pd.Series) else data.copy()
    pipeline = Pipeline([(f"{s.kind}_{k}", s.build(task, seed)) for k, s in enumerate(steps)])
    out = pipeline.fit_transform(data, y)
    try:
        features = [str(f) for f in pipeline.get_feature_names_out(None if per_column else names)]
    except (AttributeError, ValueError, TypeError):
        features = [f"{names[0]}_{j}" for j in range(out.shape[1])]
    if per_column:
        features = [f"{names[0]}__{f}" for f in features]
    return _to_frame(out, features, data.index)


def _to_frame(out: Any, features: list[str], index: pd.Index) -> pd.DataFrame:
    out = out[:, :MAX_COLUMNS] if out.shape[1] > MAX_COLUMNS else out
    dense = out.toarray() if sp.issparse(out) else np.asarray(out)
    return pd.DataFrame(dense, columns=features[: dense.shape[1]], index=index)


def _feature_preview(step: st.Step, affected: list[str], before: pd.DataFrame, after: pd.DataFrame) -> StepPreview:
    incomplete_first = before.isna().any(axis=1).sort_values(ascending=False, kind="stable").index
    before, after = before.loc[incomplete_first], after.loc[incomplete_first]  # rows with gaps are the telling ones
    shown = ", ".join(affected[:8]) + (", …" if len(affected) > 8 else "")
    counts = _counts([
        ("rows (sample)", len(before), len(after)),
        ("features", before.shape[1], after.shape[1]),
        ("missing values", int(before.isna().sum().sum()), int(after.isna().sum().sum())),
    ])
    summary = (
        f"applies to {len(affected)} column(s): {shown}. Features {before.shape[1]} → {after.shape[1]}, "
        f"missing values {counts.loc[2, 'before']:,} → {counts.loc[2, 'after']:,} on a sample of {len(before):,} rows"
    )
    changed = _changed_values(before, after)
    if changed is not None:
        summary += f"; {changed:,} value(s) changed"
    return StepPreview(before, after, summary, counts)


def _changed_values(before: pd.DataFrame, after: pd.DataFrame) -> int | None:
    """Cells the step changed (clipped, filled, scaled…) when it keeps the columns; ``None`` when it reshapes
    them (one-hot, date parts), where a cell-by-cell count means nothing."""
    if list(before.columns) != list(after.columns):
        return None
    try:
        old, new = before.to_numpy(dtype="float64"), after.to_numpy(dtype="float64")
    except (TypeError, ValueError):
        return int((before.astype(str) != after.astype(str)).to_numpy().sum())
    return int((~np.isclose(old, new, equal_nan=True)).sum())


# ---- global steps -------------------------------------------------------------------------------------


def _global_preview(
    spec: PipelineSpec, index: int, sample: pd.DataFrame, schema: dict, y: pd.Series | None, task: str
) -> StepPreview:
    before = _through(spec, index, sample, schema, y, task, include_current=False)
    after = _through(spec, index, sample, schema, y, task, include_current=True)
    width_before, width_after = before.attrs["n_features"], after.attrs["n_features"]
    counts = _counts([("rows (sample)", len(before), len(after)), ("features", width_before, width_after)])
    summary = f"features {width_before:,} → {width_after:,} on a sample of {len(before):,} rows"
    return StepPreview(before, after, summary, counts)


def _through(
    spec: PipelineSpec, index: int, sample: pd.DataFrame, schema: dict, y: pd.Series | None, task: str,
    *, include_current: bool,
) -> pd.DataFrame:
    """Output of all column steps and the global steps before (or up to) ``index``."""
    last = index if include_current else index - 1
    kept = [s for k, s in enumerate(spec.steps) if s.stage != "global" or k <= last]
    columns = spec.columns.model_copy(update={"rename": {}})  # the sample is already renamed
    partial = spec.model_copy(update={"steps": kept, "columns": columns})
    pipeline = compile_pipeline(partial, schema, task=task, model=None)
    out = pipeline.fit_transform(sample, y)
    try:
        features = [str(f) for f in pipeline.get_feature_names_out()]
    except (AttributeError, ValueError, TypeError):
        features = [f"x{j}" for j in range(out.shape[1])]
    frame = _to_frame(out, features, sample.index)
    frame.attrs["n_features"] = out.shape[1]
    return frame


# ---- small helpers ------------------------------------------------------------------------------------


def _selector_text(selector: st.Selector) -> str:
    return ", ".join(selector) if isinstance(selector, list) else f"all {selector}"


def _counts(rows: list[tuple[str, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["metric", "before", "after"])

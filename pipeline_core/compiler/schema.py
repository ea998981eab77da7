"""One schema: every column of a dataset as a pipeline sees it (name, semantic type, role).

Pages, the drift check, permutation importance and the quality report used to read the raw file each in
their own way, so one date column was "datetime" on Data and in the model but "categorical" on Profile,
and a column the user dropped still showed in importance (issue 15 point 5). :func:`data_schema` is the
one answer, built from the definition plus the data with the compiler's own logic (``apply_column_spec``
for renames and the kept columns, ``infer_schema_reusing`` for types and overrides, ``feature_columns``
for what reaches the model), so what a page shows is what training does.

Roles, the first that applies: ``target``; ``dropped`` when the definition's ``columns.select`` leaves the
column out; ``identifier`` and ``constant`` for types that never become features; ``dropped`` for a
``drop_columns`` step; else ``feature``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from pipeline_core.analysis.column_summary import level_label
from pipeline_core.compiler.columns import ColumnInfo, apply_column_spec, infer_schema, infer_schema_reusing
from pipeline_core.compiler.compile import feature_columns
from pipeline_core.definition import steps as st
from pipeline_core.definition.spec import ColumnsSpec, PipelineSpec
from pipeline_core.transformers import FramePreparer, to_datetime

Role = Literal["target", "feature", "dropped", "identifier", "constant"]
NOT_FEATURES: tuple[Role, ...] = ("dropped", "identifier", "constant")


@dataclass(frozen=True)
class SchemaColumn:
    """One column: ``raw`` is its name in the file, ``name`` the one every step, page and report uses."""

    raw: str
    name: str
    type: str
    reason: str  # why this type (detected from the values, or "set by you")
    role: Role
    role_reason: str  # why this role, for a page to show
    kept: bool  # in the frame the pipeline reads (False: left out by ``columns.select``)
    date_only: bool = False


@dataclass(frozen=True)
class DataSchema:
    """Every column of one dataset under one definition, in the file's order.

    Plain data: a caller caches it by (dataset hash, :meth:`fingerprint` of the definition parts it reads).
    """

    columns: tuple[SchemaColumn, ...]

    def __getitem__(self, name: str) -> SchemaColumn:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(column.name == name for column in self.columns)

    @property
    def kept(self) -> list[SchemaColumn]:
        """The columns the pipeline reads (the definition's ``columns`` section applied), in its order."""
        return [c for c in self.columns if c.kept]

    @property
    def names(self) -> list[str]:
        """Names of the kept columns, as steps, targets and reports use them."""
        return [c.name for c in self.kept]

    @property
    def features(self) -> list[str]:
        """Names of the columns that reach the model."""
        return [c.name for c in self.columns if c.role == "feature"]

    @property
    def target(self) -> str | None:
        return next((c.name for c in self.columns if c.role == "target"), None)

    def types(self) -> dict[str, str]:
        """Semantic type per kept column name (the target's too)."""
        return {c.name: c.type for c in self.kept}

    def raw_names(self) -> dict[str, str]:
        """Kept column name → its name in the file."""
        return {c.name: c.raw for c in self.kept}

    def names_of_raw(self) -> dict[str, str]:
        """Name in the file → name in the pipeline, for every column (left-out ones too)."""
        return {c.raw: c.name for c in self.columns}

    def view(self, frame: pd.DataFrame, *, dropped: bool = True, typed: bool = True) -> pd.DataFrame:
        """``frame`` as the pipeline reads it: kept columns under their names, values read as their types.

        ``dropped=False`` leaves out columns that never reach the model (dropped, identifiers, constants;
        the target stays). ``typed`` reads date columns as dates and number columns as numbers, as the
        model's first step and its date-parts step do, and labels held as numbers as labels; without it the
        values are the file's (for a preview). Columns are not copied unless a type changes them.
        """
        shown = [c for c in self.kept if dropped or c.role not in NOT_FEATURES]
        values = {c.name: as_type(frame[c.raw], c.type) if typed else frame[c.raw] for c in shown}
        return pd.DataFrame(values, index=frame.index, copy=False)

    def fingerprint(self) -> str:
        """A short hash of the whole schema, for cache keys of what is computed from :meth:`view`."""
        text = repr(self.columns).encode()
        return hashlib.sha256(text).hexdigest()[:16]


def column_types(frame: pd.DataFrame, columns: ColumnsSpec,
                 detected: Mapping[Hashable, ColumnInfo] | None = None) -> dict[str, ColumnInfo]:
    """Every column's type under the renames and overrides of ``columns``, keyed by its pipeline name.

    The one part of a schema that reads values, and it depends on nothing but the data and the renames and
    overrides: a caller keeps it per (dataset, columns section). ``detected`` is ``infer_schema(frame)``
    (types without a definition), kept per dataset; only a renamed number column is looked at again.
    """
    detected = detected if detected is not None else infer_schema(frame)
    return infer_schema_reusing(detected, frame, PipelineSpec(columns=columns.model_copy(update={"select": None})))


def feature_types(frame: pd.DataFrame, spec: PipelineSpec, types: Mapping[str, ColumnInfo]) -> dict[str, ColumnInfo]:
    """``infer_schema(frame, spec)`` from :func:`column_types`: the kept columns but the target, in order."""
    return {name: types[name] for name in apply_column_spec(frame.iloc[:0], spec).columns if name != spec.target}


def data_schema(
    frame: pd.DataFrame, spec: PipelineSpec, detected: Mapping[Hashable, ColumnInfo] | None = None, *,
    types: Mapping[str, ColumnInfo] | None = None,
) -> DataSchema:
    """The schema of ``frame`` under ``spec``.

    ``types`` is :func:`column_types` for ``spec.columns`` and ``detected`` is ``infer_schema(frame)``, which a
    caller keeps (inferring reads every value); without them the types are inferred here. Raises
    ``DataError`` as ``apply_column_spec`` does for a definition that does not fit the data (a rename clash,
    a kept column the data lacks).
    """
    typed = types if types is not None else column_types(frame, spec.columns, detected)
    kept = set(apply_column_spec(frame.iloc[:0], spec).columns)
    features = set(feature_columns(spec, {n: i for n, i in typed.items() if n in kept}))
    step_of = {c: (i, s) for i, s in enumerate(spec.steps) if isinstance(s, st.DropColumns) for c in s.columns}
    columns = []
    for raw in frame.columns:
        name = spec.columns.rename.get(raw, raw)
        info = typed[name]
        role, why = _role(name, info, spec, kept=name in kept, feature=name in features, step=step_of.get(name))
        columns.append(SchemaColumn(str(raw), str(name), info.type, info.reason, role, why, name in kept,
                                    info.date_only))
    return DataSchema(tuple(columns))


def _role(name: str, info: ColumnInfo, spec: PipelineSpec, *, kept: bool, feature: bool,
          step: tuple[int, st.DropColumns] | None) -> tuple[Role, str]:
    if name == spec.target:
        return "target", "the column to predict"
    if not kept:
        return "dropped", "left out of the pipeline's columns (Data page, Columns and types)"
    if info.type == "id":
        return "identifier", "looks like a row identifier: never a feature"
    if info.type == "constant":
        return "constant", "one value only: never a feature"
    if step is not None:
        index, drop = step
        return "dropped", f"dropped by step {index + 1}" + (f" ({drop.reason})" if drop.reason else "")
    if not feature:  # feature_columns has a rule this module does not know yet: say so rather than guess
        return "dropped", "does not reach the model"
    return "feature", "reaches the model"


def model_features(pipeline: Any) -> dict[str, str] | None:
    """Name in the file → name in the pipeline, for the columns a compiled pipeline reads (``None`` for a
    pipeline that does not start with the compiler's ``FramePreparer``).

    The fitted pipeline's first step holds the renames and the feature types the run used, the same ones
    :func:`data_schema` gives as ``features``; reading them there also serves a stored model whose run schema
    is gone (Compare rebuilds the hold-out rows of a saved model).
    """
    prepare = pipeline[0] if hasattr(pipeline, "steps") and pipeline.steps else None
    if not isinstance(prepare, FramePreparer):
        return None
    raw_of = {new: raw for raw, new in (prepare.rename or {}).items()}
    return {raw_of.get(name, name): name for name in prepare.types or {}}


def columns_fingerprint(spec: PipelineSpec) -> str:
    """What of a definition a schema depends on (columns section, target, drop steps), as a cache key."""
    drops = [s.model_dump(mode="json") for s in spec.steps if isinstance(s, st.DropColumns)]
    text = spec.columns.model_dump_json() + f"|{spec.target!r}|{drops!r}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def as_type(values: pd.Series, kind: str) -> pd.Series:
    """A column's values read as its semantic type: what a summary of that column should count.

    Dates are parsed as the date-parts step parses them; numbers as the model's first step reads them
    (anything else: missing); labels, text and identifiers held as numbers become text labels (missing
    stays missing), so 12 and 12.0 are one level.
    """
    if kind == "datetime":
        return to_datetime(values)
    if kind == "numeric":
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            return values
        return pd.to_numeric(values, errors="coerce").astype("float64")
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        labels = values.astype(object).map(level_label, na_action="ignore")
        return labels.where(values.notna(), None)
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype(str).where(values.notna(), None)
    return values


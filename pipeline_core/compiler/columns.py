"""Column types and the automatic defaults built on them.

A user who only picks a target should get a strong pipeline, so every column gets a
semantic type (numeric, categorical, datetime, text, id, constant) with the reason it
was chosen; ID-like and constant columns are dropped with that reason.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import pandas as pd

from pipeline_core.definition import steps as st
from pipeline_core.definition.spec import PipelineSpec

TEXT_MIN_MEAN_WORDS = 4
CATEGORICAL_MAX_LEVELS = 50
ID_UNIQUE_RATIO = 0.95
STRING_SAMPLE = 2000  # the first present values that decide between text, dates and labels


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    reason: str
    date_only: bool = False  # a datetime column whose values carry no time of day: hours would be constant


def infer_column(values: pd.Series) -> ColumnInfo:
    """Guess a column's semantic type from its values and say why."""
    name = str(values.name)
    present = values.dropna()
    n_unique = present.nunique()
    if n_unique <= 1:
        return ColumnInfo(name, "constant", f"has {n_unique} distinct value(s): carries no information")
    if pd.api.types.is_bool_dtype(values):
        return ColumnInfo(name, "categorical", "true/false values")
    if pd.api.types.is_datetime64_any_dtype(values):
        return _dates(name, present.iloc[:STRING_SAMPLE], "date/time values")
    ratio = n_unique / max(len(present), 1)
    if pd.api.types.is_numeric_dtype(values):
        is_int = pd.api.types.is_integer_dtype(values) or bool((present % 1 == 0).all())
        if is_int and ratio >= ID_UNIQUE_RATIO and len(present) >= 50 and _is_sequence_like(present, name):
            return ColumnInfo(name, "id", f"{ratio:.0%} unique integers that look like row identifiers")
        return ColumnInfo(name, "numeric", "numbers")
    return _infer_strings(name, present.iloc[:STRING_SAMPLE].astype(str), n_unique, len(present))


def _dates(name: str, stamps: pd.Series, reason: str) -> ColumnInfo:
    """A datetime column, marked date-only when no value of the sample has a time of day."""
    date_only = bool(len(stamps)) and bool((stamps.dt.normalize() == stamps).all())
    return ColumnInfo(name, "datetime", f"{reason} (dates without a time of day)" if date_only else reason, date_only)


def _is_sequence_like(present: pd.Series, name: str) -> bool:
    lowered = name.lower()
    named_like_id = lowered == "id" or lowered.endswith(("_id", "id", "_key", "uuid"))
    span = float(present.max() - present.min() + 1)
    return named_like_id or span <= 1.1 * len(present)


def _infer_strings(name: str, sample: pd.Series, n_unique: int, n_present: int) -> ColumnInfo:
    """``sample``: the first present values as text (only they are read: converting all is slow)."""
    ratio = n_unique / max(n_present, 1)
    mean_words = sample.str.split().str.len().mean() if len(sample) else 0
    if mean_words >= TEXT_MIN_MEAN_WORDS:
        if n_unique <= CATEGORICAL_MAX_LEVELS and ratio < 0.5:
            # a few long labels repeated ("Community-acquired pneumonia with pleural effusion") are classes, not
            # prose: one-hot keeps each whole, where TF-IDF would split them into shared words
            return ColumnInfo(name, "categorical", f"{n_unique} distinct labels of several words each")
        return ColumnInfo(name, "text", f"free text ({mean_words:.0f} words per value on average)")
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    if parsed.notna().mean() > 0.9 and sample.str.contains(r"\d{1,4}[-/.]\d{1,2}", regex=True).mean() > 0.9:
        return _dates(name, parsed.dropna(), "strings that parse as dates")
    if ratio >= ID_UNIQUE_RATIO and n_present >= 50:
        return ColumnInfo(name, "id", f"{ratio:.0%} unique short strings: looks like an identifier")
    if n_unique > CATEGORICAL_MAX_LEVELS:
        return ColumnInfo(name, "categorical", f"{n_unique:,} levels: rare ones are grouped when encoding")
    return ColumnInfo(name, "categorical", f"{n_unique} distinct labels")


def infer_schema(
    frame: pd.DataFrame, spec: PipelineSpec | None = None, *, sliced: bool = False
) -> dict[str, ColumnInfo]:
    """Semantic types for the feature columns after the definition's slicing and overrides."""
    spec = spec or PipelineSpec()
    frame = frame if sliced else apply_column_spec(frame, spec)
    schema = {}
    for col in frame.columns:
        if col == spec.target:
            continue
        forced = spec.columns.types.get(col)
        schema[col] = ColumnInfo(col, forced, "set by you") if forced else infer_column(frame[col])
    return schema


def infer_schema_reusing(
    raw: Mapping[Hashable, ColumnInfo], frame: pd.DataFrame, spec: PipelineSpec
) -> dict[str, ColumnInfo]:
    """``infer_schema(frame, spec)``, taking each column's type from ``raw`` where the answer cannot differ.

    ``raw`` is ``infer_schema(frame)`` (no definition), which a caller can keep per dataset:
    inferring a long frame's types reads every value, so this is what makes choosing a target
    cheap. A renamed column is looked at again only when it is numeric (the name is part of
    the evidence for an integer ID, e.g. ``*_id``); any other type does not depend on the name.
    """
    pairs = [(label, spec.columns.rename.get(label, label)) for label in frame.columns]
    names = list(apply_column_spec(frame.iloc[:0], spec).columns)  # the order and the select checks, without data
    raw_of = {new: old for old, new in pairs}
    if frame.columns.has_duplicates or len(raw_of) < len(pairs) or not all(old in raw for old, _ in pairs):
        return infer_schema(frame, spec)
    schema = {}
    for col in (c for c in names if c != spec.target):
        forced, known = spec.columns.types.get(col), raw[raw_of[col]]
        if forced:
            schema[col] = ColumnInfo(col, forced, "set by you")
        elif raw_of[col] == col or known.type not in ("numeric", "id"):
            schema[col] = ColumnInfo(str(col), known.type, known.reason, known.date_only)
        else:
            schema[col] = infer_column(frame[raw_of[col]].rename(col))
    return schema


def apply_column_spec(frame: pd.DataFrame, spec: PipelineSpec) -> pd.DataFrame:
    """Rename then select, as the definition's ``columns`` section says."""
    from pipeline_core.errors import DataError

    labels = [spec.columns.rename.get(c, c) for c in frame.columns]
    _refuse_rename_collisions(list(frame.columns), labels, spec.columns.rename)
    renamed = frame.copy(deep=False)  # new labels on the same columns: ``rename`` would copy every one
    renamed.columns = labels
    if spec.columns.select is None:
        return renamed
    keep = list(spec.columns.select)
    if spec.target and spec.target not in keep and spec.target in renamed:
        keep.append(spec.target)
    missing = [c for c in keep if c not in renamed.columns]
    if missing:
        raise DataError(f"selected column(s) not in the data: {', '.join(missing)}")
    return renamed[keep]


def _refuse_rename_collisions(raw: list, labels: list, rename: dict[str, str]) -> None:
    """Refuse a rename onto a name another column keeps: two columns of one name made every later step fail
    ("truth value of a Series is ambiguous") on the Train, Features and Clean pages and in the CLI."""
    from pipeline_core.errors import DataError

    if len(set(labels)) == len(labels) or len(set(raw)) < len(raw):  # no clash, or the data came with one
        return
    seen: dict[object, object] = {}
    for old, new in zip(raw, labels, strict=True):
        if new in seen:
            first, other = (seen[new], old) if seen[new] in rename else (old, seen[new])
            kept = f"the data already has a column '{new}'" if other == new else f"'{other}' is renamed to it too"
            raise DataError(f"columns.rename: renaming '{first}' to '{new}' gives two columns named '{new}' "
                            f"({kept}). Choose another new name, or rename '{other}' as well.")
        seen[new] = old


def column_as_seen(frame: pd.DataFrame, spec: PipelineSpec, name: str) -> pd.Series:
    """``apply_column_spec(frame, spec)[name]`` without building the renamed frame's column index."""
    seen = apply_column_spec(frame.iloc[:0], spec).columns  # refuses what apply_column_spec refuses
    labels = [label for label in frame.columns if spec.columns.rename.get(label, label) == name]
    if name not in seen or len(labels) != 1:  # not kept, or several columns named alike: fail or answer alike
        return apply_column_spec(frame, spec)[name]
    column = frame[labels[0]]
    return column if column.name == name else column.rename(name)


def _date_parts(schema: dict[str, ColumnInfo]) -> list[st.Step]:
    """Date parts without the hour for columns holding dates only (an hour column would be constant there)."""
    dates = [info for info in schema.values() if info.type == "datetime"]
    day_parts = [part for part in st.DateParts().parts if part not in ("hour", "minute")]
    date_only = [info.name for info in dates if info.date_only]
    if len(date_only) == len(dates):
        return [st.DateParts(columns="datetime", parts=day_parts)]
    if not date_only:
        return [st.DateParts(columns="datetime")]
    return [st.DateParts(columns=date_only, parts=day_parts),
            st.DateParts(columns=[info.name for info in dates if not info.date_only])]


def default_steps(schema: dict[str, ColumnInfo], boosting: str = "auto") -> list[st.Step]:
    """A strong, general pipeline for the column types present; ``boosting`` is the one-hot step's option (a
    definition's ``open_choices.one_hot_boosting``: ``"large"`` for one saved before schema 6)."""
    types = {info.type for info in schema.values()}
    dropped = [info for info in schema.values() if info.type in ("id", "constant")]
    steps: list[st.Step] = [st.DropMissingTarget()]
    for info in dropped:
        steps.append(st.DropColumns(columns=[info.name], reason=f"{info.type}: {info.reason}"))
    if "numeric" in types:
        steps += [st.Impute(columns="numeric", strategy="median", add_indicator=True),
                  st.Scale(columns="numeric", method="standard")]
    if "categorical" in types:
        steps += [st.Impute(columns="categorical", strategy="constant", fill_value="missing"),
                  st.OneHot(columns="categorical", boosting=boosting)]
    if "datetime" in types:
        steps += [*_date_parts(schema), st.Impute(columns="datetime", strategy="median"),
                  st.Scale(columns="datetime", method="standard")]
    if "text" in types:
        steps.append(st.Tfidf(columns="text"))
    return steps


def resolve_columns(selector: st.Selector, types: dict[str, str]) -> list[str]:
    """The columns of ``types`` a step's selector picks: the listed ones present, or all of a type."""
    if isinstance(selector, list):
        return [c for c in selector if c in types]
    if selector == "all":
        return list(types)
    return [c for c, t in types.items() if t == selector]


def merge_default_steps(steps: list[st.Step], schema: dict[str, ColumnInfo]) -> list[st.Step]:
    """The user's steps plus the defaults they do not cover yet, so a pipeline started by hand still trains.

    A default step is covered when the user has a step of the same kind on the same columns (or of the same
    encoding role on them: one-hot, ordinal or target encoding all encode labels). The added steps come before
    the user's column steps, so imputation precedes what the user put after it; nothing of the user's is
    removed, changed or reordered.
    """
    encoders = {"onehot", "ordinal", "target_encode"}
    types = {name: info.type for name, info in schema.items()}

    def covers(mine: st.Step, default: st.Step) -> bool:
        same_role = mine.kind == default.kind or (mine.kind in encoders and default.kind in encoders)
        if not same_role:
            return False
        if isinstance(default, st.DropColumns):
            return set(default.columns) <= set(getattr(mine, "columns", []))
        if not hasattr(default, "columns"):
            return True
        wanted = set(resolve_columns(default.columns, types))
        return bool(wanted) and wanted <= set(resolve_columns(mine.columns, types))

    missing = [d for d in default_steps(schema) if not any(covers(mine, d) for mine in steps)]
    first_column_step = next((i for i, s in enumerate(steps) if s.stage != "rows"), len(steps))
    rows = [d for d in missing if d.stage in ("rows", "drop")]
    columns = [d for d in missing if d.stage not in ("rows", "drop")]
    return [*steps[:first_column_step], *rows, *columns, *steps[first_column_step:]]

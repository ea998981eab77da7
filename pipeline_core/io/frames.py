"""Plain pandas helpers behind the Data page: paging, column plans, merging two tables.

Nothing here touches Streamlit or a database, so every function is testable on tiny
frames and errors are :class:`DataError`/:class:`SpecError` messages a user can act on.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Literal

import pandas as pd

from pipeline_core.errors import DataError, SpecError

JoinHow = Literal["inner", "left", "right", "outer"]
MAX_MERGE_ROWS = 5_000_000
RIGHT_SUFFIX = "_right"


# ---- paging and identity -------------------------------------------------------------------


def n_pages(n_rows: int, page_size: int) -> int:
    """How many pages ``n_rows`` rows fill (at least one, so an empty table still has page 1)."""
    if page_size < 1:
        raise SpecError("page size must be at least 1")
    return max(1, math.ceil(n_rows / page_size))


def page_of(frame: pd.DataFrame, page: int, page_size: int) -> pd.DataFrame:
    """Rows of 1-based ``page``; a page past the end is clamped to the last one."""
    page = min(max(1, page), n_pages(len(frame), page_size))
    start = (page - 1) * page_size
    return frame.iloc[start : start + page_size]


def stored_table_sha256(frame: pd.DataFrame) -> str:
    """Identity of a table the store keeps without a file to hash (samples, merges, cleaned copies).

    Everything that makes two stored tables different counts: values, row index, column names and
    dtypes; it stands where a file's sha256 would, so a dataset made twice is recognised.
    """
    digest = hashlib.sha256()
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return digest.hexdigest()




def training_values_sha256(frame: pd.DataFrame) -> str:
    """What a model learned from, for a run's provenance: the values and column names, in row order.

    Unlike :func:`stored_table_sha256` the row labels do not count (training renumbers rows), so the
    same data trains to the same hash whether it came from a file, a sample or a merge.
    """
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


# ---- column plans: select, rename, reorder -----------------------------------------------------


def check_rename(columns: list[str], rename: dict[str, str]) -> dict[str, str]:
    """Keep only real renames, and refuse ones that leave two columns with the same name."""
    cleaned = {old: new.strip() for old, new in rename.items() if old in columns and new.strip() and new != old}
    final = [cleaned.get(c, c) for c in columns]
    clashes = sorted({name for name in final if final.count(name) > 1})
    if clashes:
        listed = ", ".join(map(repr, clashes))
        raise SpecError(f"columns.rename: two columns would be called {listed}; pick other names")
    return cleaned


def column_plan(columns: list[str], select: list[str] | None, rename: dict[str, str]) -> pd.DataFrame:
    """One row per raw column, in output order: keep?, new name; the editable table of the Data page.

    ``select`` holds names *after* renaming (that is how the definition applies them).
    """
    renamed = {c: rename.get(c, c) for c in columns}
    if select is None:
        order = list(columns)
    else:
        back = {new: old for old, new in renamed.items()}
        chosen = [back[name] for name in select if name in back]
        order = chosen + [c for c in columns if c not in chosen]
    keep = {c: select is None or renamed[c] in select for c in columns}
    return pd.DataFrame({"column": order, "keep": [keep[c] for c in order], "name": [renamed[c] for c in order]})


def plan_to_spec(plan: pd.DataFrame, columns: list[str]) -> tuple[list[str] | None, dict[str, str]]:
    """Turn an edited plan back into ``(select, rename)``; ``select`` is None when nothing changed."""
    rows = plan[plan["column"].isin(columns)]
    names = rows["name"].fillna("").astype(str)
    rename = check_rename(columns, dict(zip(rows["column"], names, strict=True)))
    kept = [rename.get(c, c) for c, keep in zip(rows["column"], rows["keep"], strict=True) if bool(keep)]
    if not kept:
        raise SpecError("columns.select: keep at least one column")
    if kept == [rename.get(c, c) for c in columns]:
        return None, rename
    return kept, rename


# ---- merging two tables ---------------------------------------------------------------------------


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def suggest_mapping(left: list[str], right: list[str]) -> dict[str, str]:
    """Right-table columns whose name differs from a left column only in case, spaces or punctuation."""
    by_normal = {_normal(c): c for c in left}
    return {r: by_normal[_normal(r)] for r in right if r not in left and _normal(r) in by_normal}


def merge_frames(
    left: pd.DataFrame,
    right: pd.DataFrame,
    *,
    on: list[str],
    mapping: dict[str, str] | None = None,
    how: JoinHow = "inner",
) -> pd.DataFrame:
    """Join ``right`` onto ``left`` by the key columns ``on`` (left-table names).

    ``mapping`` renames right-table columns to the left table's names first (``{"CustID": "customer_id"}``),
    so keys and columns that mean the same thing line up. Other shared names get a ``_right`` suffix.
    """
    right = right.rename(columns=_check_mapping(left, right, mapping or {}))
    if not on:
        raise DataError("merge: choose at least one key column")
    for side, frame in (("first", left), ("second", right)):
        absent = [k for k in on if k not in frame.columns]
        if absent:
            raise DataError(f"merge: key column(s) {', '.join(absent)} are not in the {side} table; map them first")
    left_keys, right_keys = _aligned_keys(left, right, on)
    expected = _estimated_rows(left_keys, right_keys, how)
    if expected > MAX_MERGE_ROWS:
        raise DataError(
            f"merge: the keys repeat so much that the result would have about {expected:,} rows "
            f"(limit {MAX_MERGE_ROWS:,}); check that the key columns identify rows"
        )
    merged = left.assign(**left_keys).merge(right.assign(**right_keys), on=on, how=how, suffixes=("", RIGHT_SUFFIX))
    return merged.reset_index(drop=True)


def _check_mapping(left: pd.DataFrame, right: pd.DataFrame, mapping: dict[str, str]) -> dict[str, str]:
    mapping = {old: new for old, new in mapping.items() if new and old != new}
    unknown = [r for r in mapping if r not in right.columns]
    if unknown:
        raise DataError(f"merge: mapped column(s) {', '.join(unknown)} are not in the second table")
    targets = list(mapping.values())
    twice = sorted({t for t in targets if targets.count(t) > 1})
    if twice:
        raise DataError(f"merge: several columns are mapped to {', '.join(twice)}; map each name once")
    kept = [c for c in right.columns if c not in mapping]
    clash = sorted(set(targets) & set(kept))
    if clash:
        raise DataError(f"merge: the second table already has column(s) {', '.join(clash)}; map them elsewhere")
    return mapping


def _aligned_keys(left: pd.DataFrame, right: pd.DataFrame, on: list[str]) -> tuple[dict, dict]:
    """Key columns cast to one comparable type per key (numbers stay numbers, otherwise text)."""
    left_out, right_out = {}, {}
    for key in on:
        a, b = left[key], right[key]
        if a.dtype == b.dtype:
            left_out[key], right_out[key] = a, b
        elif pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            left_out[key], right_out[key] = a.astype("float64"), b.astype("float64")
        elif pd.api.types.is_numeric_dtype(a) or pd.api.types.is_numeric_dtype(b):
            a_num, b_num = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
            if a_num[a.notna()].isna().any() or b_num[b.notna()].isna().any():
                raise DataError(
                    f"merge: key '{key}' holds numbers in one table and text in the other; "
                    "fix the column types or pick another key"
                )
            left_out[key], right_out[key] = a_num.astype("float64"), b_num.astype("float64")
        else:
            left_out[key], right_out[key] = _as_text(a), _as_text(b)
    return left_out, right_out


def _as_text(values: pd.Series) -> pd.Series:
    return values.astype("object").where(values.isna(), values.astype(str))


def _estimated_rows(left_keys: dict, right_keys: dict, how: JoinHow) -> int:
    """Exact size of the join result, computed from key counts (cheap, unlike the join itself)."""
    a = pd.DataFrame(left_keys).value_counts(dropna=False)
    b = pd.DataFrame(right_keys).value_counts(dropna=False)
    both = a.to_frame("a").join(b.to_frame("b"), how="outer").fillna(0)
    matched = int((both["a"] * both["b"]).sum())
    only_left = int(both.loc[both["b"] == 0, "a"].sum())
    only_right = int(both.loc[both["a"] == 0, "b"].sum())
    extra = {"inner": 0, "left": only_left, "right": only_right, "outer": only_left + only_right}[how]
    return matched + extra


def spec_columns(
    columns: list[str], select: list[str] | None, rename: dict[str, str], target: str | None = None
) -> list[str]:
    """Column names the steps see after the definition's rename and select, without touching the data.

    Mirrors :func:`pipeline_core.compiler.columns.apply_column_spec` (the target is always kept), but
    silently skips selected names that are not in the data instead of raising.
    """
    renamed = [rename.get(c, c) for c in columns]
    if select is None:
        return renamed
    keep = [c for c in select if c in renamed]
    if target and target in renamed and target not in keep:
        keep.append(target)
    return keep


# ---- appending logged rows -------------------------------------------------------------------


def append_records(frame: pd.DataFrame, records: list[dict]) -> pd.DataFrame:
    """``frame`` with ``records`` (one dict per row, e.g. logged inputs as JSON kept them) appended, typed like it.

    The log keeps JSON: dates as ISO text, numbers that may arrive as text from an uploaded outcome file. Each
    appended column is converted to ``frame``'s dtype where it can be (what cannot be becomes missing), so the
    result stores as Parquet and trains like the original; keys ``frame`` lacks are dropped, columns the records
    lack are missing.
    """
    extra = pd.DataFrame.from_records(records, columns=list(frame.columns)) if records \
        else frame.iloc[:0]
    for column in frame.columns:
        extra[column] = _like(extra[column], frame[column])
    return pd.concat([frame, extra], ignore_index=True)


def _like(values: pd.Series, reference: pd.Series) -> pd.Series:
    dtype = reference.dtype
    if values.dtype == dtype:
        return values
    if pd.api.types.is_datetime64_any_dtype(dtype):
        converted = pd.to_datetime(values, errors="coerce", utc=getattr(dtype, "tz", None) is not None,
                                   format="ISO8601")
        return converted.dt.tz_convert(dtype.tz) if getattr(dtype, "tz", None) is not None else converted
    if pd.api.types.is_bool_dtype(dtype):
        return values.map({True: True, False: False, "True": True, "False": False, "true": True, "false": False})
    if pd.api.types.is_numeric_dtype(dtype):
        numbers = pd.to_numeric(values, errors="coerce")
        return numbers.astype(dtype) if numbers.notna().all() else numbers
    if isinstance(dtype, pd.CategoricalDtype):
        return values.astype("object").where(values.isna(), values.astype(str)).astype(dtype)
    return values.astype("object").where(values.isna(), values.astype(str)) if pd.api.types.is_string_dtype(dtype) \
        else values

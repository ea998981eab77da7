"""What every reader does after parsing: unique column names and one stable dtype per column.

CSV, JSON, Excel and Parquet all end here, so a pipeline sees the same kind of table whatever
the upload's format: every column addressable by a unique name, mixed columns turned to text
(with a notice saying where), ISO dates parsed, and each change reported in plain language.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from pipeline_core.errors import DataError

_UNNAMED = re.compile(r"^Unnamed: \d+(_level_\d+)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$")
# How every text pandas reads as a number (or an ISO date) begins; a column with no such value is plain text.
_NUMBER_START = r"^\s*[-+]?(?:\d|\.\d|inf|nan)"


def clean_column_names(names: list[Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """Unique, non-empty string names, plus the (old, new) pairs that changed.

    Empty and pandas ``Unnamed: N`` names become ``column_<position>``; repeats get ``_2``,
    ``_3``... so every column can be addressed by name in a pipeline definition.
    """
    bases = []
    for i, raw in enumerate(names):
        text = "" if raw is None or (isinstance(raw, float) and np.isnan(raw)) else str(raw).strip()
        bases.append(f"column_{i + 1}" if not text or _UNNAMED.match(text) else text)
    originals, taken, out = set(bases), set(), []
    for base in bases:
        new, k = base, 2
        while new in taken or (new != base and new in originals):
            new, k = f"{base}_{k}", k + 1
        taken.add(new)
        out.append(new)
    changed = [(str(raw) if raw is not None else "", new) for raw, new in zip(names, out, strict=True)
               if str(raw) != new]
    return out, changed


def note_renames(renamed: list[tuple[str, str]], notices: list[str]) -> None:
    """Tell the user which columns :func:`clean_column_names` renamed (the first ten, then a count)."""
    if renamed:
        shown = ", ".join(f"'{old}' → '{new}'" for old, new in renamed[:10])
        more = f" and {len(renamed) - 10} more" if len(renamed) > 10 else ""
        notices.append(f"Renamed {len(renamed)} column(s) so every name is unique and non-empty: {shown}{more}.")


def finish_frame(
    frame: pd.DataFrame, name: str, fmt: str, notices: list[str], where: Callable[[int], str],
    strings: set[str] = frozenset(),  # type: ignore[assignment]
) -> pd.DataFrame:
    """Refuse empty tables, then give every column one stable dtype, reporting what changed.

    ``strings`` names columns the parser already typed as text: they skip the full type scan.
    """
    if frame.shape[0] == 0:
        raise DataError(f"'{name}' has no rows, only a header. Upload a file with data rows.")
    converted_dates = []
    for col in frame.columns:
        series = frame[col]
        if isinstance(series.dtype, pd.CategoricalDtype):
            frame[col] = series = series.astype(object)
        if series.dtype == object:
            stable, date = _stabilise(series, notices, where, known_text=col in strings)
            if stable is not series:
                frame[col] = stable
            converted_dates += [col] if date else []
        elif pd.api.types.is_datetime64_any_dtype(series.dtype) and fmt in ("csv", "json", "jsonl"):
            converted_dates.append(col)
    if converted_dates:
        notices.append("Read " + ", ".join(f"'{c}'" for c in converted_dates) + " as dates (ISO format).")
    return frame


def is_settled_text(series: pd.Series) -> bool:
    """True when :func:`finish_frame` would leave this column as it is: text whose first value is no ISO date.

    Lets a caller that builds small frames often (the scoring service, per request) skip the full type scan
    for the columns it cannot change; a column of text is only ever converted when its values are ISO dates.
    """
    if series.dtype != object or pd.api.types.infer_dtype(series, skipna=True) != "string":
        return False
    first = series.first_valid_index()
    return first is None or not _ISO_DATE.match(str(series[first]))


def _stabilise(
    series: pd.Series, notices: list[str], where: Callable[[int], str], known_text: bool = False
) -> tuple[pd.Series, bool]:
    kind = "string" if known_text else pd.api.types.infer_dtype(series, skipna=True)
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        return pd.to_numeric(series), False
    if kind in ("datetime", "datetime64", "date"):
        converted = pd.to_datetime(series, errors="coerce")
        return (converted, False) if converted.notna().sum() == series.notna().sum() else (series, False)
    if kind == "string":
        return _stabilise_strings(series, notices, where)
    if kind in ("boolean", "empty"):
        return series, False
    return _as_text(series, notices, where), False


def _stabilise_strings(series: pd.Series, notices: list[str], where: Callable[[int], str]) -> tuple[pd.Series, bool]:
    """Dates become datetime64; a column that is mostly numbers but has text stays text, with a notice."""
    head = series.iloc[:5000].dropna()
    if head.empty:
        return series, False
    if not _may_hold_numbers(head):
        return series, False  # no number and no date (both begin so): skip the costlier numeric parse below
    numeric_share = pd.to_numeric(head, errors="coerce").notna().mean()
    if numeric_share >= 0.5:
        bad = pd.to_numeric(series, errors="coerce").isna() & series.notna()
        if bad.any():
            position = int(np.argmax(bad.to_numpy()))
            notices.append(f"Column '{series.name}' is mostly numbers but has text such as "
                           f"{str(series.iloc[position])[:40]!r} ({where(position)}); the whole column was read as "
                           "text so it has one type. Fix or clear those values to use it as numbers.")
        return series, False
    if numeric_share == 0 and head.iloc[:500].str.match(_ISO_DATE).all():
        return _parse_iso_dates(series)
    return series, False


def _may_hold_numbers(values: pd.Series) -> bool:
    """Whether any value begins as a number or a date does, tested in Arrow (C++): the scoring service reads a CSV
    body per request, and a per-value Python test of its label columns cost more than its parse."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pa.array(values, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return True  # not all str: the full test decides
    return bool(pc.any(pc.match_substring_regex(text, _NUMBER_START, ignore_case=True)).as_py())


def _parse_iso_dates(series: pd.Series) -> tuple[pd.Series, bool]:
    with_zone = series.dropna().iloc[:500].str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True).any()
    try:
        parsed = pd.to_datetime(series, format="ISO8601", errors="coerce", utc=bool(with_zone))
    except (ValueError, TypeError, OverflowError):
        return series, False
    if parsed.notna().sum() != series.notna().sum():
        return series, False
    return parsed, True


def _as_text(series: pd.Series, notices: list[str], where: Callable[[int], str]) -> pd.Series:
    """Mixed Python types (numbers and text, lists...) become text, so the column has one type."""
    present = series.notna().to_numpy()
    is_str = series.map(lambda v: isinstance(v, str)).to_numpy()
    out = series.map(_to_text).where(present, None)
    if is_str.any() and (present & ~is_str).any():
        position = int(np.argmax(is_str & present))
        notices.append(f"Column '{series.name}' mixes numbers and text (e.g. {str(series.iloc[position])[:40]!r} at "
                       f"{where(position)}); all its values were read as text so it has one type.")
    return out


def _to_text(value: Any) -> Any:
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)

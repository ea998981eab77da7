"""Tables written for download: CSV and Excel that are safe to open, and safe file names.

A spreadsheet runs a cell starting with ``=`` as a formula, so exported text is neutralised
(formula injection); a download name comes from user input, so it is cut down to characters
that cannot traverse folders or be taken for an option.
"""

from __future__ import annotations

import io
import re
from collections import Counter

import pandas as pd

from pipeline_core.errors import DataError

_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_ROWS = 1_048_575  # data rows under the header
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_CELL_CHARS = 32_767
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_WINDOWS_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)),
                               *(f"LPT{i}" for i in range(10))})


def write_csv_safe(frame: pd.DataFrame, *, bom: bool = False) -> bytes:
    """CSV bytes that are safe to open in a spreadsheet (no formula injection).

    Text cells (and column names) starting with ``= + - @``, tab or CR get a leading ``'`` so
    Excel/Sheets show them as text instead of running them. Numbers, negative ones included,
    and text that is just a number are left untouched. ``bom=True`` helps Excel detect UTF-8.
    """
    safe = neutralise_frame(frame, unique=False)
    text = safe.to_csv(index=False, lineterminator="\r\n")  # RFC 4180: quotes any value holding CR or LF
    return text.encode("utf-8-sig" if bom else "utf-8")


def neutralise_frame(frame: pd.DataFrame, *, unique: bool = True) -> pd.DataFrame:
    """A copy whose text cells, column names and text index labels cannot run as spreadsheet formulas.

    The rule of :func:`write_csv_safe` (a leading ``'`` before ``= + - @``, tab or CR; numbers untouched),
    for tables that leave the app by other routes too: Streamlit's table toolbar downloads what a table
    shows as CSV, raw. ``unique`` keeps column names distinct (``=a`` and ``'=a`` would both read ``'=a``),
    which a displayed table needs.
    """
    safe = frame.copy()
    names = [_neutralise(str(c)) for c in safe.columns]
    safe.columns = _unique(names) if unique else names
    for i in range(safe.shape[1]):
        column = safe.iloc[:, i]
        if column.dtype == object or isinstance(column.dtype, (pd.CategoricalDtype, pd.StringDtype)):
            safe.isetitem(i, _neutralise_series(column.astype(object)))
    if safe.index.dtype == object:
        safe.index = pd.Index(_neutralise_series(safe.index.to_series()).to_numpy(), name=safe.index.name)
    return safe


def write_excel_safe(frame: pd.DataFrame, *, sheet_name: str = "data") -> bytes:
    """An .xlsx workbook of ``frame`` that is safe to open: values only, no cell can be a formula.

    Text cells and column names get the same leading ``'`` as :func:`write_csv_safe` (a
    workbook writer would otherwise store ``=...`` as a live formula); numbers stay numbers.
    Characters XML cannot hold are removed, text is cut at Excel's 32,767-character cell
    limit, and dates lose their time zone (Excel has none). Raises :class:`DataError` when the
    table is larger than a sheet can hold.
    """
    if len(frame) > EXCEL_MAX_ROWS or frame.shape[1] > EXCEL_MAX_COLUMNS:
        raise DataError(f"The table has {len(frame):,} rows × {frame.shape[1]:,} columns; an Excel sheet holds at "
                        f"most {EXCEL_MAX_ROWS:,} rows (plus the header) and {EXCEL_MAX_COLUMNS:,} columns. "
                        "Download it as CSV instead.")
    safe = pd.DataFrame({i: _excel_column(frame.iloc[:, i]) for i in range(frame.shape[1])}, index=frame.index)
    safe.columns = _unique([_excel_text(_neutralise(str(c))) for c in frame.columns])
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        safe.to_excel(writer, index=False, sheet_name=sheet_name)
    return buffer.getvalue()


def safe_download_name(name: str, default: str = "download") -> str:
    """A file name made only of ``[A-Za-z0-9._-]`` that cannot hide, traverse or be an option."""
    base = re.split(r"[\\/]", str(name))[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base)
    cleaned = re.sub(r"_{2,}", "_", cleaned).strip("._-") or default
    if cleaned.split(".")[0].upper() in _WINDOWS_RESERVED:
        cleaned = f"_{cleaned}"
    return cleaned if len(cleaned) <= 120 else cleaned[-120:]


def _excel_column(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_localize(None)  # the wall-clock time as shown, without the zone
    if series.dtype == object or isinstance(series.dtype, (pd.CategoricalDtype, pd.StringDtype)):
        values = _neutralise_series(series.astype(object))
        return values.map(lambda v: _excel_text(v) if isinstance(v, str) else v)
    return series


def _excel_text(text: str) -> str:
    return _XML_ILLEGAL.sub("", text)[:EXCEL_MAX_CELL_CHARS]


def _unique(names: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    out = []
    for name in names:
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


def _neutralise(text: str) -> str:
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def _neutralise_series(series: pd.Series) -> pd.Series:
    text = series.map(lambda v: isinstance(v, str))
    risky = text & series.where(text, "").str.startswith(_FORMULA_START).fillna(False).astype(bool)
    if not risky.any():
        return series
    out = series.copy()
    out[risky] = series[risky].map(_neutralise)
    return out

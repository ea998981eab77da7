"""Reading Excel (.xlsx) uploads: cached values only, never formulas, links or macros.

A workbook is an untrusted ZIP of XML: its archive is checked (``safety.py``) before openpyxl
opens it read-only with defusedxml, a sheet is chosen, and Excel's error values become missing.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import pandas as pd

from pipeline_core.errors import DataError
from pipeline_core.io.options import ReadOptions
from pipeline_core.io.safety import check_memory_budget, check_zip_safety, zip_infos
from pipeline_core.io.stabilise import clean_column_names, finish_frame, note_renames

# Bytes a cell costs while the frame is built: the row tuple openpyxl yields, our padded row and the frame's
# own slot (8 bytes each, all alive at once). Charged per cell of the rectangle rows x widest row, which is
# what the frame will be: a row touching column XFD makes every row 16,384 cells wide.
EXCEL_CELL_BYTES = 24
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"})


def read_excel(data: bytes, opts: ReadOptions, notices: list[str]) -> pd.DataFrame:
    """The workbook's chosen sheet as a frame, after the archive and memory checks; notices say which sheet."""
    check_zip_safety(data, opts.name)
    unpacked = sum(i.file_size for i in zip_infos(data, opts.name))
    check_memory_budget(unpacked, len(data), opts)
    rows, numbers = _excel_rows(data, opts, notices, unpacked)
    if len(rows) < 2:
        raise DataError(f"'{opts.name}' has no rows: the sheet is empty or has only a header. Add data rows.")
    width = max(len(r) for r in rows)
    names, renamed = clean_column_names(list(rows[0]) + [None] * (width - len(rows[0])))
    note_renames(renamed, notices)
    body, errors = _excel_body(rows[1:], width)
    if errors:
        notices.append(f"Replaced {errors:,} Excel error value(s) such as #DIV/0! or #N/A with missing values.")
    frame = pd.DataFrame(body, columns=names)
    return finish_frame(frame, opts.name, "excel", notices, lambda i: f"row {numbers[i + 1]}")


def _excel_rows(
    data: bytes, opts: ReadOptions, notices: list[str], unpacked: int
) -> tuple[list[tuple[Any, ...]], list[int]]:
    """Non-empty rows with trailing blanks trimmed, and their sheet row numbers; values only, never formulas.

    The frame is a rectangle as wide as the widest row, so an 84 KB workbook whose rows each touch column
    XFD becomes 16,384 columns (3.1 GB for 6,000 rows) although its XML is tiny. The sheet's declared
    dimension is checked against the budget first; it can lie, so while reading, the rectangle read so far
    (rows x widest row) is checked after every row and the file refused as soon as it would not fit, before
    the frame is built (``unpacked``, the archive's size, is the least the values take).
    """
    import defusedxml  # noqa: F401  - openpyxl parses with defusedxml when it is importable
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl style warnings mean nothing to users
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception as e:  # noqa: BLE001 - openpyxl raises many types for damaged files
        raise DataError(f"'{opts.name}' could not be opened as an Excel workbook ({e}). Re-save it in Excel.") from e
    try:
        sheet = _pick_sheet(book, opts, notices)
        limit = None if opts.max_rows is None else opts.max_rows + 1
        declared_rows = (sheet.max_row or 0) if limit is None else min(sheet.max_row or 0, limit)
        check_memory_budget(max(unpacked, declared_rows * (sheet.max_column or 0) * EXCEL_CELL_BYTES), len(data),
                            opts)
        sheet.reset_dimensions()  # read every row, whatever the dimension declares
        rows, numbers, width = [], [], 0
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            trimmed = _trim_row(row)
            if trimmed:
                rows.append(trimmed)
                numbers.append(number)
                width = max(width, len(trimmed))
                check_memory_budget(max(unpacked, len(rows) * width * EXCEL_CELL_BYTES), len(data), opts)
                if limit is not None and len(rows) >= limit:
                    break
        return rows, numbers
    finally:
        book.close()


def _pick_sheet(book: Any, opts: ReadOptions, notices: list[str]) -> Any:
    names = list(book.sheetnames)
    listed = ", ".join(f"'{n}'" for n in names)
    if opts.sheet is None:
        if len(names) > 1:
            notices.append(f"'{opts.name}' has {len(names)} sheets ({listed}); read the first, '{names[0]}'. "
                           "Choose another sheet to read it instead.")
        return book[names[0]]
    if isinstance(opts.sheet, int) and 0 <= opts.sheet < len(names):
        return book[names[opts.sheet]]
    if isinstance(opts.sheet, str) and opts.sheet in names:
        return book[opts.sheet]
    raise DataError(f"'{opts.name}' has no sheet {opts.sheet!r}. Its sheets are {listed}.")


def _trim_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    end = len(row)
    while end and (row[end - 1] is None or (isinstance(row[end - 1], str) and not row[end - 1].strip())):
        end -= 1
    return row[:end]


def _excel_body(rows: list[tuple[Any, ...]], width: int) -> tuple[list[list[Any]], int]:
    body, errors = [], 0
    for row in rows:
        values = list(row) + [None] * (width - len(row))
        for j, v in enumerate(values):
            if isinstance(v, str) and v in EXCEL_ERRORS:
                values[j], errors = None, errors + 1
        body.append(values)
    return body, errors

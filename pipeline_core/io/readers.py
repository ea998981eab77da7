"""Read uploaded tables (CSV/TSV, Excel, Parquet, JSON) safely and predictably: the entry points.

Uploads are untrusted and often messy. So the format is decided by the bytes, never by
the file name; archives are checked before anything unpacks them; and every decision the
reader takes on the user's behalf (detected delimiter or encoding, renamed columns, text
found in a numeric column, parsed dates...) comes back as a plain-language notice. Every
refusal is a :class:`DataError` naming the file, the line or column, and what to do.

This module is where callers come in and where the bytes are told apart (magic bytes, ZIP
contents) and handed to one format reader: ``text`` (delimited text, and JSON via
``json_files``), ``excel`` or ``parquet_files``. Every reader ends in ``stabilise``; the
archive and memory checks are in ``safety``; downloads are written by ``writers``.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline_core.errors import DataError
from pipeline_core.io.excel import read_excel
from pipeline_core.io.limits import DEFAULT_MEMORY_BUDGET_BYTES
from pipeline_core.io.options import ReadOptions
from pipeline_core.io.parquet_files import read_parquet
from pipeline_core.io.safety import zip_infos
from pipeline_core.io.text import SAMPLE_BYTES, as_bytes, read_text

FORMATS = ("csv", "tsv", "excel", "parquet", "json", "jsonl")
MAP_FROM_BYTES = 8 * 2**20  # read_path memory-maps files at least this large

# Known non-table formats: (magic bytes, what it is, what to do). Checked before any parser sees the data.
_NOT_TABLES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image", "Upload the table as CSV, Excel, Parquet or JSON."),
    (b"\xff\xd8\xff", "a JPEG image", "Upload the table as CSV, Excel, Parquet or JSON."),
    (b"GIF87a", "a GIF image", "Upload the table as CSV, Excel, Parquet or JSON."),
    (b"GIF89a", "a GIF image", "Upload the table as CSV, Excel, Parquet or JSON."),
    (b"%PDF-", "a PDF document", "Export the table from its source as CSV or Excel."),
    (b"\x1f\x8b", "a gzip-compressed file", "Decompress it and upload the table inside."),
    (b"\xfd7zXZ\x00", "an xz-compressed file", "Decompress it and upload the table inside."),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "Extract it and upload the table inside."),
    (b"Rar!\x1a\x07", "a RAR archive", "Extract it and upload the table inside."),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file", "Decompress it and upload the table inside."),
    (b"SQLite format 3\x00", "an SQLite database", "Export the table you need as CSV or Parquet."),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file", "Export the table as CSV or Parquet."),
    (b"\x93NUMPY", "a NumPy array file", "Save the data as CSV or Parquet."),
    (b"ARROW1", "an Arrow/Feather file", "Save it as Parquet (pandas: frame.to_parquet)."),
    (b"\x7fELF", "a program (ELF executable)", "Upload a data table instead."),
)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PICKLE = ("a Python pickle",
           "Pickles can run code when opened, so they are never read. Save the data as CSV or Parquet.")


@dataclass
class ReadResult:
    """A parsed table plus everything the user should know about how it was read."""

    frame: pd.DataFrame
    format: str
    sha256: str
    delimiter: str | None = None
    encoding: str | None = None
    notices: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- public entry points


def read_table(
    data: bytes,
    file_name: str,
    *,
    sheet: str | int | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    max_rows: int | None = None,
    memory_budget_bytes: int | None = None,
    budget_setting: str = "the memory budget",
) -> ReadResult:
    """Parse an uploaded file into a DataFrame, deciding the format from its content.

    ``sheet`` picks an Excel sheet (name or 0-based index), ``delimiter``/``encoding`` override
    CSV detection and ``max_rows`` reads only the first rows (previews). Raises DataError for
    anything the user must fix; the message names the file and the line or column.
    """
    name = _display_name(file_name)
    if max_rows is not None and max_rows < 1:
        raise DataError(f"max_rows must be at least 1 to read '{name}' (got {max_rows}).")
    budget = memory_budget_bytes if memory_budget_bytes is not None else DEFAULT_MEMORY_BUDGET_BYTES
    opts = ReadOptions(name, sheet, delimiter, encoding, max_rows, budget, budget_setting)
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(lambda: hashlib.sha256(data).hexdigest())  # hashlib releases the GIL
        try:
            result = _read(data, opts)
        except DataError:
            raise
        except Exception as e:  # noqa: BLE001 - a parser's own failure must reach the user as a reason, not a crash
            raise DataError(_unexpected_failure(name, e)) from e
        result.sha256 = digest.result()
    return result


def _unexpected_failure(name: str, error: BaseException) -> str:
    """One line for a failure the readers did not foresee (a parser bug, a file shape nobody anticipated).

    Every caller (the Data page, the CLI) shows a ``DataError`` as a reason; anything else became the
    generic error page or a traceback, so the parser's own words are kept, on one line and short.
    """
    detail = " ".join(str(error).split())
    detail = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
    if len(detail) > 200:
        detail = detail[:197] + "..."
    return (f"'{name}' could not be read ({detail}). Check that it is a CSV, TSV, Excel (.xlsx), Parquet or "
            "JSON table, or save it again from the program that made it.")


def read_path(path: str | os.PathLike[str], **options: Any) -> ReadResult:
    """Read a file from disk with :func:`read_table` (same options), naming it by its file name.

    A large file is memory-mapped rather than copied into memory first: the parser then starts
    at once and reads pages as it goes, as ``pandas.read_csv`` does with a path.
    """
    path = Path(path)
    try:
        data = _map_file(path)
    except OSError as e:
        raise DataError(f"Cannot open '{path.name}': {e.strerror or e}. Check the path and permissions.") from e
    return read_table(data, path.name, **options)  # type: ignore[arg-type]  # mmap is bytes-like


def _map_file(path: Path) -> bytes | mmap.mmap:
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0 or size < MAP_FROM_BYTES:
            return handle.read()
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


# ---------------------------------------------------------------- dispatch


def _read(data: bytes, opts: ReadOptions) -> ReadResult:
    """Dispatch on content. ``data`` may be a read-only ``mmap`` (see ``read_path``): the text path only
    slices, searches and views it; the binary formats get a copy as ``bytes``."""
    if not data or (len(data) < SAMPLE_BYTES and not data[:SAMPLE_BYTES].strip()):
        raise DataError(f"'{opts.name}' is empty: no rows to read. Upload a file with a header row and data rows.")
    kind = _sniff_binary(data, opts.name)
    notices: list[str] = []
    if kind == "parquet":
        frame, fmt, enc, delim = read_parquet(as_bytes(data), opts, notices), "parquet", None, None
    elif kind == "excel":
        frame, fmt, enc, delim = read_excel(as_bytes(data), opts, notices), "excel", None, None
    else:
        frame, fmt, enc, delim = read_text(data, opts, notices)
    _note_name_mismatch(opts.name, fmt, notices)
    return ReadResult(frame=frame, format=fmt, sha256="", delimiter=delim, encoding=enc, notices=notices)


def _sniff_binary(data: bytes, name: str) -> str | None:
    """'parquet', 'excel', or None for text; refuses every other binary format by name."""
    if data[:4] == b"PAR1":
        return "parquet"
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _zip_kind(as_bytes(data), name)
    if data[:len(_OLE)] == _OLE:
        raise DataError(f"'{name}' is a legacy Excel 97-2003 workbook (.xls) or another old Office file, which "
                        "cannot be read safely. Open it in Excel or LibreOffice, save it as .xlsx (or CSV) and "
                        "upload that.")
    for magic, what, todo in _NOT_TABLES:
        if data[:len(magic)] == magic:
            raise DataError(f"'{name}' is {what}, not a table. {todo}")
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise DataError(f"'{name}' is {_PICKLE[0]}, not a table. {_PICKLE[1]}")
    if data[:3] == b"BZh" and data[4:10] == b"1AY&SY":
        raise DataError(f"'{name}' is a bzip2-compressed file, not a table. Decompress it and upload the table inside.")
    return None


def _zip_kind(data: bytes, name: str) -> str:
    names = {i.filename for i in zip_infos(data, name)}
    if "xl/workbook.bin" in names:
        raise DataError(f"'{name}' is an Excel binary workbook (.xlsb), which cannot be read. "
                        "Open it in Excel and save it as .xlsx (or CSV).")
    if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
        return "excel"
    if "mimetype" in names and "content.xml" in names:
        raise DataError(f"'{name}' is an OpenDocument file (.ods), which cannot be read. Save it as .xlsx or CSV.")
    if any(n.startswith("word/") for n in names):
        raise DataError(f"'{name}' is a Word document, not a table. Copy the table into Excel and save as .xlsx.")
    if any(n.startswith("ppt/") for n in names):
        raise DataError(f"'{name}' is a PowerPoint file, not a table. Export the table as CSV or Excel.")
    raise DataError(f"'{name}' is a ZIP archive, not a table. Extract it and upload the CSV or Excel file inside.")


def _note_name_mismatch(name: str, fmt: str, notices: list[str]) -> None:
    family = {"csv": "text", "tsv": "text", "txt": "text", "xlsx": "excel", "xlsm": "excel", "parquet": "parquet",
              "pq": "parquet", "json": "json", "jsonl": "json", "ndjson": "json"}
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    detected = {"csv": "text", "tsv": "text", "jsonl": "json"}.get(fmt, fmt)
    labels = {"excel": "an Excel workbook", "parquet": "a Parquet file", "json": "JSON", "text": "delimited text"}
    if ext in family and family[ext] != detected:
        notices.append(f"'{name}' is named .{ext} but its content is {labels[detected]}; it was read as {fmt}.")


def _display_name(file_name: str) -> str:
    base = re.split(r"[\\/]", str(file_name))[-1] or "upload"
    base = re.sub(r"[\x00-\x1f\x7f]", "", base)
    return base if len(base) <= 120 else base[:117] + "..."

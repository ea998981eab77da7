"""Read uploaded tables (CSV/TSV, Excel, Parquet, JSON) safely and predictably.

Uploads are untrusted and often messy. So the format is decided by the bytes, never by
the file name; archives are checked before anything unpacks them; and every decision the
reader takes on the user's behalf (detected delimiter or encoding, renamed columns, text
found in a numeric column, parsed dates...) comes back as a plain-language notice. Every
refusal is a :class:`DataError` naming the file, the line or column, and what to do.

The fast path for clean CSV is pyarrow's multi-threaded parser; the slower pandas C parser
and a line-by-line scan run only when the fast path cannot give a trustworthy answer.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import mmap
import os
import re
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline_core.errors import DataError

FORMATS = ("csv", "tsv", "excel", "parquet", "json", "jsonl")
MEMORY_BUDGET_ENV = "PIPELINE_STUDIO_MEMORY_BUDGET_MB"
DEFAULT_MEMORY_BUDGET_MB = 4096
MAX_ZIP_UNCOMPRESSED_BYTES = 500 * 2**20
MAX_ZIP_RATIO = 100
ZIP_RATIO_MIN_BYTES = 2**20  # small archives cannot hurt, whatever their ratio
MAX_ZIP_ENTRIES = 10_000
SAMPLE_BYTES = 256 * 1024
MAP_FROM_BYTES = 8 * 2**20  # read_path memory-maps files at least this large
DELIMITERS = (",", ";", "\t", "|")
# The same strings pandas treats as missing, so the fast and slow CSV paths agree.
NULL_STRINGS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"})
_UNNAMED = re.compile(r"^Unnamed: \d+(_level_\d+)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$")
_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")
_DOT_DECIMAL = re.compile(r"^[+-]?\d+\.\d+$")
_DOT_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+,\d+$")
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_ROWS = 1_048_575  # data rows under the header
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_CELL_CHARS = 32_767
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

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
# Latin-script single-byte codecs cannot be told apart reliably from short text; cp1252 is by far the commonest.
_LATIN_FAMILY = frozenset({"cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2", "cp1257", "iso8859_4",
                           "iso8859_13", "cp1254", "iso8859_9", "mac_roman", "mac_latin2", "iso8859_3", "iso8859_10",
                           "iso8859_14", "iso8859_16", "cp850", "cp437", "cp858"})
_WESTERN = frozenset("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿŒœŠšŽžŸ"
                     "‘’“”„–—€…«»°·§£¥©®±²³µ¼½¾¿¡\u00a0×÷")
_WINDOWS_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)),
                               *(f"LPT{i}" for i in range(10))})
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


@dataclass
class _Options:
    name: str
    sheet: str | int | None
    delimiter: str | None
    encoding: str | None
    max_rows: int | None
    budget: int


@dataclass
class _Dialect:
    delimiter: str
    names: list[str]
    decimal: str = "."
    thousands: str | None = None
    skip_bytes: int = 0  # blank lines before the header
    skip_lines: int = 0


class _NotUtf8(Exception):
    """Raised internally when bytes that looked like UTF-8 in the sample turn out not to be."""


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
) -> ReadResult:
    """Parse an uploaded file into a DataFrame, deciding the format from its content.

    ``sheet`` picks an Excel sheet (name or 0-based index), ``delimiter``/``encoding`` override
    CSV detection and ``max_rows`` reads only the first rows (previews). Raises DataError for
    anything the user must fix; the message names the file and the line or column.
    """
    name = _display_name(file_name)
    if max_rows is not None and max_rows < 1:
        raise DataError(f"max_rows must be at least 1 to read '{name}' (got {max_rows}).")
    budget = memory_budget_bytes if memory_budget_bytes is not None else default_memory_budget()
    opts = _Options(name, sheet, delimiter, encoding, max_rows, budget)
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(lambda: hashlib.sha256(data).hexdigest())  # hashlib releases the GIL
        result = _read(data, opts)
        result.sha256 = digest.result()
    return result


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


def default_memory_budget() -> int:
    """Bytes a parsed table may take: env ``PIPELINE_STUDIO_MEMORY_BUDGET_MB`` or 4096 MB."""
    raw = os.environ.get(MEMORY_BUDGET_ENV, "").strip()
    try:
        mb = float(raw) if raw else DEFAULT_MEMORY_BUDGET_MB
    except ValueError:
        mb = DEFAULT_MEMORY_BUDGET_MB
    return int(mb * 2**20) if mb > 0 else DEFAULT_MEMORY_BUDGET_MB * 2**20


def estimate_memory(sample: pd.DataFrame, sample_bytes: int, total_bytes: int) -> int:
    """In-memory size of the whole table, extrapolated from a parsed sample of its first bytes.

    Deep memory usage is used because text cells dominate real tables; the estimate is linear
    in file size, which is what makes it possible to refuse a file before parsing all of it.
    """
    used = int(sample.memory_usage(deep=True, index=False).sum())
    if sample_bytes <= 0 or sample_bytes >= total_bytes:
        return used
    return int(used * total_bytes / sample_bytes)


def check_memory_budget(estimate: int, file_name: str, file_bytes: int, budget: int) -> None:
    """Refuse a table whose estimated parsed size exceeds the budget, with the numbers."""
    if estimate > budget:
        raise DataError(
            f"'{file_name}' ({_size(file_bytes)} on disk) would take about {_size(estimate)} in memory, "
            f"more than the {_size(budget)} budget. Upload a smaller extract (fewer rows or columns), "
            f"or ask the administrator to raise {MEMORY_BUDGET_ENV}."
        )


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


def write_csv_safe(frame: pd.DataFrame, *, bom: bool = False) -> bytes:
    """CSV bytes that are safe to open in a spreadsheet (no formula injection).

    Text cells (and column names) starting with ``= + - @``, tab or CR get a leading ``'`` so
    Excel/Sheets show them as text instead of running them. Numbers, negative ones included,
    and text that is just a number are left untouched. ``bom=True`` helps Excel detect UTF-8.
    """
    safe = frame.copy()
    safe.columns = [_neutralise(str(c)) for c in safe.columns]
    for col in safe.columns:
        if safe[col].dtype == object or isinstance(safe[col].dtype, (pd.CategoricalDtype, pd.StringDtype)):
            safe[col] = _neutralise_series(safe[col].astype(object))
    text = safe.to_csv(index=False, lineterminator="\r\n")  # RFC 4180: quotes any value holding CR or LF
    return text.encode("utf-8-sig" if bom else "utf-8")


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


def check_zip_safety(
    data: bytes,
    file_name: str,
    *,
    max_total_bytes: int = MAX_ZIP_UNCOMPRESSED_BYTES,
    max_ratio: float = MAX_ZIP_RATIO,
    max_entries: int = MAX_ZIP_ENTRIES,
) -> None:
    """Refuse archives that would escape their folder or blow up when unpacked (zip slip, zip bomb).

    Only the central directory is read, so this is cheap and runs before openpyxl opens anything.
    """
    infos = _zip_infos(data, file_name)
    if len(infos) > max_entries:
        raise DataError(f"'{file_name}' holds {len(infos):,} files; a workbook has far fewer. Re-save it in Excel.")
    for info in infos:
        _check_entry_name(info.filename, file_name)
        if info.file_size > ZIP_RATIO_MIN_BYTES and info.file_size > max_ratio * max(info.compress_size, 1):
            _refuse_ratio(file_name, info.file_size, info.compress_size, max_ratio)
    total, packed = sum(i.file_size for i in infos), sum(i.compress_size for i in infos)
    if total > max_total_bytes:
        raise DataError(f"'{file_name}' would unpack to {_size(total)}, over the {_size(max_total_bytes)} limit. "
                        "Split the workbook or export the sheet you need as CSV or Parquet.")
    if total > ZIP_RATIO_MIN_BYTES and total > max_ratio * max(packed, 1):
        _refuse_ratio(file_name, total, packed, max_ratio)


# ---------------------------------------------------------------- dispatch


def _read(data: bytes, opts: _Options) -> ReadResult:
    """Dispatch on content. ``data`` may be a read-only ``mmap`` (see ``read_path``): the text path only
    slices, searches and views it; the binary formats get a copy as ``bytes``."""
    if not data or (len(data) < SAMPLE_BYTES and not data[:SAMPLE_BYTES].strip()):
        raise DataError(f"'{opts.name}' is empty: no rows to read. Upload a file with a header row and data rows.")
    kind = _sniff_binary(data, opts.name)
    notices: list[str] = []
    if kind == "parquet":
        frame, fmt, enc, delim = _read_parquet(_as_bytes(data), opts, notices), "parquet", None, None
    elif kind == "excel":
        frame, fmt, enc, delim = _read_excel(_as_bytes(data), opts, notices), "excel", None, None
    else:
        frame, fmt, enc, delim = _read_text(data, opts, notices)
    _note_name_mismatch(opts.name, fmt, notices)
    return ReadResult(frame=frame, format=fmt, sha256="", delimiter=delim, encoding=enc, notices=notices)


def _sniff_binary(data: bytes, name: str) -> str | None:
    """'parquet', 'excel', or None for text; refuses every other binary format by name."""
    if data[:4] == b"PAR1":
        return "parquet"
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _zip_kind(_as_bytes(data), name)
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
    names = {i.filename for i in _zip_infos(data, name)}
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


# ---------------------------------------------------------------- text: encoding and dialect


def _read_text(data: bytes, opts: _Options, notices: list[str]) -> tuple[pd.DataFrame, str, str, str | None]:
    enc, bom = _detect_encoding(data, opts)
    payload = _utf8_payload(data, enc, bom, opts.name)
    head = _head_text(payload)
    if head.lstrip()[:1] in ("[", "{"):
        try:
            text = _decode_strict(payload)
        except _NotUtf8:
            enc = _fallback_encoding(data, opts)
            text = _as_bytes(data).decode(enc)
        frame, fmt = _read_json(text, opts, notices)
        _note_encoding(enc, opts, notices)
        return frame, fmt, enc, None
    dialect = _sniff_dialect(head, opts, notices)
    try:
        frame, strings = _parse_csv(payload[dialect.skip_bytes:], dialect, opts, len(data))
    except _NotUtf8:
        enc = _fallback_encoding(data, opts)
        payload = _utf8_payload(data, enc, 0, opts.name)
        frame, strings = _parse_csv(payload[dialect.skip_bytes:], dialect, opts, len(data))
    _note_encoding(enc, opts, notices)
    first = dialect.skip_lines + 2
    frame = _finish(frame, opts.name, "csv", notices, lambda i: f"line {i + first}", strings=strings)
    fmt = "tsv" if dialect.delimiter == "\t" else "csv"
    return frame, fmt, enc, dialect.delimiter


def _fallback_encoding(data: bytes, opts: _Options) -> str:
    """Bytes beyond the sample were not UTF-8: guess again, unless the user chose the encoding."""
    if opts.encoding:
        raise DataError(f"'{opts.name}' is not valid {opts.encoding} text. Choose another encoding "
                        "(for example cp1252 or latin-1), or save the file as UTF-8.")
    return _guess_legacy_encoding(_as_bytes(data), opts.name)


def _detect_encoding(data: bytes, opts: _Options) -> tuple[str, int]:
    """(codec name, BOM length). A BOM wins; then UTF-16 by its zero bytes; then UTF-8 on a sample."""
    if opts.encoding:
        try:
            return codecs.lookup(opts.encoding).name, 0
        except LookupError as e:
            raise DataError(f"Unknown encoding '{opts.encoding}' for '{opts.name}'. "
                            "Try utf-8, cp1252 or latin-1.") from e
    for bom, enc in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
                     (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data[:len(bom)] == bom:
            return enc, (len(bom) if enc == "utf-8-sig" else 0)
    head = data[:4096]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd > 0.3 * len(head) / 2 and even == 0:
        return "utf-16-le", 0
    if even > 0.3 * len(head) / 2 and odd == 0:
        return "utf-16-be", 0
    if b"\x00" in head:
        raise DataError(f"'{opts.name}' is a binary file of an unknown kind, not a text table. "
                        "Upload CSV, TSV, Excel (.xlsx), Parquet or JSON.")
    sample = data[:SAMPLE_BYTES]
    cut = sample.rfind(b"\n") if len(data) > SAMPLE_BYTES else len(sample)
    try:
        sample[: cut if cut > 0 else len(sample)].decode("utf-8")
        return "utf-8", 0
    except UnicodeDecodeError:
        return _guess_legacy_encoding(_as_bytes(data), opts.name), 0


def _guess_legacy_encoding(data: bytes, name: str) -> str:
    """Codec for non-UTF-8 bytes: cp1252 for Western text, else charset-normalizer on the non-ASCII lines.

    charset-normalizer alone guesses wildly on short or mostly-ASCII text (cp1006 for
    "señor"), so Western European text, by far the commonest case, is recognised first.
    """
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    lines = b"\n".join(m.group() for m in islice(re.finditer(rb"[^\n]*[\x80-\xff][^\n]*", data), 2000))
    guesses = [] if _looks_western(lines) else _charset_guess(lines)
    for candidate in guesses + ["cp1252", "latin-1"]:
        try:
            data.decode(candidate)
            return codecs.lookup(candidate).name
        except (UnicodeDecodeError, LookupError):
            continue
    raise DataError(f"Cannot tell the text encoding of '{name}'. Save it as UTF-8 CSV and upload again.")


def _looks_western(lines: bytes) -> bool:
    """True when, read as cp1252, the non-ASCII characters are accented letters and punctuation
    inside words that also have plain letters (Cyrillic or Greek read this way give whole words of accents)."""
    text = lines.decode("cp1252", errors="replace")
    high = [c for c in text if ord(c) > 127]
    if not high:
        return True
    western = sum(c in _WESTERN for c in high) / len(high)
    words = [w for w in re.findall(r"[^\W\d_]+", text) if any(ord(c) > 127 for c in w)]
    all_high = sum(1 for w in words if len(w) >= 3 and all(ord(c) > 127 for c in w))
    return western >= 0.9 and all_high <= 0.2 * max(len(words), 1)


def _charset_guess(lines: bytes) -> list[str]:
    from charset_normalizer import from_bytes

    best = from_bytes(lines).best()
    return [] if best is None or best.encoding in _LATIN_FAMILY else [best.encoding]


def _note_encoding(enc: str, opts: _Options, notices: list[str]) -> None:
    if opts.encoding or enc == "utf-8":
        return
    if enc in ("utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"):
        notices.append(f"Read '{opts.name}' as {enc.upper().replace('-SIG', ' with BOM')} text.")
    else:
        notices.append(f"'{opts.name}' is not UTF-8; it was read as {enc}. If accented letters look wrong, "
                       "choose the file's encoding (for example cp1252, latin-1 or utf-16).")


def _utf8_payload(data: bytes, enc: str, bom: int, name: str) -> memoryview | bytes:
    """The text as UTF-8 bytes for the parsers: zero-copy for UTF-8, transcoded otherwise."""
    if enc in ("utf-8", "utf-8-sig"):
        return memoryview(data)[bom:]
    try:
        return _as_bytes(data).decode(enc).encode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"'{name}' is not valid {enc} text (byte {e.start:,}). Choose another encoding "
                        "or save the file as UTF-8.") from e


def _head_text(payload: memoryview | bytes) -> str:
    """The first ~256 KB as text, cut at a line end so the last row is whole (unless one row is longer)."""
    head = bytes(payload[:SAMPLE_BYTES])
    if len(payload) > SAMPLE_BYTES and head.rfind(b"\n") > 0:
        head = head[: head.rfind(b"\n") + 1]
    return head.decode("utf-8", errors="replace")


def _sniff_dialect(head: str, opts: _Options, notices: list[str]) -> _Dialect:
    delimiter = opts.delimiter if opts.delimiter else _sniff_delimiter(head)
    if len(delimiter) != 1 or delimiter in "\"\r\n":
        raise DataError(f"The delimiter for '{opts.name}' must be one character other than a quote or newline.")
    body = head.lstrip("\r\n")  # leading blank lines would be taken for the header
    rows = [r for r in islice(csv.reader(io.StringIO(body), delimiter=delimiter), 2000) if r]
    if not rows:
        raise DataError(f"'{opts.name}' has no rows: it contains no header or data. Upload a table with data.")
    names, renamed = clean_column_names(rows[0])
    _note_renames(renamed, notices)
    skipped = head[: len(head) - len(body)]
    dialect = _Dialect(delimiter=delimiter, names=names, skip_bytes=len(skipped),
                       skip_lines=skipped.count("\n") or skipped.count("\r"))
    if delimiter != ",":
        _detect_decimal_comma(rows[1:], dialect, notices)
    if not opts.delimiter and delimiter != ",":
        notices.append(f"Detected {_delimiter_label(delimiter)} as the column delimiter.")
    return dialect


def _sniff_delimiter(head: str) -> str:
    """The candidate that splits the sample's rows into the same number (>1) of fields most consistently."""
    scores = {}
    for cand in DELIMITERS:
        counts = [len(r) for r in islice(csv.reader(io.StringIO(head), delimiter=cand), 200) if r]
        if counts and len(counts) > 2:
            counts = counts[:-1]  # the last row of a sample may be cut short
        mode, freq = Counter(counts).most_common(1)[0] if counts else (1, 0)
        scores[cand] = (freq / len(counts) if counts and mode > 1 else 0.0, mode)
    best = max(scores.values())
    tied = [c for c, s in scores.items() if s == best]
    if best[0] == 0.0:
        return ","
    if len(tied) > 1:
        try:
            return csv.Sniffer().sniff(head[:20_000], delimiters="".join(tied)).delimiter
        except csv.Error:
            pass
    return tied[0]


def _detect_decimal_comma(rows: list[list[str]], dialect: _Dialect, notices: list[str]) -> None:
    cells = [c.strip() for r in rows for c in r]
    commas = sum(1 for c in cells if _COMMA_DECIMAL.match(c) or _DOT_THOUSANDS.match(c))
    dots = sum(1 for c in cells if _DOT_DECIMAL.match(c))
    if commas and not dots:
        dialect.decimal = ","
        if any(_DOT_THOUSANDS.match(c) for c in cells):
            dialect.thousands = "."
        example = next(c for c in cells if _COMMA_DECIMAL.match(c) or _DOT_THOUSANDS.match(c))
        notices.append(f"Numbers use a decimal comma (e.g. '{example}'); they were read as numbers.")


def _delimiter_label(delimiter: str) -> str:
    return {"\t": "tab", ";": "semicolon ';'", "|": "pipe '|'", ",": "comma ','"}.get(delimiter, f"'{delimiter}'")


def _note_renames(renamed: list[tuple[str, str]], notices: list[str]) -> None:
    if renamed:
        shown = ", ".join(f"'{old}' → '{new}'" for old, new in renamed[:10])
        more = f" and {len(renamed) - 10} more" if len(renamed) > 10 else ""
        notices.append(f"Renamed {len(renamed)} column(s) so every name is unique and non-empty: {shown}{more}.")


# ---------------------------------------------------------------- text: parsing


def _parse_csv(
    payload: memoryview | bytes, dialect: _Dialect, opts: _Options, file_bytes: int
) -> tuple[pd.DataFrame, set[str]]:
    """The frame, and the columns known to hold only text (typed as strings by Arrow)."""
    _check_csv_budget(payload, dialect, opts, file_bytes)
    if opts.max_rows is None and dialect.thousands is None:
        try:
            frame = _parse_pyarrow(payload, dialect)
        except _NotUtf8:
            raise
        except Exception:  # noqa: BLE001 - any fast-path failure is re-diagnosed below
            frame = None
        if frame is not None:
            if _maybe_unclosed_quote(payload, frame):
                problem = _find_structure_problem(_decode_strict(payload), dialect, opts)
                if problem:
                    raise DataError(problem)
            return frame, set(frame.attrs.pop("strings", ()))
    text = _decode_strict(payload)
    problem = _find_structure_problem(text, dialect, opts)
    if problem:
        raise DataError(problem)
    return _parse_c(text, dialect, opts), set()


def _parse_pyarrow(payload: memoryview | bytes, dialect: _Dialect) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    buffer = pa.py_buffer(payload)
    quoted = _has_quote(payload)
    table = pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=dialect.names, skip_rows=1),
        # Quoted values may hold line breaks; allowing that slows parsing, so only when a quote exists at all.
        parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter, newlines_in_values=quoted),
        convert_options=pacsv.ConvertOptions(decimal_point=dialect.decimal, null_values=NULL_STRINGS,
                                             strings_can_be_null=True),
    )
    for i, fld in enumerate(table.schema):
        if pa.types.is_binary(fld.type) or pa.types.is_large_binary(fld.type):
            raise _NotUtf8(fld.name)
        if pa.types.is_time(fld.type):
            table = table.set_column(i, fld.name, table.column(i).cast(pa.string()))
    try:
        frame = table.to_pandas(date_as_object=False, coerce_temporal_nanoseconds=True)
    except (pa.ArrowInvalid, OverflowError):
        frame = table.to_pandas(date_as_object=False)
    text = (pa.types.is_string, pa.types.is_large_string)
    frame.attrs["strings"] = [f.name for f in table.schema if any(is_text(f.type) for is_text in text)]
    return frame


def _has_quote(payload: memoryview | bytes) -> bool:
    """Whether any '"' occurs (a memchr-speed scan; the view's base object holds at most a BOM more)."""
    base = payload.obj if isinstance(payload, memoryview) else payload
    return base.find(b'"') >= 0 if isinstance(base, (bytes, mmap.mmap)) else b'"' in bytes(payload)


def _maybe_unclosed_quote(payload: memoryview | bytes, frame: pd.DataFrame) -> bool:
    """pyarrow reads an unclosed quote as one value running to the end; spot that cheaply."""
    if frame.empty:
        return False
    last_line = bytes(payload[-4096:]).rstrip(b"\r\n").rsplit(b"\n", 1)[-1]
    if last_line.count(b'"') % 2:
        return True
    last = frame.iloc[-1]
    return any(isinstance(v, str) and ("\n" in v or "\r" in v) for v in last.to_numpy())


def _decode_strict(payload: memoryview | bytes) -> str:
    try:
        return bytes(payload).decode("utf-8")
    except UnicodeDecodeError as e:
        raise _NotUtf8(str(e)) from e


def _find_structure_problem(text: str, dialect: _Dialect, opts: _Options) -> str | None:
    """First ragged row or unclosed quote, described with its line number (header is line 1)."""
    reader = csv.reader(io.StringIO(text), delimiter=dialect.delimiter, strict=True)
    width, line, rows = len(dialect.names), dialect.skip_lines, -1  # line: last line of the last complete row
    try:
        for row in reader:
            start, line = line + 1, reader.line_num + dialect.skip_lines
            if not row:
                continue
            rows += 1
            if rows and len(row) != width:
                return _ragged_message(opts.name, start, line, len(row), width, dialect.delimiter)
            if opts.max_rows is not None and rows >= opts.max_rows:
                return None
    except csv.Error as e:
        if "end of data" in str(e):
            return (f"'{opts.name}' line {line + 1}: a quoted value starts but its closing quote (\") is missing, "
                    "so the rest of the file would become one value. Add the missing quote and upload again.")
        return (f"'{opts.name}' line {line + 1}: {e}. A quote inside a value must be doubled (\"\"), "
                "or the value should not be quoted.")
    return None


def _ragged_message(name: str, start: int, end: int, got: int, width: int, delimiter: str) -> str:
    span = f" (this row runs to line {end}: probably an unclosed quote)" if end > start else ""
    return (f"'{name}' line {start} has {got} value{'' if got == 1 else 's'} but the header has {width} columns{span}. "
            f"Fix that line (a missing value, or a {_delimiter_label(delimiter)} inside an unquoted value), "
            "or choose the right delimiter.")


def _parse_c(text: str, dialect: _Dialect, opts: _Options) -> pd.DataFrame:
    try:
        return pd.read_csv(
            io.StringIO(text), sep=dialect.delimiter, header=0, names=dialect.names, index_col=False,
            decimal=dialect.decimal, thousands=dialect.thousands, nrows=opts.max_rows, low_memory=False,
            engine="c", quotechar='"', skip_blank_lines=True,
        )
    except pd.errors.EmptyDataError as e:
        raise DataError(f"'{opts.name}' has no rows: only a header or nothing at all. Upload data rows too.") from e
    except (pd.errors.ParserError, ValueError) as e:
        raise DataError(f"'{opts.name}' could not be read as delimited text: {e}. "
                        "Check the delimiter and quoting, or save it again as CSV.") from e


def _check_csv_budget(payload: memoryview | bytes, dialect: _Dialect, opts: _Options, file_bytes: int) -> None:
    """Parse only the first ~256 KB and extrapolate, so oversized files are refused before full parsing."""
    head = bytes(payload[:SAMPLE_BYTES])
    if len(payload) > SAMPLE_BYTES and head.rfind(b"\n") > 0:
        head = head[: head.rfind(b"\n") + 1]
    try:
        sample = pd.read_csv(io.BytesIO(head), sep=dialect.delimiter, header=0, names=dialect.names,
                             index_col=False, decimal=dialect.decimal, on_bad_lines="skip", low_memory=False)
    except (ValueError, pd.errors.ParserError):
        estimate = 2 * len(payload)
    else:
        estimate = estimate_memory(sample, len(head), len(payload))
        if opts.max_rows is not None and len(sample):
            estimate = min(estimate, int(estimate * opts.max_rows * len(head) / (len(sample) * len(payload))))
    check_memory_budget(estimate, opts.name, file_bytes, opts.budget)


# ---------------------------------------------------------------- JSON


def _read_json(text: str, opts: _Options, notices: list[str]) -> tuple[pd.DataFrame, str]:
    stripped = text.lstrip().lstrip("\ufeff")
    _check_json_budget(stripped, opts)
    if stripped.startswith("["):
        records, fmt = _json_array(stripped, opts), "json"
    else:
        records, fmt = _json_lines_or_object(stripped, opts, notices)
    if opts.max_rows is not None:
        records = records[: opts.max_rows]
    if not records:
        raise DataError(f"'{opts.name}' has no rows: the JSON holds no records. Upload [{{\"col\": value}}, ...].")
    frame = pd.json_normalize(records)
    names, renamed = clean_column_names(list(frame.columns))
    frame.columns = names
    _note_renames(renamed, notices)
    return _finish(frame, opts.name, fmt, notices, lambda i: f"record {i + 1}"), fmt


def _check_json_budget(text: str, opts: _Options) -> None:
    """Decode only the first records (array items or lines), then extrapolate by characters."""
    decoder, pos, records = json.JSONDecoder(), 1 if text.startswith("[") else 0, []
    skip = re.compile(r"[\s,]*")
    try:
        while len(records) < 1000:
            pos = skip.match(text, pos).end()
            if pos >= len(text) or text[pos] == "]":
                break
            record, pos = decoder.raw_decode(text, pos)
            records.append(record if isinstance(record, dict) else {"value": record})
    except json.JSONDecodeError:
        pass  # the full parse reports the error with its line number
    if records:
        sample = pd.json_normalize(records)
        check_memory_budget(estimate_memory(sample, pos, len(text)), opts.name, len(text), opts.budget)


def _json_array(text: str, opts: _Options) -> list[dict[str, Any]]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"'{opts.name}' line {e.lineno}: invalid JSON ({e.msg}). "
                        "Fix it or export the data again.") from e
    if not all(isinstance(r, dict) for r in value):
        raise DataError(f"'{opts.name}' is a JSON array but not of records. "
                        "Expected [{\"column\": value, ...}, ...], one object per row.")
    return value


def _json_lines_or_object(text: str, opts: _Options, notices: list[str]) -> tuple[list[dict[str, Any]], str]:
    """JSON lines (one object per line), unless the document is one object of columns or wraps a record list."""
    try:
        records = _json_lines(text, opts)
    except DataError as lines_error:
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise lines_error from None
        records = [value]
    if len(records) == 1 and isinstance(records[0], dict):
        unwrapped = _object_records(records[0], opts.name, notices)
        if unwrapped is not None:
            return unwrapped, "json"
        if any(isinstance(v, list) for v in records[0].values()) and "\n" in text.strip():
            raise DataError(f"'{opts.name}' is a JSON object, not a table. Use an array of records "
                            "[{\"col\": value}, ...] or JSON lines (one object per line).")
    return records, "jsonl"


def _object_records(value: dict[str, Any], name: str, notices: list[str]) -> list[dict[str, Any]] | None:
    """Records from {"key": [records]} or {"col": [values], ...}; None when the object is just one record."""
    lists = {k: v for k, v in value.items() if isinstance(v, list)}
    if len(lists) == 1 and lists[next(iter(lists))] and all(isinstance(r, dict) for r in next(iter(lists.values()))):
        key, records = next(iter(lists.items()))
        notices.append(f"Read the records under the key '{key}' of '{name}'.")
        return records
    if lists and len(lists) == len(value) and len({len(v) for v in lists.values()}) == 1:
        return pd.DataFrame(lists).to_dict("records")
    return None


def _json_lines(text: str, opts: _Options) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"'{opts.name}' line {number}: invalid JSON ({e.msg}). Each line must be one JSON "
                            "object; fix that line.") from e
        if not isinstance(record, dict):
            raise DataError(f"'{opts.name}' line {number} is not a JSON object. Each line must be {{\"col\": value}}.")
        records.append(record)
        if opts.max_rows is not None and len(records) >= opts.max_rows:
            break
    return records


# ---------------------------------------------------------------- Parquet


def _read_parquet(data: bytes, opts: _Options, notices: list[str]) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pfile = pq.ParquetFile(pa.BufferReader(data))
        first = next(pfile.iter_batches(batch_size=10_000), None)
        if first is None or pfile.metadata.num_rows == 0:
            raise DataError(f"'{opts.name}' has no rows. Upload a Parquet file with data.")
        rows = pfile.metadata.num_rows if opts.max_rows is None else min(opts.max_rows, pfile.metadata.num_rows)
        sample = first.to_pandas(date_as_object=False)
        check_memory_budget(estimate_memory(sample, len(sample), rows), opts.name, len(data), opts.budget)
        table = pfile.read() if opts.max_rows is None else _first_rows(pfile, opts.max_rows)
        frame = table.to_pandas(date_as_object=False)
    except (pa.ArrowException, OSError) as e:
        raise DataError(f"'{opts.name}' is not a readable Parquet file ({e}). It may be damaged or incomplete; "
                        "export it again.") from e
    names, renamed = clean_column_names(list(frame.columns))
    frame.columns = names
    _note_renames(renamed, notices)
    return _finish(frame, opts.name, "parquet", notices, lambda i: f"row {i + 1}")


def _first_rows(pfile: Any, max_rows: int) -> Any:
    import pyarrow as pa

    batches, count = [], 0
    for batch in pfile.iter_batches(batch_size=min(max_rows, 65_536)):
        batches.append(batch)
        count += batch.num_rows
        if count >= max_rows:
            break
    return pa.Table.from_batches(batches).slice(0, max_rows)


# ---------------------------------------------------------------- Excel


def _read_excel(data: bytes, opts: _Options, notices: list[str]) -> pd.DataFrame:
    check_zip_safety(data, opts.name)
    check_memory_budget(sum(i.file_size for i in _zip_infos(data, opts.name)), opts.name, len(data), opts.budget)
    rows, numbers = _excel_rows(data, opts, notices)
    if len(rows) < 2:
        raise DataError(f"'{opts.name}' has no rows: the sheet is empty or has only a header. Add data rows.")
    width = max(len(r) for r in rows)
    names, renamed = clean_column_names(list(rows[0]) + [None] * (width - len(rows[0])))
    _note_renames(renamed, notices)
    body, errors = _excel_body(rows[1:], width)
    if errors:
        notices.append(f"Replaced {errors:,} Excel error value(s) such as #DIV/0! or #N/A with missing values.")
    frame = pd.DataFrame(body, columns=names)
    return _finish(frame, opts.name, "excel", notices, lambda i: f"row {numbers[i + 1]}")


def _excel_rows(data: bytes, opts: _Options, notices: list[str]) -> tuple[list[tuple[Any, ...]], list[int]]:
    """Non-empty rows with trailing blanks trimmed, and their sheet row numbers; values only, never formulas."""
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
        sheet.reset_dimensions()
        rows, numbers = [], []
        limit = None if opts.max_rows is None else opts.max_rows + 1
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            trimmed = _trim_row(row)
            if trimmed:
                rows.append(trimmed)
                numbers.append(number)
                if limit is not None and len(rows) >= limit:
                    break
        return rows, numbers
    finally:
        book.close()


def _pick_sheet(book: Any, opts: _Options, notices: list[str]) -> Any:
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


def _zip_infos(data: bytes, name: str) -> list[zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise DataError(f"'{name}' looks like a ZIP/Excel file but is damaged ({e}). "
                        "Save it again and re-upload.") from e


def _check_entry_name(entry: str, name: str) -> None:
    normalised = entry.replace("\\", "/")
    if normalised.startswith("/") or re.match(r"^[A-Za-z]:", normalised) or ".." in normalised.split("/"):
        raise DataError(f"'{name}' contains an unsafe entry '{entry}' that points outside the archive. "
                        "It is not a normal Excel file; re-save it from Excel before uploading.")


def _refuse_ratio(name: str, unpacked: int, packed: int, max_ratio: float) -> None:
    raise DataError(f"'{name}' unpacks to {_size(unpacked)} from {_size(packed)} (over {max_ratio:.0f}× "
                    "compression), which is how zip bombs work. Re-save the workbook in Excel or export it as CSV.")


# ---------------------------------------------------------------- after parsing: one stable type per column


def _finish(
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


# ---------------------------------------------------------------- small helpers


def _as_bytes(data: bytes | mmap.mmap) -> bytes:
    return data if isinstance(data, bytes) else bytes(data)


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


def _display_name(file_name: str) -> str:
    base = re.split(r"[\\/]", str(file_name))[-1] or "upload"
    base = re.sub(r"[\x00-\x1f\x7f]", "", base)
    return base if len(base) <= 120 else base[:117] + "..."


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"

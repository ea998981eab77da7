"""Reading delimited text (CSV, TSV, any single-character delimiter): encoding, dialect, parsing.

Most uploads are text and most of their trouble is here: unknown encodings, delimiters and
decimal commas to detect, ragged rows and unclosed quotes to report by line. The fast path is
pyarrow's multi-threaded parser; the pandas C parser and a line-by-line scan run only when the
fast path cannot give a trustworthy answer. Text that is JSON is handed to ``json_files.py``.
``data`` may be a read-only ``mmap`` (see ``readers.read_path``): it is only sliced, searched and viewed.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import mmap
import re
import sys
from collections import Counter
from dataclasses import dataclass
from itertools import islice

import pandas as pd

from pipeline_core.errors import DataError
from pipeline_core.io.json_files import read_json
from pipeline_core.io.options import ReadOptions
from pipeline_core.io.safety import check_memory_budget, estimate_memory
from pipeline_core.io.stabilise import clean_column_names, finish_frame, note_renames

SAMPLE_BYTES = 256 * 1024
# Parsed, a delimited file takes at most ~29x its bytes (a column of one-letter values: a Python string per
# two bytes; tests/pipeline_core/test_readers.py measures the worst shapes). A file whose bytes times
# this bound fit the budget cannot break it, so its sample need not be parsed to estimate its size.
MAX_EXPANSION = 64
DELIMITERS = (",", ";", "\t", "|")
# The same strings pandas treats as missing, so the fast and slow CSV paths agree.
NULL_STRINGS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")
_DOT_DECIMAL = re.compile(r"^[+-]?\d+\.\d+$")
_DOT_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+,\d+$")
# Whole-cell patterns for text columns whose numbers were quoted ("1,234", "0,5"), so the parser kept them as text.
_COMMA_THOUSANDS_CELL = r"[+-]?(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d+)?"
_DECIMAL_COMMA_CELL = r"[+-]?(?:[1-9]\d{0,2}(?:\.\d{3})+|\d+)(?:,\d+)?"
_HAS_COMMA_NUMBER = re.compile(r"^\s*[+-]?\d[\d.]*,\d+\s*$")
# Latin-script single-byte codecs cannot be told apart reliably from short text; cp1252 is by far the commonest.
_LATIN_FAMILY = frozenset({"cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2", "cp1257", "iso8859_4",
                           "iso8859_13", "cp1254", "iso8859_9", "mac_roman", "mac_latin2", "iso8859_3", "iso8859_10",
                           "iso8859_14", "iso8859_16", "cp850", "cp437", "cp858"})
# A valid cell may be as long as the memory budget allows: the csv module's 128 KB default refused valid files
# (a long text cell, a one-line file) as if they were broken. The limit is process-wide; only raising it is safe.
csv.field_size_limit(max(csv.field_size_limit(), min(sys.maxsize, 2**31 - 1)))
_WESTERN = frozenset("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿŒœŠšŽžŸ"
                     "‘’“”„–—€…«»°·§£¥©®±²³µ¼½¾¿¡\u00a0×÷")


@dataclass
class _Dialect:
    delimiter: str
    names: list[str]
    decimal: str = "."
    thousands: str | None = None
    skip_bytes: int = 0  # blank lines before the header
    skip_lines: int = 0
    header_lines: int = 1  # more when a quoted header name holds a line break


class _NotUtf8(Exception):
    """Raised internally when bytes that looked like UTF-8 in the sample turn out not to be."""


def read_text(data: bytes, opts: ReadOptions, notices: list[str]) -> tuple[pd.DataFrame, str, str, str | None]:
    """(frame, format, encoding, delimiter) of a text upload: delimited text, or JSON handed to ``read_json``."""
    enc, bom = _detect_encoding(data, opts)
    payload = _utf8_payload(data, enc, bom, opts.name)
    _refuse_nul(payload, opts.name)
    head = _head_text(payload)
    if head.lstrip()[:1] in ("[", "{"):
        try:
            text = _decode_strict(payload)
        except _NotUtf8:
            enc = _fallback_encoding(data, opts)
            text = as_bytes(data).decode(enc)
        frame, fmt = read_json(text, opts, notices)
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
    _convert_comma_numbers(frame, dialect, notices)
    if frame.empty:
        _refuse_json_scalar(payload, opts.name)
    first = dialect.skip_lines + dialect.header_lines + 1
    frame = finish_frame(frame, opts.name, "csv", notices, lambda i: f"line {i + first}", strings=strings)
    fmt = "tsv" if dialect.delimiter == "\t" else "csv"
    return frame, fmt, enc, dialect.delimiter


def _refuse_nul(payload: memoryview | bytes, name: str) -> None:
    """Refuse a NUL byte anywhere in the text, as one in the first bytes already is (there, as a binary file).

    Text tables never hold NUL; one means a damaged file or binary data with a text name. The
    encoding check looks only at the start, so a NUL deeper in was kept inside a value, where it
    breaks exports and comparisons later. The whole file is searched at memchr speed.
    """
    base = payload.obj if isinstance(payload, memoryview) else payload
    offset = len(base) - len(payload) if isinstance(base, (bytes, mmap.mmap)) else 0
    if not isinstance(base, (bytes, mmap.mmap)):
        base = bytes(payload)
    pos = base.find(b"\x00", offset)
    if pos < 0:
        return
    line = base[offset:pos].count(b"\n") + 1
    raise DataError(f"'{name}' line {line} holds a NUL byte (a zero byte, never part of text): the file is damaged "
                    "or is not a text table. Remove that byte, or save the table again as CSV, and upload again.")


def _refuse_json_scalar(payload: memoryview | bytes, name: str) -> None:
    """A file with no data rows that is one JSON value (``42``, a long string) is named as that, not as a header:
    "only a header" sent users looking for a header in a file that never was a table."""
    try:
        value = json.loads(bytes(payload))
    except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError is a ValueError): a real header-only file
        return
    if isinstance(value, (dict, list)):
        return
    shown = f"a text of {len(value):,} characters" if isinstance(value, str) else json.dumps(value)[:40]
    raise DataError(f"'{name}' is a single JSON value ({shown}), not a table. Upload an array of records "
                    "[{\"col\": value}, ...], JSON lines (one object per line) or CSV.")


def _fallback_encoding(data: bytes, opts: ReadOptions) -> str:
    """Bytes beyond the sample were not UTF-8: guess again, unless the user chose the encoding."""
    if opts.encoding:
        raise DataError(f"'{opts.name}' is not valid {opts.encoding} text. Choose another encoding "
                        "(for example cp1252 or latin-1), or save the file as UTF-8.")
    return _guess_legacy_encoding(as_bytes(data), opts.name)


def _detect_encoding(data: bytes, opts: ReadOptions) -> tuple[str, int]:
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
        return _guess_legacy_encoding(as_bytes(data), opts.name), 0


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


def _note_encoding(enc: str, opts: ReadOptions, notices: list[str]) -> None:
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
        return as_bytes(data).decode(enc).encode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"'{name}' is not valid {enc} text (byte {e.start:,}). Choose another encoding "
                        "or save the file as UTF-8.") from e


def _head_text(payload: memoryview | bytes) -> str:
    """The first ~256 KB as text, cut at a line end so the last row is whole (unless one row is longer)."""
    head = _whole_lines(bytes(payload[:SAMPLE_BYTES]), len(payload))
    return head.decode("utf-8", errors="replace")


def _whole_lines(head: bytes, total: int) -> bytes:
    """The sample cut after its last line end (LF, CRLF or a lone CR: old Mac exports end lines with CR only),
    unless it is the whole payload or one row is longer than the sample."""
    end = max(head.rfind(b"\n"), head.rfind(b"\r"))
    return head[: end + 1] if total > len(head) and end > 0 else head


def _sniff_dialect(head: str, opts: ReadOptions, notices: list[str]) -> _Dialect:
    delimiter = opts.delimiter if opts.delimiter else _sniff_delimiter(head)
    if len(delimiter) != 1 or delimiter in "\"\r\n":
        raise DataError(f"The delimiter for '{opts.name}' must be one character other than a quote or newline.")
    body = head.lstrip("\r\n")  # leading blank lines would be taken for the header
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)
    rows, header_lines = [], 1
    for row in islice(reader, 2000):
        if row:
            rows.append(row)
            header_lines = reader.line_num if len(rows) == 1 else header_lines
            if delimiter == ",":
                break  # the header is all a comma-delimited file needs; the rows only tell decimal commas
    if not rows:
        raise DataError(f"'{opts.name}' has no rows: it contains no header or data. Upload a table with data.")
    names, renamed = clean_column_names(rows[0])
    note_renames(renamed, notices)
    skipped = head[: len(head) - len(body)]
    dialect = _Dialect(delimiter=delimiter, names=names, skip_bytes=len(skipped),
                       skip_lines=skipped.count("\n") or skipped.count("\r"), header_lines=header_lines)
    if delimiter != ",":
        _detect_decimal_comma(rows[1:], dialect, notices)
    if not opts.delimiter and delimiter != ",":
        notices.append(f"Detected {_delimiter_label(delimiter)} as the column delimiter.")
    return dialect


def _sniff_delimiter(head: str) -> str:
    """The candidate that splits the sample's rows into the same number (>1) of fields most consistently."""
    scores = {}
    for cand in DELIMITERS:
        counts = [len(r) for r in islice(csv.reader(io.StringIO(head, newline=""), delimiter=cand), 200) if r]
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


def _convert_comma_numbers(frame: pd.DataFrame, dialect: _Dialect, notices: list[str]) -> None:
    """Read text columns of numbers written with commas ("1,234", "0,5") as numbers, saying how.

    In a comma-delimited file such numbers must be quoted, and a quoted value is text to the
    parsers: the column silently became text (so no model could use it as a number). Every value of
    the column must be such a number, or the column stays text with a notice. In a file whose
    decimal separator is a dot, a comma followed by groups of three digits is a thousands separator
    (``1,234`` = 1234); any other comma, or a file already read with decimal commas, is a decimal
    comma (``0,5`` = 0.5, with dots as thousands: ``1.234,5`` = 1234.5).
    """
    for col in frame.columns:
        values = frame[col]
        if values.dtype != object:
            continue
        present = values.dropna()
        head = present.iloc[:200]
        if not all(isinstance(v, str) for v in head) or not any(_HAS_COMMA_NUMBER.match(v) for v in head):
            continue  # a cheap look at the first values, so ordinary text columns cost nothing more
        cells = present.astype(str).str.strip()
        commas = cells.str.contains(",", regex=False)
        if dialect.decimal != "," and cells.str.fullmatch(_COMMA_THOUSANDS_CELL).all():
            numbers = pd.to_numeric(cells.str.replace(",", "", regex=False))
            how = "a comma as the thousands separator"
        elif cells.str.fullmatch(_DECIMAL_COMMA_CELL).all():
            numbers = pd.to_numeric(cells.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
            how = "a decimal comma" + (" and dots between thousands" if cells.str.contains(".", regex=False).any()
                                       else "")
        else:
            if commas.mean() >= 0.5:
                notices.append(f"'{col}' holds numbers written with commas (e.g. '{cells[commas].iloc[0]}') mixed "
                               "with other text, so it was kept as text. Make every value a number (or empty) "
                               "to use it as one.")
            continue
        example = cells[commas].iloc[0]
        frame[col] = numbers.reindex(values.index)
        notices.append(f"'{col}' holds numbers written with {how} (e.g. '{example}' read as "
                       f"{numbers[commas].iloc[0]:g}); they were read as numbers.")


def _delimiter_label(delimiter: str) -> str:
    return {"\t": "tab", ";": "semicolon ';'", "|": "pipe '|'", ",": "comma ','"}.get(delimiter, f"'{delimiter}'")


# ---------------------------------------------------------------- text: parsing


def _parse_csv(
    payload: memoryview | bytes, dialect: _Dialect, opts: ReadOptions, file_bytes: int
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
    # The header is skipped as a parsed row (skip_rows_after_names), not as a line (skip_rows): a quoted
    # header name may hold a line break, and skipping one line would turn the rest of the header into data.
    table = pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=dialect.names, skip_rows_after_names=1),
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


def _find_structure_problem(text: str, dialect: _Dialect, opts: ReadOptions) -> str | None:
    """First ragged row or unclosed quote, described with its line number (header is line 1)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=dialect.delimiter, strict=True)
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


def _parse_c(text: str, dialect: _Dialect, opts: ReadOptions) -> pd.DataFrame:
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


def _check_csv_budget(payload: memoryview | bytes, dialect: _Dialect, opts: ReadOptions, file_bytes: int) -> None:
    """Parse only the first ~256 KB and extrapolate, so oversized files are refused before full parsing.

    Files too small to break the budget whatever they hold (:data:`MAX_EXPANSION`) skip the sample: for a
    scoring request's body, parsing it twice was a fifth of the request.
    """
    if len(payload) * MAX_EXPANSION <= opts.budget:
        return
    head = _whole_lines(bytes(payload[:SAMPLE_BYTES]), len(payload))
    try:
        sample = pd.read_csv(io.BytesIO(head), sep=dialect.delimiter, header=0, names=dialect.names,
                             index_col=False, decimal=dialect.decimal, on_bad_lines="skip", low_memory=False)
    except (ValueError, pd.errors.ParserError):
        estimate = 2 * len(payload)
    else:
        estimate = estimate_memory(sample, len(head), len(payload))
        if opts.max_rows is not None and len(sample):
            estimate = min(estimate, int(estimate * opts.max_rows * len(head) / (len(sample) * len(payload))))
    check_memory_budget(estimate, file_bytes, opts)


def as_bytes(data: bytes | mmap.mmap) -> bytes:
    """``bytes`` of a possibly memory-mapped upload, for the parsers that need a copy (no copy when already bytes)."""
    return data if isinstance(data, bytes) else bytes(data)

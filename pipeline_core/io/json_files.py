"""Reading JSON uploads: an array of records, JSON lines, or one object of columns or of a record list.

JSON is found by ``text.py`` (it is text that starts with ``[`` or ``{``); its shapes and its
errors (reported by line) are different enough from delimited text to be read here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd

from pipeline_core.errors import DataError
from pipeline_core.io.options import ReadOptions
from pipeline_core.io.safety import check_memory_budget, estimate_memory
from pipeline_core.io.stabilise import clean_column_names, finish_frame, note_renames


def read_json(text: str, opts: ReadOptions, notices: list[str]) -> tuple[pd.DataFrame, str]:
    """The records of a JSON document and its format (``json`` or ``jsonl``), after the memory check."""
    stripped = text.lstrip().lstrip("\ufeff")
    try:
        _check_json_budget(stripped, opts)
        if stripped.startswith("["):
            records, fmt = _json_array(stripped, opts), "json"
        else:
            records, fmt = _json_lines_or_object(stripped, opts, notices)
        if opts.max_rows is not None:
            records = records[: opts.max_rows]
        if not records:
            raise DataError(f"'{opts.name}' has no rows: the JSON holds no records. "
                            "Upload [{\"col\": value}, ...].")
        frame = pd.json_normalize(records)
    except RecursionError as e:  # the decoder and json_normalize recurse once per level of nesting
        raise DataError(f"'{opts.name}' nests JSON values too deeply to be a table. Upload one flat object "
                        "per row: [{\"col\": value}, ...].") from e
    names, renamed = clean_column_names(list(frame.columns))
    frame.columns = names
    note_renames(renamed, notices)
    return finish_frame(frame, opts.name, fmt, notices, lambda i: f"record {i + 1}"), fmt


def _check_json_budget(text: str, opts: ReadOptions) -> None:
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
        check_memory_budget(estimate_memory(sample, pos, len(text)), len(text), opts)


def _json_array(text: str, opts: ReadOptions) -> list[dict[str, Any]]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"'{opts.name}' line {e.lineno}: invalid JSON ({e.msg}). "
                        "Fix it or export the data again.") from e
    if not all(isinstance(r, dict) for r in value):
        raise DataError(f"'{opts.name}' is a JSON array but not of records. "
                        "Expected [{\"column\": value, ...}, ...], one object per row.")
    return value


def _json_lines_or_object(text: str, opts: ReadOptions, notices: list[str]) -> tuple[list[dict[str, Any]], str]:
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


def _json_lines(text: str, opts: ReadOptions) -> list[dict[str, Any]]:
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

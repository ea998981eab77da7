"""Turn a request body (JSON ``{"rows": [...]}`` or CSV) into the frame the model scores, or a one-line refusal.

Every refusal is a :class:`RequestError` carrying the HTTP status and one line that names the column (and row)
at fault, so a client can fix its request without reading server logs. JSON rows are checked against the
schema's :class:`~pipeline_core.serving.schema.FeatureField` list value by value (a number where a number is
needed, no nested objects, no NaN or infinity); then they go through the readers' own ``finish_frame``, so a
JSON row gets the dtypes a file with the same values gets from ``python -m pipeline_core predict``. CSV bodies
are read by the same reader as the CLI's files.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np
import pandas as pd
import pydantic_core

from pipeline_core.errors import DataError
from pipeline_core.io.readers import read_table
from pipeline_core.io.stabilise import finish_frame, is_settled_text
from pipeline_core.serving.csv_body import CsvFastPath
from pipeline_core.serving.schema import FeatureField

JSON_TYPE = "application/json"
CSV_TYPE = "text/csv"
BODY_NAME = "request body"


class RequestError(Exception):
    """A request the service refuses: ``status`` (4xx) and a one-line ``detail`` the client reads."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = " ".join(detail.split())


@dataclass(frozen=True)
class ServiceLimits:
    """What one request may hold; larger requests get 413 with the limit named, before any scoring."""

    max_rows: int = 10_000
    max_body_bytes: int = 16 * 2**20
    memory_budget_bytes: int = 512 * 2**20  # what a CSV body may take once parsed (the readers' own check)

    def __post_init__(self) -> None:
        for name in ("max_rows", "max_body_bytes", "memory_budget_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


# pandas' names for a list's kind of values (None skipped) that need no look at each value, per JSON kind
_NUMBERS = frozenset({"integer", "floating", "mixed-integer-float", "empty"})
_ALLOWED = {"number": _NUMBERS, "boolean": frozenset({"boolean", "empty"}), "string": frozenset({"string", "empty"})}
_SCALARS = _NUMBERS | _ALLOWED["boolean"] | _ALLOWED["string"]
_FLOATS = frozenset({"floating", "mixed-integer-float"})


class _NonFinite:
    """What the JSON decoder gives for ``NaN``/``Infinity`` (Python's json accepts them; JSON does not)."""

    def __init__(self, token: str):
        self.token = token


class RowParser:
    """Checks and converts request bodies for one model; built once per service from its feature fields."""

    def __init__(self, features: list[FeatureField], limits: ServiceLimits):
        self.features = features
        self.limits = limits
        self.names = [f.name for f in features]
        self._kinds = {f.name: (f.json_type, f.type) for f in features}
        self._needed = frozenset(self.names)
        self._decoder = json.JSONDecoder(parse_constant=_NonFinite)
        self._csv = CsvFastPath(features, limits.max_rows)

    def media_type(self, content_type: str | None) -> str:
        """``application/json`` or ``text/csv`` (parameters such as charset ignored); 415 for anything else."""
        media = (content_type or "").split(";")[0].strip().lower()
        if media in (JSON_TYPE, CSV_TYPE):
            return media
        shown = f"'{media}'" if media else "none"
        raise RequestError(415, f"unsupported content type {shown}; send {JSON_TYPE} ({{\"rows\": [...]}}) "
                                f"or {CSV_TYPE} (a header row, then one row per line)")

    def parse(self, body: bytes, media: str) -> pd.DataFrame:
        if not body.strip():
            raise RequestError(400, 'the request body is empty; send {"rows": [{"column": value, ...}]} or CSV')
        return self.parse_json(body) if media == JSON_TYPE else self.parse_csv(body)

    # ---- JSON --------------------------------------------------------------------------------------------

    def parse_json(self, body: bytes) -> pd.DataFrame:
        rows = self._rows_of(self._decode(body))
        for i, row in enumerate(rows):
            if type(row) is not dict or not self._needed <= row.keys():
                self._check_row(i, row)  # raises, naming the row and what it lacks
        frame = pd.DataFrame.from_records(rows)
        for column in frame.columns:
            if not self._fits(column, frame[column]):
                frame[column] = [self._value(i, column, row.get(column)) for i, row in enumerate(rows)]
        unsettled = [c for c in frame.columns if frame[c].dtype == object and not is_settled_text(frame[c])]
        if unsettled:  # what the JSON file reader would convert (ISO dates, mixed values): converted the same way
            settled = finish_frame(frame[unsettled].copy(), BODY_NAME, "json", [], lambda i: f"row {i}")
            frame = frame.assign(**{c: settled[c] for c in unsettled})
        return frame

    def _decode(self, body: bytes) -> Any:
        """The JSON document: pydantic-core's parser (written in Rust, about 2.5 times the standard library's
        speed on a 1,000-row body) for valid JSON; anything it refuses (NaN, a BOM, a syntax error) is decoded
        again by the standard library, whose errors give the user a line and column."""
        try:
            return pydantic_core.from_json(body, allow_inf_nan=False)
        except ValueError:
            pass
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise RequestError(400, f"the body is not UTF-8 text (byte {e.start}); send JSON encoded as UTF-8") \
                from None
        try:
            document = self._decoder.decode(text)
        except json.JSONDecodeError as e:
            raise RequestError(400, f"malformed JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
        except RecursionError:
            raise RequestError(400, "the JSON nests too deeply; send flat rows {\"column\": value}") from None
        return document

    def _fits(self, column: str, values: pd.Series) -> bool:
        """Whether a column's JSON values all fit its kind, from its dtype or one vectorised look.

        When not, the caller checks value by value, which raises naming the row, or converts labels to text.
        """
        kind = self._kinds.get(column)
        if values.dtype == object:
            inferred = pd.api.types.infer_dtype(values, skipna=True)
        elif pd.api.types.is_bool_dtype(values.dtype):
            inferred = "boolean"
        else:
            inferred = "floating" if pd.api.types.is_float_dtype(values.dtype) else "integer"
        allowed = _SCALARS if kind is None else _ALLOWED[kind[0]]
        if inferred not in allowed:
            return False
        return inferred not in _FLOATS or not np.isinf(values.to_numpy(dtype=float, na_value=np.nan)).any()

    def _rows_of(self, document: Any) -> list[dict[str, Any]]:
        if not isinstance(document, dict):
            raise RequestError(400, f'expected a JSON object {{"rows": [...]}}, got {_json_word(document)}')
        unknown = [k for k in document if k != "rows"]
        if unknown:
            raise RequestError(400, f"unknown field(s) at the top level: {_quoted(unknown)}; the body is "
                                    '{"rows": [{"column": value, ...}, ...]}')
        rows = document.get("rows")
        if rows is None:
            raise RequestError(400, 'the body has no "rows"; send {"rows": [{"column": value, ...}, ...]}')
        if not isinstance(rows, list):
            raise RequestError(400, f'"rows" must be a list of objects, got {_json_word(rows)}')
        if not rows:
            raise RequestError(400, '"rows" is empty; send at least one row')
        if len(rows) > self.limits.max_rows:
            raise RequestError(413, f"{len(rows):,} rows is more than the {self.limits.max_rows:,} a request may "
                                    "hold; split the rows over several requests")
        return rows

    def _check_row(self, i: int, row: Any) -> NoReturn:
        """Refuse a row that is not an object or lacks a column the model reads."""
        if not isinstance(row, dict):
            raise RequestError(400, f"row {i} is {_json_word(row)}, not an object {{\"column\": value, ...}}")
        missing = [n for n in self.names if n not in row]
        raise RequestError(422, f"row {i} lacks column(s) the model needs: {_quoted(missing)}; every row "
                                "carries every column of GET /schema (null for a missing value)")

    def _value(self, i: int, column: str, value: Any) -> Any:
        """One value checked against its column's JSON kind (raising with row and column); labels become text."""
        if value is None or isinstance(value, str):
            kind = self._kinds.get(column)
            if kind is not None and value is not None and kind[0] != "string":
                raise RequestError(422, f"row {i}, column '{column}': expected {_expected(kind)}, got text "
                                        f"{value[:40]!r}")
            return value
        if isinstance(value, dict | list):
            kind_word = "an object" if isinstance(value, dict) else "a list"
            raise RequestError(422, f"row {i}, column '{column}' holds {kind_word}, not a value; "
                                    "send a number, text, true/false or null")
        if isinstance(value, _NonFinite) or (isinstance(value, float) and not math.isfinite(value)):
            token = value.token if isinstance(value, _NonFinite) else str(value)
            raise RequestError(422, f"row {i}, column '{column}': {token} is not a number JSON allows; "
                                    "send null for a missing value")
        kind = self._kinds.get(column)
        if kind is None:
            return value  # a column the model does not read: kept for the rules, noticed as ignored
        json_type, semantic = kind
        if json_type == "number" and isinstance(value, bool):
            raise RequestError(422, f"row {i}, column '{column}': expected a number, got {_json_word(value)}")
        if json_type == "boolean" and not isinstance(value, bool):
            raise RequestError(422, f"row {i}, column '{column}': expected true or false, got {value!r}")
        if json_type == "string":
            if semantic == "datetime":
                raise RequestError(422, f"row {i}, column '{column}': expected a date as text such as "
                                        f"'2024-01-31', got {_json_word(value)} {value!r}")
            return str(value)  # a label sent as a number is the same label as text
        return value

    # ---- CSV ---------------------------------------------------------------------------------------------

    def parse_csv(self, body: bytes) -> pd.DataFrame:
        """Read a plain comma-delimited body straight into the model's types (:mod:`.csv_body`); anything else with
        the file reader the CLI uses (delimiter, encoding, dates). Then count the rows.

        No row limit is passed to the reader: with one it takes its slower line-by-line path, while the body
        is already bounded by ``max_body_bytes`` and the parse by the memory budget; the count is checked after.
        """
        frame = self._csv.read(body, BODY_NAME)
        if frame is not None:
            return frame
        try:
            result = read_table(body, BODY_NAME,
                                memory_budget_bytes=self.limits.memory_budget_bytes,
                                budget_setting="the service's memory budget")
        except DataError as e:
            raise RequestError(400, str(e)) from None
        if result.format not in ("csv", "tsv"):
            raise RequestError(415, f"the body is {result.format}, not CSV; send {CSV_TYPE} text")
        if len(result.frame) > self.limits.max_rows:
            raise RequestError(413, f"the CSV holds {len(result.frame):,} rows, more than the {self.limits.max_rows:,} "
                                    "a request may hold; split the rows over several requests")
        return result.frame


def _expected(kind: tuple[str, str]) -> str:
    return "a number" if kind[0] == "number" else "true or false"


def _json_word(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    if value is None:
        return "null"
    return "a number"


def _quoted(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")

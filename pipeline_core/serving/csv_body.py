"""A CSV request body read straight into the model's column types, when it is the plain CSV a client writes.

The general reader (:func:`pipeline_core.io.readers.read_table`) is built for files a person uploads: it sniffs
the delimiter over the first rows, hashes the bytes in a thread, looks for numbers written with commas and scans
every text column for numbers and dates. On a 1,000-row scoring request that cost twice JSON's parse and put CSV
batches over the service's overhead target. A client's CSV is almost always one comma-delimited header naming
the model's columns and no quotes, so such a body is parsed by Arrow in one call, with the columns that held
text in training typed as text (no inference) and every other column inferred exactly as the general reader's
Arrow parse does. Any other body (a BOM, quotes, another delimiter, names that need cleaning, a row too many,
bytes that are not UTF-8, anything Arrow refuses) returns ``None`` and the caller uses the general reader, whose
messages name the line at fault. Columns the model does not read as text get the readers' own ``finish_frame``,
so a number, date or mixed column comes out as it does from a file.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from pipeline_core.io.stabilise import clean_column_names, finish_frame
from pipeline_core.io.text import NULL_STRINGS
from pipeline_core.serving.schema import FeatureField

_BOM = b"\xef\xbb\xbf"


class CsvFastPath:
    """Parses the common CSV body for one model; built once per service from its feature fields."""

    def __init__(self, features: list[FeatureField], max_rows: int):
        self.names = frozenset(f.name for f in features)
        self.max_rows = max_rows
        # Only columns of text in training that the model does not read as dates (dates kept as text in training
        # are read as dates from a file): a categorical of codes (1, 2, 3) stays inferred as numbers, as the
        # general reader reads it, because the model's preparation turns 1 and 1.0 into different labels.
        self.text = frozenset(f.name for f in features if f.json_type == "string" and f.type != "datetime"
                              and f.dtype and not f.dtype.startswith("datetime"))

    def read(self, body: bytes, where: str) -> pd.DataFrame | None:
        """The rows of ``body``, or ``None`` when only the general reader may read it."""
        if body.startswith(_BOM) or b'"' in body or b"\0" in body or body.count(b"\n") > self.max_rows + 1:
            return None  # memchr-speed scans; the row count keeps the parse within the request's bounds
        end = body.find(b"\n")
        header = (body if end < 0 else body[:end]).rstrip(b"\r")
        try:
            names = header.decode("utf-8").split(",")
        except UnicodeDecodeError:
            return None
        if clean_column_names(names)[1] or not self.names <= set(names):
            return None
        try:
            table = pacsv.read_csv(
                pa.py_buffer(body),
                read_options=pacsv.ReadOptions(use_threads=False),  # parallelism is across requests
                convert_options=pacsv.ConvertOptions(
                    null_values=NULL_STRINGS, strings_can_be_null=True,
                    column_types={name: pa.string() for name in names if name in self.text}),
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        if not 0 < table.num_rows <= self.max_rows or any(_needs_general_reader(f.type) for f in table.schema):
            return None
        try:
            frame = table.to_pandas(date_as_object=False, coerce_temporal_nanoseconds=True)
        except (pa.ArrowInvalid, OverflowError):
            return None
        unsettled = [c for c in frame.columns if c not in self.text and frame[c].dtype == object]
        if unsettled:  # numbers mixed with text, ISO dates Arrow did not take: as the file reader settles them
            settled = finish_frame(frame[unsettled].copy(), where, "csv", [], lambda i: f"line {i + 2}")
            frame = frame.assign(**{c: settled[c] for c in unsettled})
        return frame


def _needs_general_reader(kind: pa.DataType) -> bool:
    """Bytes that are not UTF-8 (binary) and times of day (the general reader keeps them as text)."""
    return pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_time(kind)

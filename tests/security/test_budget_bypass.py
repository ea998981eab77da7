"""Issue 14 point 7: tiny files that decode to gigabytes must be refused by the memory budget before they do.

Two bypasses: an 84 KB workbook whose rows each touch column XFD (the frame is as wide as the widest
row: 5,999 x 16,384, 3.1 GB), and a small Parquet file whose later rows hold 1 MB strings (the estimate
extrapolated from the first batch only). Both files are built here; each read must fail with a
``DataError`` naming the budget while the allocations stay far below what the table would take.
"""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from pipeline_core.errors import DataError
from pipeline_core.io.readers import read_table

MB = 2**20
BUDGET_MESSAGE = r"would take about [\d.,]+ [KMG]?B in memory, more than the 200\.0 MB budget"
XLSX_ROWS, XFD = 5_999, 16_384
LONG_ROWS = 600  # of 1 MB each, after 10,000 short rows: the first batch sees none of them


def xfd_workbook(*, declared: str | None = None) -> bytes:
    """A header and 5,999 rows, each with a value in column A and one in column XFD (the last one).

    ``declared`` rewrites the sheet's ``<dimension ref>``: a file may claim to be one cell.
    """
    book = Workbook()
    sheet = book.active
    sheet.cell(row=1, column=1, value="id")
    for row in range(2, XLSX_ROWS + 2):
        sheet.cell(row=row, column=1, value=row)
        sheet.cell(row=row, column=XFD, value="x")
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    if declared is None:
        return data
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body, found = re.subn(rb'<dimension ref="[^"]*"', f'<dimension ref="{declared}"'.encode(), body)
                assert found == 1
            target.writestr(info.filename, body)
    return out.getvalue()


def long_strings_parquet(*, dictionary: bool) -> bytes:
    """10,000 one-letter rows, then 600 rows of 1 MB each (zstd: the file stays small), written in small groups.

    With ``dictionary`` each group stores its 1 MB string once (the metadata then says 1 MB per 20 MB
    group); without, the strings are plain and the metadata's uncompressed sizes tell the truth.
    """
    schema = pa.schema([("id", pa.int64()), ("text", pa.string())])
    buffer = io.BytesIO()
    with pq.ParquetWriter(buffer, schema, compression="zstd", use_dictionary=dictionary) as writer:
        writer.write_table(pa.table({"id": range(10_000), "text": ["x"] * 10_000}, schema=schema))
        big = pa.array(["a" * MB])
        for start in range(10_000, 10_000 + LONG_ROWS, 20):
            writer.write_table(pa.table({"id": range(start, start + 20), "text": big.take([0] * 20)}, schema=schema))
    return buffer.getvalue()


def refused_with_peak(data: bytes, name: str) -> tuple[str, int]:
    """The refusal's message and the peak Python allocation while reading ``data`` with a 200 MB budget."""
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as refused:
            read_table(data, name, memory_budget_bytes=200 * MB)
        return str(refused.value), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("declared", [None, "A1"], ids=["declared-dimension", "dimension-lies"])
def test_a_tiny_workbook_touching_column_xfd_is_refused_before_the_frame_is_built(declared):
    data = xfd_workbook(declared=declared)
    assert len(data) < 200 * 2**10  # about 84 KB: the archive checks cannot see it
    would_be = XLSX_ROWS * XFD * 8  # the frame's slots alone, before any value
    message, peak = refused_with_peak(data, "wide.xlsx")
    assert re.search(BUDGET_MESSAGE, message), message
    assert peak < 200 * MB and peak < would_be / 3, f"peak {peak / MB:.0f} MB before the refusal"
    if declared is None:  # the declared dimension is enough: refused before a row is read
        assert peak < 20 * MB


def test_the_same_width_still_reads_when_the_budget_holds_it():
    """The checks count the real rectangle: a narrower slice of the same shape is read as before."""
    book = Workbook()
    sheet = book.active
    sheet.append(["id", "far"])
    for row in range(50):
        sheet.cell(row=row + 2, column=1, value=row)
        sheet.cell(row=row + 2, column=300, value="x")
    buffer = io.BytesIO()
    book.save(buffer)
    frame = read_table(buffer.getvalue(), "ok.xlsx", memory_budget_bytes=200 * MB).frame
    assert frame.shape == (50, 300)


@pytest.mark.parametrize("dictionary", [False, True], ids=["plain", "dictionary"])
def test_a_small_parquet_file_whose_later_rows_hold_1_mb_strings_is_refused_before_decoding(dictionary):
    data = long_strings_parquet(dictionary=dictionary)
    assert len(data) < 2 * MB
    pool = pa.default_memory_pool()
    before = pool.max_memory() or 0
    message, peak = refused_with_peak(data, "long.parquet")
    assert re.search(BUDGET_MESSAGE, message), message
    assert peak < 20 * MB, f"Python allocations reached {peak / MB:.0f} MB before the refusal"
    assert (pool.max_memory() or 0) - before < 100 * MB  # Arrow's own buffers: nothing decoded either


def test_parquet_text_within_the_budget_reads_as_before():
    """Dictionary-encoded reading is only for counting: the frame is what the plain read gave (bytes as text)."""
    import pandas as pd

    frame = pd.DataFrame({"text": ["a", "b", None, "a"], "raw": [b"x", b"y", b"z", None], "n": [1, 2, 3, 4],
                          "level": pd.Categorical(["lo", "hi", "lo", "hi"])})
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    back = read_table(buffer.getvalue(), "ok.parquet", memory_budget_bytes=200 * MB).frame
    assert back.to_dict("list") == {"text": ["a", "b", None, "a"], "raw": ["b'x'", "b'y'", "b'z'", None],
                                    "n": [1, 2, 3, 4], "level": ["lo", "hi", "lo", "hi"]}

"""Reading Parquet uploads with pyarrow, refusing them early when they would not fit the memory budget.

Three checks, each before the allocation it guards: the file's metadata gives every row group's
uncompressed size, which covers rows a first batch does not (a 37 KB file whose later rows hold 1 MB
strings decodes to 2.1 GB); text columns are then read dictionary-encoded and their decoded size
counted from the value lengths (a dictionary page holds a repeated 1 MB string once); the first rows,
decoded and extrapolated by the row count, cover what pandas adds per value (a Python object per string).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline_core.errors import DataError
from pipeline_core.io.options import ReadOptions
from pipeline_core.io.safety import check_memory_budget, estimate_memory
from pipeline_core.io.stabilise import clean_column_names, finish_frame, note_renames


def read_parquet(data: bytes, opts: ReadOptions, notices: list[str]) -> pd.DataFrame:
    """The Parquet table as a frame, refused first if its estimated size exceeds the budget."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pfile = pq.ParquetFile(pa.BufferReader(data))
        rows = pfile.metadata.num_rows if opts.max_rows is None else min(opts.max_rows, pfile.metadata.num_rows)
        if rows == 0:
            raise DataError(f"'{opts.name}' has no rows. Upload a Parquet file with data.")
        check_memory_budget(uncompressed_bytes(pfile.metadata, rows), len(data), opts)  # before decoding a row
        schema = pfile.schema_arrow
        paged = _with_dictionary_pages(pfile.metadata)
        text = [f.name for f in schema if _is_text(f.type) and f.name in paged]
        encoded = pq.ParquetFile(pa.BufferReader(data), read_dictionary=text) if text else pfile
        table = encoded.read() if opts.max_rows is None else _first_rows(encoded, opts.max_rows)
        check_memory_budget(decoded_bytes(table, text), len(data), opts)  # before any text is decoded
        if text:
            table = table.cast(schema)
        sample = table.slice(0, 10_000).to_pandas(date_as_object=False)
        check_memory_budget(estimate_memory(sample, len(sample), rows), len(data), opts)
        frame = table.to_pandas(date_as_object=False)
    except (pa.ArrowException, OSError) as e:
        raise DataError(f"'{opts.name}' is not a readable Parquet file ({e}). It may be damaged or incomplete; "
                        "export it again.") from e
    names, renamed = clean_column_names(list(frame.columns))
    frame.columns = names
    note_renames(renamed, notices)
    return finish_frame(frame, opts.name, "parquet", notices, lambda i: f"row {i + 1}")


def decoded_bytes(table: Any, text: list[str]) -> int:
    """Size of ``table`` once its ``text`` columns, read dictionary-encoded, are decoded (cheap: lengths only).

    A dictionary page holds each distinct value once, so a 1 MB string repeated on 600 rows is 1 MB in the
    file and its metadata, but 600 MB decoded: the lengths of the values each row points to say so exactly.
    """
    import pyarrow.compute as pc

    total = 0
    for name in table.column_names:
        column = table.column(name)
        if name not in text:
            total += column.nbytes
            continue
        for chunk in column.chunks:
            lengths = pc.binary_length(chunk.dictionary).take(chunk.indices)
            total += int(pc.sum(lengths).as_py() or 0) + 8 * len(chunk)  # values and offsets
    return total


def _with_dictionary_pages(metadata: Any) -> set[str]:
    """Columns with a dictionary page in some row group: only those can decode to more than the metadata says.

    Reading a column dictionary-encoded costs a hash per value where its pages are plain, so plain columns,
    whose uncompressed size in the metadata is already their decoded size, are read as they are.
    """
    return {group.column(j).path_in_schema for group in map(metadata.row_group, range(metadata.num_row_groups))
            for j in range(group.num_columns) if group.column(j).has_dictionary_page}


def _is_text(kind: Any) -> bool:
    """Columns that pyarrow can keep dictionary-encoded on read (plain strings and bytes)."""
    import pyarrow as pa

    return any(test(kind) for test in (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary,
                                       pa.types.is_large_binary))


def uncompressed_bytes(metadata: Any, rows: int) -> int:
    """Uncompressed size of the row groups that hold the first ``rows`` rows, from the file's metadata alone.

    Per row group the larger of its columns' uncompressed sizes and its ``total_byte_size``: what decoding
    those rows takes at least, wherever in the file the large values are. Compression hides nothing here
    (1 MB of one repeated letter compresses to bytes, but is 1 MB uncompressed).
    """
    total, seen = 0, 0
    for i in range(metadata.num_row_groups):
        if seen >= rows:
            break
        group = metadata.row_group(i)
        columns = sum(group.column(j).total_uncompressed_size for j in range(group.num_columns))
        total += max(columns, group.total_byte_size)
        seen += group.num_rows
    return total


def _first_rows(pfile: Any, max_rows: int) -> Any:
    import pyarrow as pa

    batches, count = [], 0
    for batch in pfile.iter_batches(batch_size=min(max_rows, 65_536)):
        batches.append(batch)
        count += batch.num_rows
        if count >= max_rows:
            break
    return pa.Table.from_batches(batches).slice(0, max_rows)

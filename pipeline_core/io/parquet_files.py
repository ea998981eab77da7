"""Reading Parquet uploads with pyarrow, refusing them early when they would not fit the memory budget.

The first batch is decoded to estimate the whole table's size from the row count in the
file's metadata, so an oversized file is refused before it is read in full.
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
        first = next(pfile.iter_batches(batch_size=10_000), None)
        if first is None or pfile.metadata.num_rows == 0:
            raise DataError(f"'{opts.name}' has no rows. Upload a Parquet file with data.")
        rows = pfile.metadata.num_rows if opts.max_rows is None else min(opts.max_rows, pfile.metadata.num_rows)
        sample = first.to_pandas(date_as_object=False)
        check_memory_budget(estimate_memory(sample, len(sample), rows), len(data), opts)
        table = pfile.read() if opts.max_rows is None else _first_rows(pfile, opts.max_rows)
        frame = table.to_pandas(date_as_object=False)
    except (pa.ArrowException, OSError) as e:
        raise DataError(f"'{opts.name}' is not a readable Parquet file ({e}). It may be damaged or incomplete; "
                        "export it again.") from e
    names, renamed = clean_column_names(list(frame.columns))
    frame.columns = names
    note_renames(renamed, notices)
    return finish_frame(frame, opts.name, "parquet", notices, lambda i: f"row {i + 1}")


def _first_rows(pfile: Any, max_rows: int) -> Any:
    import pyarrow as pa

    batches, count = [], 0
    for batch in pfile.iter_batches(batch_size=min(max_rows, 65_536)):
        batches.append(batch)
        count += batch.num_rows
        if count >= max_rows:
            break
    return pa.Table.from_batches(batches).slice(0, max_rows)

"""Issue 14 points 9 and 11: inputs that crashed (a traceback in the CLI, the generic error page in the app)
and messages that blamed the wrong thing. Each case is built small where the same code path triggers."""

from __future__ import annotations

import pytest

from pipeline_core.errors import DataError
from pipeline_core.io.readers import read_table

LONG = 200_000  # longer than the csv module's default 128 KB field limit


# ---------------------------------------------------------------- delimited text


@pytest.mark.parametrize("max_rows", [None, 2])
def test_cr_only_line_endings_are_read_as_lines(max_rows):
    data = b'id,city,score\r1,Paris,1.5\r2,"Lyon",2.5\r3,Nice,3.5\r'
    frame = read_table(data, "mac.csv", max_rows=max_rows).frame
    assert list(frame.columns) == ["id", "city", "score"]
    assert frame["city"].tolist()[:2] == ["Paris", "Lyon"]
    assert len(frame) == (max_rows or 3)


def test_a_ragged_row_in_a_cr_only_file_is_named_by_its_line():
    with pytest.raises(DataError, match=r"'mac.csv' line 3 has 3 values but the header has 2 columns"):
        read_table(b"a,b\r1,2\r3,4,5\r6,7\r", "mac.csv", max_rows=5)


@pytest.mark.parametrize("max_rows", [None, 5])
@pytest.mark.parametrize("quoted", [False, True])
def test_a_long_valid_cell_is_read_and_not_blamed_on_quoting(quoted, max_rows):
    cell = b"x" * LONG
    data = b'note,n\n' + (b'"' + cell + b'"' if quoted else cell) + b',1\nshort,2\n'
    frame = read_table(data, "long.csv", max_rows=max_rows).frame
    assert frame["note"].str.len().tolist() == [LONG, 5]


def test_a_single_line_longer_than_the_sample_is_a_header_without_rows_not_a_crash():
    with pytest.raises(DataError, match=r"^'one-line.csv' has no rows"):
        read_table(b",".join([b"c" * 1000] * 400), "one-line.csv")

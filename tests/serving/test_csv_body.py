"""The CSV fast path reads a plain body exactly as the file reader does, and hands every other body back to it."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline_core.artifacts.export import load_model
from pipeline_core.io.readers import read_table
from pipeline_core.serving.csv_body import CsvFastPath
from pipeline_core.serving.schema import feature_fields


@pytest.fixture(scope="module")
def fast(churn_dir) -> CsvFastPath:
    return CsvFastPath(feature_fields(load_model(churn_dir / "churn.skops")), max_rows=300)


def plain(frame: pd.DataFrame, line_end: str = "\n") -> bytes:
    return frame.to_csv(index=False, lineterminator=line_end).encode()


def with_extras(rows: pd.DataFrame) -> pd.DataFrame:
    """Columns the model does not read, which the file reader settles: ISO dates, numbers with one word, flags."""
    extra = rows.copy()
    extra["seen"] = pd.date_range("2024-01-01", periods=len(rows), freq="D").strftime("%Y-%m-%d")
    extra["mostly_numbers"] = [str(i) for i in range(len(rows) - 1)] + ["unknown"]
    extra["flag"] = [i % 2 == 0 for i in range(len(rows))]
    extra["age"] = extra["age"].round(0)  # whole numbers, read as integers by both
    return extra


@pytest.mark.parametrize("case", ["as written", "crlf", "extras", "a feature all missing", "one row"])
def test_a_plain_body_reads_exactly_as_the_file_reader_reads_it(fast, churn_rows, case):
    rows = {"as written": churn_rows, "crlf": churn_rows, "extras": with_extras(churn_rows),
            "a feature all missing": churn_rows.assign(age=None), "one row": churn_rows.iloc[[3]]}[case]
    body = plain(rows, "\r\n" if case == "crlf" else "\n")
    frame = fast.read(body, "request body")
    assert frame is not None, "the fast path refused a plain body"
    pd.testing.assert_frame_equal(frame, read_table(body, "request body").frame)


@pytest.mark.parametrize("case", ["bom", "quoted", "semicolons", "spaced name", "repeated name", "latin-1",
                                  "ragged", "too many rows", "header only", "missing feature"])
def test_any_other_body_is_left_to_the_file_reader(fast, churn_rows, case):
    rows = churn_rows.iloc[:5]
    text = rows.to_csv(index=False)
    header, first = text.splitlines()[:2]
    body = {
        "bom": b"\xef\xbb\xbf" + text.encode(),
        "quoted": rows.assign(review="fast, friendly").to_csv(index=False).encode(),
        "semicolons": rows.to_csv(index=False, sep=";").encode(),
        "spaced name": text.replace("age", " age", 1).encode(),
        "repeated name": (header + ",age\n" + first + ",3\n").encode(),
        "latin-1": rows.assign(review="très bien").to_csv(index=False).encode("latin-1"),
        "ragged": (text + first + ",surplus\n").encode(),
        "too many rows": plain(pd.concat([churn_rows, churn_rows])),
        "header only": (header + "\n").encode(),
        "missing feature": rows.drop(columns=["income"]).to_csv(index=False).encode(),
    }[case]
    assert fast.read(body, "request body") is None

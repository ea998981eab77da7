"""Issue 14 point 10: inputs that gave wrong results without a word. Each test failed before its fix."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
import sklearn

from pipeline_core.artifacts.export import load_model
from pipeline_core.definition.spec import DataSource
from pipeline_core.definition.task import check_target, detect_task
from pipeline_core.errors import DataError, ModelError
from pipeline_core.io.readers import read_table
from pipeline_core.io.samples import load_sample
from pipeline_core.io.text import SAMPLE_BYTES
from pipeline_core.training.train import train
from tests.pipeline_core.test_cli import run_all
from tests.security.test_ml_guards import spec_for

# ---------------------------------------------------------------- reading CSV


@pytest.mark.parametrize("data", [
    b'"first\nsecond",x\n1,2\n3,4\n',
    b'"first\r\nsecond";"x\ny"\r\n1;2\r\n3;4\r\n',
    b'id,"first\nsecond",x\n1,2,3\n4,5,6\n',
], ids=["first-column", "crlf-semicolon", "middle-column"])
def test_a_header_with_a_quoted_newline_is_read_as_pandas_reads_it(data):
    delimiter = ";" if b";" in data else ","
    expected = pd.read_csv(io.BytesIO(data), sep=delimiter)
    for max_rows in (None, 5):  # the fast path and the pandas path
        frame = read_table(data, "quoted-header.csv", max_rows=max_rows).frame
        assert list(frame.columns) == list(expected.columns)
        assert frame.to_numpy().tolist() == expected.to_numpy().tolist()


def test_quoted_numbers_with_thousands_separators_or_decimal_commas_are_read_as_numbers_with_a_notice():
    data = (b'id,amount,rate,mixed\n1,"1,234","0,5","1,5"\n2,"12,345","1,25",abc\n'
            b'3,,2,"2,5"\n4,"1,234,567.5","-3,75","3,5"\n5,999,"10,0",\n')
    result = read_table(data, "commas.csv")
    frame = result.frame
    assert frame["amount"].tolist()[:2] == [1234, 12345] and np.isnan(frame["amount"][2])
    assert frame["amount"].tolist()[3:] == [1234567.5, 999]
    assert frame["rate"].tolist() == [0.5, 1.25, 2, -3.75, 10]
    assert frame["mixed"].dtype == object  # numbers mixed with text stay text, with a notice
    notices = " | ".join(result.notices)
    assert "'amount' holds numbers written with a comma as the thousands separator (e.g. '1,234' read as 1234)" \
        in notices
    assert "'rate' holds numbers written with a decimal comma (e.g. '0,5' read as 0.5)" in notices
    assert "'mixed' holds numbers written with commas (e.g. '1,5') mixed with other text" in notices
    semicolons = read_table(b'id;amount\n1;"1.234,5"\n2;"2,5"\n3;4,5\n', "semicolons.csv").frame
    assert semicolons["amount"].tolist() == [1234.5, 2.5, 4.5]
    assert read_table(b'id,name\n1,"Smith, J"\n2,"Lee, K"\n', "names.csv").frame["name"].dtype == object


def test_line_numbers_after_a_header_on_two_lines_count_both():
    data = b'"co\nde",value\n' + b"".join(f"{i},{i}\n".encode() for i in range(2000)) + b"N/A-9,1\n"
    notice = next(n for n in read_table(data, "two-line-header.csv").notices if "N/A-9" in n)
    assert "(line 2003)" in notice  # header on lines 1-2, first row on line 3


def _with_nul_at(rows: int, encoding: str = "utf-8", jsonl: bool = False) -> bytes:
    lines = [f'{{"a": {i}, "b": "xx"}}' if jsonl else f"{i},xx" for i in range(rows)]
    lines[-2] = lines[-2].replace("xx", "x\x00x")
    text = "\n".join(([] if jsonl else ["a,b"]) + lines) + "\n"
    return text.encode(encoding)


@pytest.mark.parametrize(("data", "line"), [
    (_with_nul_at(60_000), 60_000),
    (_with_nul_at(60_000, "utf-16"), 60_000),
    (_with_nul_at(20_000, jsonl=True), 19_999),
    (_with_nul_at(100), None),
], ids=["csv-after-256kb", "utf16-after-256kb", "jsonl-after-256kb", "csv-at-the-start"])
def test_a_nul_byte_anywhere_in_a_text_file_is_refused(data, line):
    assert len(data) > SAMPLE_BYTES or line is None
    with pytest.raises(DataError, match="NUL byte|binary file") as refused:
        read_table(data, "nul.csv")
    if line is not None:
        assert f"line {line:,} " in str(refused.value) or f"line {line} " in str(refused.value)


# ---------------------------------------------------------------- targets


def test_a_date_target_is_refused_with_advice_instead_of_becoming_one_class_per_date():
    days = pd.date_range("2024-01-01", periods=28).repeat(6)
    rng = np.random.default_rng(0)
    text = "x,when\n" + "".join(f"{rng.normal():.3f},{d.date()}\n" for d in days)
    frame = read_table(text.encode(), "dates.csv").frame
    assert pd.api.types.is_datetime64_any_dtype(frame["when"])
    for target in (frame, frame.assign(when=days.strftime("%d/%m/%Y"))):  # parsed dates, and dates kept as text
        choice = detect_task(target["when"])
        assert "dates" in choice.reason
        with pytest.raises(DataError, match="target 'when' holds dates.*year, month, weekday.*date-parts step"):
            train(spec_for(target, "when", ["logistic_regression"]), target)
    labels = pd.Series(["1.2.10", "1.2.11", "2.0.10"] * 10, name="version")
    assert check_target(labels, "classification", 3) == []  # version labels are not dates


# ---------------------------------------------------------------- the command line


def test_the_cli_names_a_column_copying_the_target_before_training(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "z": rng.normal(size=200)})
    frame["y"] = np.where(frame["x"] + rng.normal(size=200) > 0, "a", "b")
    frame["answer"] = frame["y"]  # an exact copy of the target
    frame.to_csv(tmp_path / "leak.csv", index=False)
    (tmp_path / "leak.json").write_text(spec_for(frame, "y", ["decision_tree"]).model_copy(
        update={"data": DataSource(file_name="leak.csv")}).to_json())
    train_result, run_result = run_all([
        ["train", "leak.csv", "--target", "y", "--models", "decision_tree", "--out", "train"],
        ["run", "leak.json", "--out", "run"],
    ], tmp_path)
    for result in (train_result, run_result):
        assert result.returncode == 0, result.stderr[-2000:]
        notes = [line for line in result.stderr.splitlines() if line.startswith("note: ") and "'answer'" in line]
        assert notes and "copy of the target" in notes[0], result.stderr[-2000:]
        all_notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
        assert not any("'x'" in line or "'z'" in line for line in all_notes)


# ---------------------------------------------------------------- column names


def test_columns_named_with_double_underscores_train_every_model():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"price__eur": rng.normal(size=150), "kind__code": rng.choice(["x", "y"], 150),
                          "price_.eur": rng.normal(size=150)})
    frame["y"] = np.where(frame["price__eur"] > 0, "p", "q")
    result = train(spec_for(frame, "y", ["logistic_regression", "random_forest"]), frame)
    assert all(row.error is None for row in result.leaderboard), [row.error for row in result.leaderboard]
    assert result.best.metrics[result.metric] > 0.8
    scored = result.pipeline.predict(frame.drop(columns="y"))
    assert list(frame.columns) == ["price__eur", "kind__code", "price_.eur", "y"]  # the data keeps its names
    assert len(scored) == len(frame)


# ---------------------------------------------------------------- model files


def _without_metadata(skops: bytes, sklearn_version: str | None = None) -> bytes:
    """The model file with our metadata entry deleted and, optionally, another scikit-learn version in its schema."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(skops)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename == "pipeline_studio_metadata.json":
                continue
            payload = source.read(info)
            if info.filename == "schema.json" and sklearn_version:
                old = f'"\\"{sklearn.__version__}\\""'.encode()
                assert old in payload
                payload = payload.replace(old, f'"\\"{sklearn_version}\\""'.encode())
            target.writestr(info, payload)
    return out.getvalue()


def test_a_model_without_its_metadata_still_gets_the_scikit_learn_version_check(trained):
    with pytest.raises(ModelError, match=f"scikit-learn 1.2.0.*scikit-learn {sklearn.__version__}"):
        load_model(_without_metadata(trained.skops, "1.2.0"), name="stripped.skops")
    loaded = load_model(_without_metadata(trained.skops), name="stripped.skops")  # same version: a foreign file
    assert loaded.metadata == {}
    assert len(loaded.pipeline.predict(load_sample("iris").drop(columns="target").head(5))) == 5

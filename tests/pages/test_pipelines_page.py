"""Pipelines page: save versions, open and diff them, re-train, export models and definitions, import, delete."""

from __future__ import annotations

import io
import json
import sys
import zipfile

import pytest

import storage
from pipeline_core.artifacts.export import load_bundle, load_model
from pipeline_core.definition.spec import PipelineSpec
from storage import Store
from tests.apptest import texts
from tests.pages.test_compare_page import fast_spec, train_now
from tests.pages.test_predict_page import by_id_suffix, capture_downloads, download_bytes, download_name
from tests.pages.test_train_page import wait_for_run


@pytest.fixture
def downloads(monkeypatch):
    return capture_downloads(monkeypatch)


def save(at, name: str, note: str = ""):
    at.text_input(key="pipelines_name").set_value(name)
    at.text_input(key="pipelines_note").set_value(note)
    at.button(key="pipelines_save").click()
    return at.run()


def open_tab(app, tab: str, **state):
    """The Pipelines page with ``tab`` open (tabs run lazily, so only the open one renders)."""
    at = app("pages/pipelines.py", **state)
    at.session_state["pipelines_tab"] = tab
    return at.run()


def saved_version(store: Store, name: str, spec: PipelineSpec, note: str = "") -> storage.PipelineVersion:
    return storage.save_pipeline_version(store, name=name, definition=spec.to_dict(), note=note)


def test_empty_page_offers_save_and_import(app):
    at = app("pages/pipelines.py")
    assert not at.exception
    assert "No saved pipelines yet" in texts(at, "info")
    assert at.button(key="pipelines_save")
    assert at.file_uploader(key="pipelines_import")


def test_saving_records_a_version_and_clears_the_unsaved_flag(store, app):
    at = app("pages/pipelines.py", spec=fast_spec().to_dict())
    assert "unsaved changes" in " ".join(m.value for m in at.markdown)
    at = save(at, "iris baseline", "first try")
    assert not at.exception
    assert "Saved 'iris baseline' version 1" in texts(at, "success")
    version = storage.get_version(store, at.session_state["pipeline_id"])
    assert (version.version, version.note) == (1, "first try")
    assert at.session_state["pipeline_version"] == 1
    assert at.session_state["saved_hash"] == PipelineSpec.model_validate(at.session_state["spec"]).content_hash()
    assert at.session_state["spec"]["name"] == "iris baseline"
    assert "unsaved changes" not in " ".join(m.value for m in at.markdown)
    assert at.text_input(key="pipelines_note").value == ""  # the note belonged to version 1


def test_versions_diff_and_open_in_editor(store, app):
    saved_version(store, "iris", fast_spec(), "v1")
    saved_version(store, "iris", fast_spec(cv_folds=5), "more folds")
    at = open_tab(app, "Compare versions")
    assert not at.exception
    summary = " ".join(m.value for m in at.markdown)
    assert "evaluation.cv_folds: 3 → 5" in summary
    assert "+" in at.code[0].value and "cv_folds" in at.code[0].value
    at.session_state["pipelines_tab"] = "Versions"
    at.run()
    at.selectbox(key="pipelines_version").set_value(1)
    at.button(key="pipelines_open").click().run()
    assert not at.exception
    assert at.session_state["spec"]["evaluation"]["cv_folds"] == 3
    assert at.session_state["pipeline_version"] == 1
    assert "Opened 'iris' version 1" in texts(at, "success")
    assert at.text_input(key="pipelines_name").value == "iris"  # saving again goes to the opened pipeline


def test_training_a_version_links_the_run_to_it(store, app, iris_id):
    version = saved_version(store, "iris", fast_spec())
    at = app("pages/pipelines.py", dataset_id=iris_id)
    at.button(key="pipelines_rerun").click().run()
    assert not at.exception
    assert "follow it on the Train page" in texts(at, "success")
    run = wait_for_run(store, at.session_state["run_id"])
    assert run.status == "done", run.error
    assert run.pipeline_version_id == version.id


@pytest.mark.parametrize("fmt", ["skops", "joblib", "python", "bundle", "mlflow"])
def test_model_export_formats(store, app, iris_id, downloads, fmt):
    version = saved_version(store, "iris", fast_spec())
    run = train_now(store, iris_id, fast_spec(), pipeline_version_id=version.id)
    at = open_tab(app, "Export", dataset_id=iris_id)
    at.selectbox(key="pipelines_export_format").set_value(fmt).run()
    assert not at.exception
    button = by_id_suffix(at.get("download_button"), "pipelines_download_model")
    data = download_bytes(downloads, button)
    extension = {"python": "py", "bundle": "zip", "mlflow": "mlflow.zip"}.get(fmt, fmt)
    assert download_name(downloads, button) == f"iris_run{run.id}.{extension}"
    if fmt == "python":
        assert "def build_pipeline():" in data.decode()
    elif fmt == "bundle":
        bundle = load_bundle(data)
        assert bundle.schema.target == "target" and len(bundle.schema.examples) == 5
        assert "README says how to install, load and predict" in texts(at, "caption")
    elif fmt == "mlflow":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert {"MLmodel", "artifacts/model.skops"} <= set(archive.namelist())
        assert "mlflow.pyfunc.load_model" in texts(at, "caption")
    else:
        loaded = load_model(data, fmt)
        assert loaded.metadata["target"] == "target"
        assert hasattr(loaded.pipeline, "predict")


def test_without_mlflow_its_export_is_not_offered_and_the_page_says_how_to_get_it(store, app, iris_id, monkeypatch):
    version = saved_version(store, "iris", fast_spec())
    train_now(store, iris_id, fast_spec(), pipeline_version_id=version.id)
    at = open_tab(app, "Export", dataset_id=iris_id)
    assert any("MLflow" in label for label in at.selectbox(key="pipelines_export_format").options)
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what an installation without the mlflow extra sees
    at.run()
    assert not at.exception
    assert not any("MLflow" in label for label in at.selectbox(key="pipelines_export_format").options)
    assert "pip install 'pipeline-studio[mlflow]'" in texts(at, "caption")


def test_onnx_export_and_its_refusal_named_plainly(store, app, iris_id, downloads):
    convertible = saved_version(store, "plain", fast_spec())
    train_now(store, iris_id, fast_spec(), pipeline_version_id=convertible.id)
    knn = PipelineSpec.model_validate({**fast_spec().to_dict(), "steps": [{"kind": "impute", "strategy": "knn"}]})
    blocked = saved_version(store, "knn", knn)
    train_now(store, iris_id, knn, pipeline_version_id=blocked.id)
    at = open_tab(app, "Export", dataset_id=iris_id)
    at.selectbox(key="pipelines_pick").set_value(convertible.pipeline_id).run()
    at.selectbox(key="pipelines_export_format").set_value("onnx").run()
    assert not at.exception
    assert download_bytes(downloads, by_id_suffix(at.get("download_button"), "pipelines_download_model"))
    described = download_bytes(downloads, by_id_suffix(at.get("download_button"), "pipelines_download_onnx_inputs"))
    assert "`tensor(double)` [rows, 1]" in described.decode() and "Example feed" in described.decode()
    at.selectbox(key="pipelines_export_format").set_value("skops").run()
    at.selectbox(key="pipelines_pick").set_value(blocked.pipeline_id).run()
    assert not at.exception
    # said before ONNX is picked: which step, and why
    assert "ONNX: not possible for this model" in texts(at, "caption")
    assert "KNNImputer" in texts(at, "caption")
    at.selectbox(key="pipelines_export_format").set_value("onnx").run()
    assert "cannot be converted" in texts(at, "error")
    assert "KNNImputer" in texts(at, "error")


def test_definition_export_imports_back_as_a_new_pipeline(store, app, downloads):
    saved_version(store, "iris", fast_spec(), "v1")
    saved_version(store, "iris", fast_spec(cv_folds=4), "v2")
    at = open_tab(app, "Export")
    history = download_bytes(downloads, by_id_suffix(at.get("download_button"), "pipelines_download_history"))
    latest = json.loads(download_bytes(downloads, by_id_suffix(at.get("download_button"),
                                                                "pipelines_download_definition")))
    assert latest["evaluation"]["cv_folds"] == 4
    at.session_state["pipelines_tab"] = "Import"
    at.run()
    at.file_uploader(key="pipelines_import").upload("iris_history.json", history, "application/json")
    at.run()
    at.button(key="pipelines_import_button").click().run()
    assert not at.exception
    assert "as pipeline 'iris (2)'" in texts(at, "success")
    imported = storage.get_pipeline(store, "iris (2)")
    assert [v.note for v in storage.list_versions(store, imported.id)] == ["v1", "v2"]
    assert at.selectbox(key="pipelines_pick").value == imported.id


@pytest.mark.parametrize(("data", "message"), [
    (b"{not json", "is not valid JSON"),
    (json.dumps({"target": "y", "models": [{"kind": "magic_forest"}]}).encode(), "'magic_forest' is not a known model"),
    (json.dumps({"format": "pipeline-studio/pipeline", "format_version": 9, "name": "x", "versions": []}).encode(),
     "format version 9"),
])
def test_bad_import_files_get_a_specific_error(store, app, data, message):
    at = app("pages/pipelines.py")
    at.file_uploader(key="pipelines_import").upload("bad.json", data, "application/json")
    at.run()
    at.button(key="pipelines_import_button").click().run()
    assert not at.exception
    assert message in texts(at, "error")
    assert storage.list_pipelines(store) == []


def test_delete_needs_confirmation(store, app):
    version = saved_version(store, "doomed", fast_spec())
    at = open_tab(app, "Delete")
    assert at.button(key="pipelines_delete").disabled
    at.checkbox(key="pipelines_delete_confirm").check().run()
    at.button(key="pipelines_delete").click().run()
    assert not at.exception
    assert "Deleted pipeline 'doomed'" in texts(at, "success")
    assert storage.get_pipeline(store, version.pipeline_id) is None
    assert "No saved pipelines yet" in texts(at, "info")

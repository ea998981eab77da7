"""The whole journey in one session: sample → target → train two models → leaderboard → save → reload → export."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import storage
from pipeline_core.artifacts.export import load_model
from tests.apptest import REPO, TIMEOUT, texts
from tests.pages.test_compare_page import by_key
from tests.pages.test_predict_page import by_id_suffix, capture_downloads, download_bytes
from tests.pages.test_train_page import wait_for_run

pytestmark = pytest.mark.slow


def test_sample_to_exported_model(store, monkeypatch):
    downloads = capture_downloads(monkeypatch)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()

    # Data: load a bundled sample, the way a first-time user would.
    at.switch_page("pages/data.py").run()
    at.selectbox(key="data_sample").set_value("breast_cancer").run()
    at.button(key="data_load_sample").click().run()
    assert not at.exception
    assert at.session_state["dataset_id"] is not None

    # Features: choose the target; default steps are added for the column types.
    at.switch_page("pages/features.py").run()
    at.selectbox(key="features_target").set_value("target").run()
    assert not at.exception
    assert at.session_state["spec"]["target"] == "target"
    assert at.session_state["spec"]["steps"]

    # Train: two models, 3 folds, in the background; the page picks up the finished run.
    at.switch_page("pages/train.py").run()
    at.multiselect(key="train_models").set_value(["logistic_regression", "decision_tree"])
    at.number_input(key="train_folds").set_value(3)
    at.button(key="train_start").click().run()
    assert not at.exception
    run = wait_for_run(store, at.session_state["run_id"])
    assert run.status == "done", run.error
    at.run()
    assert "Best model" in texts(at, "success")

    # Compare: the leaderboard of that run.
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    board = by_key(at.container, "compare_leaderboard").dataframe[0].value
    assert set(board["Model"]) == {"Logistic regression", "Decision tree"}

    # Pipelines: save, change something, reload the saved version.
    at.switch_page("pages/pipelines.py").run()
    at.text_input(key="pipelines_name").set_value("cancer screen")
    at.button(key="pipelines_save").click().run()
    assert not at.exception
    # the model trained before saving now belongs to the saved version, so a reload still finds it
    pipeline_id = at.session_state["pipeline_id"]
    assert run.id in [r.id for r in storage.list_runs(store, pipeline_id=pipeline_id, status="done")]
    saved = dict(at.session_state["spec"])
    at.session_state["spec"] = {**saved, "evaluation": {**saved["evaluation"], "cv_folds": 7}}
    at.run()
    assert "unsaved changes" in " ".join(m.value for m in at.markdown)
    at.button(key="pipelines_open").click().run()
    assert not at.exception
    assert at.session_state["spec"] == saved
    assert at.session_state["pipeline_version"] == 1

    # Export: the trained model as skops; it loads back and predicts.
    at.session_state["pipelines_tab"] = "Export"
    at.run()
    at.selectbox(key="pipelines_export_format").set_value("skops").run()
    assert not at.exception
    data = download_bytes(downloads, by_id_suffix(at.get("download_button"), "pipelines_download_model"))
    assert data
    loaded = load_model(data, "skops")
    frame = storage.load_frame(store, at.session_state["dataset_id"]).drop(columns="target").head(5)
    assert len(loaded.pipeline.predict(frame)) == 5
    assert loaded.metadata["model"] == run.leaderboard[0]["model"]

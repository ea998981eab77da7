"""Compare page: leaderboard, fold spread, A/B test and hold-out charts of a stored run."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import storage
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.io.samples import load_sample
from pipeline_core.jobs.job import run_training
from pipeline_core.training.holdout import holdout_split, training_split
from pipeline_core.training.train import train
from storage import Store
from storage.files import resolve
from storage.reporter import RunReporter
from tests.apptest import store_frame, texts

FAST_MODELS = [{"kind": "logistic_regression"}, {"kind": "decision_tree"}]


def fast_spec(target: str = "target", models: list[dict] | None = None, **evaluation) -> PipelineSpec:
    plan = {"cv_folds": 3, "holdout": 0.25, **evaluation}
    return PipelineSpec(target=target, models=models or FAST_MODELS, evaluation=plan)


def train_now(store: Store, dataset_id: int, spec: PipelineSpec, pipeline_version_id: int | None = None) -> storage.Run:
    """A finished run, trained in this process by the same job function the workers run."""
    run = storage.create_run(store, dataset_id=dataset_id, pipeline_version_id=pipeline_version_id)
    data_path = str(resolve(store.home, storage.get_dataset(store, dataset_id).parquet_path))
    status = run_training(spec.to_json(), data_path, RunReporter(store, run.id))
    assert status == "done", storage.get_run(store, run.id).error
    return storage.get_run(store, run.id)


def by_key(elements, key: str):
    return next(e for e in elements if e.key == key)


def chart_types(at: AppTest) -> list[str]:
    """The Plotly trace types drawn on the page, e.g. ``['bar', 'scatter', 'heatmap']``."""
    found = []
    for chart in at.get("plotly_chart"):
        found += [trace.get("type", "scatter") for trace in json.loads(chart.proto.spec)["data"]]
    return found


def open_run(app, run: storage.Run, tab: str = "Leaderboard") -> AppTest:
    """The Compare page on ``run`` with ``tab`` open (tabs run lazily, so only the open one renders)."""
    at = app("pages/compare.py", dataset_id=run.dataset_id)
    at.session_state["run_id"] = run.id
    at.session_state["compare_tab"] = tab
    return at.run()


def test_without_runs_points_to_training(app):
    at = app("pages/compare.py")
    assert not at.exception
    assert "No runs yet" in texts(at, "info")


def test_leaderboard_ranks_models_with_mean_and_std(store, app, iris_id):
    run = train_now(store, iris_id, fast_spec())
    at = open_run(app, run)
    assert not at.exception
    board = by_key(at.container, "compare_leaderboard").dataframe[0].value
    assert list(board["Rank"]) == [1, 2]
    assert set(board["Model"]) == {"Logistic regression", "Decision tree"}
    assert board["Accuracy (mean ± std)"].str.contains("±").all()
    assert "Balanced accuracy" in board.columns
    assert "Accuracy" not in board.columns  # shown once, as mean ± std
    assert "Ranked by cross-validated **Accuracy**" in " ".join(c.value for c in at.caption)
    assert "compare_fold_chart" in {chart.key for chart in at.get("plotly_chart")}
    assert "heatmap" not in chart_types(at)  # hold-out charts wait until their tab is opened


def test_ab_test_says_whether_the_difference_is_significant(store, app, iris_id):
    run = train_now(store, iris_id, fast_spec())
    at = open_run(app, run, "A/B test")
    assert at.selectbox(key="compare_model_a").value != at.selectbox(key="compare_model_b").value
    verdict = texts(at, "info") + texts(at, "success")
    assert "corrected paired t-test over 3 folds" in verdict
    at.selectbox(key="compare_model_b").set_value(at.selectbox(key="compare_model_a").value).run()
    assert not at.exception
    assert "two different models" in texts(at, "info")


def test_classification_holdout_charts(store, app, iris_id):
    run = train_now(store, iris_id, fast_spec())
    at = open_run(app, run, "Hold-out charts")
    assert not at.exception
    assert not at.error
    assert "heatmap" in chart_types(at)  # confusion matrix
    keys = {chart.key for chart in at.get("plotly_chart")}
    assert {"compare_roc_curve", "compare_pr_curve", "compare_calibration", "compare_importance"} <= keys
    at.toggle(key="compare_learning_curve").set_value(True).run()
    assert not at.exception
    assert "compare_learning_chart" in {chart.key for chart in at.get("plotly_chart")}


def test_regression_holdout_charts(store, app):
    dataset_id = store_frame(store, load_sample("diabetes"), "diabetes")
    run = train_now(store, dataset_id, fast_spec(models=[{"kind": "linear_regression"}, {"kind": "ridge"}]))
    at = open_run(app, run)
    assert "RMSE" in by_key(at.container, "compare_leaderboard").dataframe[0].value.columns  # shown un-negated
    at.session_state["compare_tab"] = "Hold-out charts"
    at.run()
    assert not at.exception
    keys = {chart.key for chart in at.get("plotly_chart")}
    assert {"compare_parity", "compare_residuals", "compare_importance"} <= keys


def test_deleted_data_is_explained_and_the_leaderboard_stays(store, app, iris_id):
    run = train_now(store, iris_id, fast_spec())
    storage.delete_dataset(store, iris_id)
    at = open_run(app, run)
    assert len(by_key(at.container, "compare_leaderboard").dataframe[0].value) == 2
    at.session_state["compare_tab"] = "Hold-out charts"
    at.run()
    assert not at.exception
    assert "dataset was deleted" in texts(at, "error")


def test_failed_run_shows_its_error_and_all_runs_are_listed(store, app, iris_id):
    good = train_now(store, iris_id, fast_spec())
    bad = storage.create_run(store, dataset_id=iris_id)
    storage.finish_run(store, bad.id, status="failed", error="every model failed; first error: boom")
    at = open_run(app, bad)
    assert not at.exception
    assert "boom" in texts(at, "error")
    runs = by_key(at.container, "compare_runs").dataframe[0].value
    assert list(runs["Run"]) == [bad.id, good.id]
    assert list(runs["Status"]) == ["failed", "done"]


@pytest.mark.parametrize("holdout", [0.2, 0.33])
def test_holdout_rows_are_rebuilt_exactly(holdout):
    frame = load_sample("iris")
    spec = fast_spec(holdout=holdout)
    result = train(spec, frame)
    split = holdout_split(spec, frame)
    assert list(split.X_test.index) == list(result.X_test.index)
    assert split.y_test.equals(result.y_test)


@pytest.mark.parametrize(("holdout", "sizes"), [(0.0, (100, 50)), (0.2, (80, 40))])
def test_fold_sizes_for_the_corrected_t_test_follow_the_split(holdout, sizes):
    split = training_split(fast_spec(holdout=holdout), load_sample("iris"))
    assert split.fold_sizes(3) == sizes
    assert (split.X_test is None) == (holdout == 0)


def test_a_clustering_run_is_not_described_as_cross_validated(store, app, iris_id):
    """Issue 15 point 13: clustering is scored once on the training rows; its results never say "across folds"."""
    spec = PipelineSpec(task="clustering", models=[{"kind": "kmeans"}], evaluation={"holdout": 0.0},
                        columns={"select": ["sepal length (cm)", "petal length (cm)"]})
    run = train_now(store, iris_id, spec)
    at = open_run(app, run)
    assert not at.exception
    captions = texts(at, "caption")
    assert "on the training rows" in captions and "across folds" not in captions
    train = app("pages/train.py", dataset_id=iris_id, spec=spec.to_dict())
    train.session_state["run_id"] = run.id
    train.run()
    assert "Silhouette" in texts(train, "success") and "across folds" not in texts(train, "success")


def test_a_tuned_models_parameters_and_trial_history_are_shown(store, app, iris_id):
    """Issue 15 point 10: tuned parameters and the trial history were stored but shown nowhere."""
    spec = fast_spec(models=[{"kind": "logistic_regression", "search": {"C": {"type": "choice",
                                                                           "values": [1e-6, 0.5, 5.0]}}}])
    spec = PipelineSpec.model_validate({**spec.to_dict(), "tuning": {"method": "grid", "n_trials": 3}})
    run = train_now(store, iris_id, spec)
    at = open_run(app, run)
    assert not at.exception
    [chart] = [c for c in at.get("plotly_chart") if c.proto.id.endswith("compare_tuning_logistic_regression")
               or "compare_tuning_logistic_regression" in (c.key or "")] or [None]
    assert chart is not None
    figure = json.loads(chart.proto.spec)
    names = [trace.get("name") for trace in figure["data"]]
    assert names == ["trial", "best so far"]
    trials = figure["data"][0]["x"]  # plotly ships numbers as typed base64 arrays
    assert len(base64.b64decode(trials["bdata"])) // np.dtype(trials["dtype"]).itemsize == 3
    assert any("untuned" in str(a.get("text")) for a in figure["layout"].get("annotations", []))

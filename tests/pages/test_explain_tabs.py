"""Explanations on the pages: Compare's "Explanations" tab and the Predict page's "Why this prediction?"."""

from __future__ import annotations

import json

from pipeline_core.io.samples import load_sample
from tests.apptest import store_frame, texts
from tests.pages.test_compare_page import fast_spec, open_run, train_now
from tests.pages.test_predict_page import csv_bytes, new_rows, upload

IRIS_COLUMNS = {"sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"}


def chart(at, key: str) -> dict:
    return json.loads(next(c for c in at.get("plotly_chart") if c.key == key).proto.spec)


def test_explanations_tab_shows_shap_charts_and_dependence_curves_in_the_users_columns(store, app, iris_id):
    run = train_now(store, iris_id, fast_spec())
    at = open_run(app, run, "Explanations")
    assert not at.exception and not at.error
    caption = " ".join(c.value for c in at.caption)
    assert "on all 38 rows" in caption and "Permutation importance" in caption  # the sample size, and the check
    bar = chart(at, "compare_shap_bar_chart")
    assert {label.replace("<br>", " ") for label in bar["data"][0]["y"]} == IRIS_COLUMNS
    swarm = chart(at, "compare_shap_beeswarm_chart")
    assert len(swarm["data"]) == 4 and all(len(trace["customdata"]) == 38 for trace in swarm["data"])
    curves = [c.key for c in at.get("plotly_chart") if c.key.startswith("compare_dependence_")]
    assert len(curves) == 4
    first = chart(at, curves[0])
    assert len(first["data"]) == 39  # one ICE line per hold-out row, then their average
    assert first["data"][-1]["name"] == "average (partial dependence)"


def test_predict_page_explains_the_chosen_row(app, store, iris_id):
    run = train_now(store, iris_id, fast_spec())
    at = upload(app, run, "rows.csv", csv_bytes(new_rows()))
    assert not at.exception and not at.error
    assert "Why this prediction?" in [h.value for h in at.subheader]
    picker = at.selectbox(key="predict_explain_row")
    assert len(picker.options) == 30
    picker.set_value(4).run()
    assert not at.exception and not at.error
    figure = chart(at, "predict_explain_row_chart")
    labels = [label.replace("<br>", " ") for label in figure["data"][0]["y"]]
    assert {label.split(" = ")[0] for label in labels} == IRIS_COLUMNS
    assert "Base value" in figure["layout"]["title"]["text"]
    assert "background for models other than trees" in " ".join(c.value for c in at.caption)
    assert not texts(at, "error")


def test_a_lightgbm_run_is_explained_by_exact_tree_values(store, app, iris_id):
    """The boosting libraries are read by shap's tree explainer (exact, and no background sample to wait on)."""
    run = train_now(store, iris_id, fast_spec(models=[{"kind": "lightgbm", "params": {"n_estimators": 20}}]))
    at = open_run(app, run, "Explanations")
    assert not at.exception and not at.error
    caption = " ".join(c.value for c in at.caption)
    assert "exact tree SHAP values" in caption and "on all 38 rows" in caption
    assert {label.replace("<br>", " ") for label in chart(at, "compare_shap_bar_chart")["data"][0]["y"]} \
        == IRIS_COLUMNS


def test_predict_page_explains_a_catboost_regressors_row_in_its_prediction(app, store):
    """A CatBoost regressor carries an empty ``classes_``; it was taken for a classifier and the row's
    explanation failed with a traceback."""
    diabetes = load_sample("diabetes")
    run = train_now(store, store_frame(store, diabetes, "diabetes"),
                    fast_spec(models=[{"kind": "catboost", "params": {"iterations": 30}}]))
    at = upload(app, run, "rows.csv", csv_bytes(diabetes.drop(columns="target").head(5)))
    assert not at.exception and not at.error and not texts(at, "error")
    at.selectbox(key="predict_explain_row").set_value(2).run()
    assert not at.exception and not texts(at, "error")
    title = chart(at, "predict_explain_row_chart")["layout"]["title"]["text"]
    assert "Base value" in title
    assert "exact tree SHAP values" in " ".join(c.value for c in at.caption)

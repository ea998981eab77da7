"""Explanations on the pages: Compare's "Explanations" tab and the Predict page's "Why this prediction?"."""

from __future__ import annotations

import json

from tests.apptest import texts
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

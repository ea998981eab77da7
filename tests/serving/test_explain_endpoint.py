"""``POST /explain`` on real servers: contributions per column that add up to the model's own output."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline_core.artifacts.export import load_model
from pipeline_core.serving import create_app
from tests.pipeline_core.frames import diabetes
from tests.serving.conftest import records, save_trained
from tests.serving.service import CliService, ThreadService

FEATURES = ["age", "income", "city", "signup", "review"]


@pytest.fixture(scope="module")
def explaining(churn_dir):
    """The churn model (logistic regression) served by the command line with background rows."""
    running = CliService(churn_dir / "churn.skops", "--background", str(churn_dir / "rows.csv"))
    yield running
    running.stop()


def test_rows_are_explained_per_column_and_add_up_to_the_log_odds(explaining, churn_dir, churn_rows):
    rows = churn_rows.iloc[:25]
    client = explaining.client()
    reply = client.post_json("/explain", {"rows": records(rows)})
    assert reply.status == 200, reply.body
    answer = reply.json()
    assert answer["method"] == "linear" and answer["output_space"] == "log-odds"
    assert answer["background_rows"] == 50 and set(answer["explained_class"]) == {"yes"}
    assert all(list(row) == FEATURES for row in answer["contributions"])
    summed = np.array([sum(row.values()) for row in answer["contributions"]]) + np.array(answer["base_values"])
    np.testing.assert_allclose(summed, answer["outputs"], rtol=0, atol=1e-6)
    pipeline = load_model(churn_dir / "churn.skops").pipeline
    np.testing.assert_allclose(answer["outputs"], pipeline.decision_function(rows), rtol=0, atol=1e-6)
    assert answer["predictions"] == client.post_json("/predict", {"rows": records(rows)}).json()["predictions"]


def test_bad_rows_get_a_one_line_422(explaining, churn_rows):
    reply = explaining.client().post_json("/explain", {"rows": records(churn_rows.iloc[:2].drop(columns="city"))})
    assert reply.status == 422 and "city" in reply.json()["detail"] and "\n" not in reply.json()["detail"]


def test_a_tree_model_explains_without_background_and_others_say_what_they_need(tmp_path, churn_dir, churn_rows):
    frame = diabetes()
    forest = load_model(save_trained(frame, "target", "random_forest", tmp_path / "forest.skops"))
    linear = load_model(churn_dir / "churn.skops")
    services = [ThreadService(create_app(forest, token=None)), ThreadService(create_app(linear, token=None))]
    try:
        rows = frame.drop(columns="target").iloc[:10]
        reply = services[0].client().post_json("/explain", {"rows": records(rows)})
        assert reply.status == 200, reply.body
        answer = reply.json()
        assert answer["method"] == "tree" and answer["background_rows"] == 0 and "explained_class" not in answer
        summed = np.array([sum(row.values()) for row in answer["contributions"]]) + np.array(answer["base_values"])
        np.testing.assert_allclose(summed, forest.pipeline.predict(rows), rtol=0, atol=1e-6)
        refused = services[1].client().post_json("/explain", {"rows": records(churn_rows.iloc[:1])})
        assert refused.status == 409 and "--background" in refused.json()["detail"]
    finally:
        for service in services:
            service.stop()


def test_permutation_explanations_are_limited_per_request(tmp_path):
    frame = diabetes()
    knn = load_model(save_trained(frame, "target", "knn", tmp_path / "knn.skops"))
    service = ThreadService(create_app(knn, token=None, background=frame.drop(columns="target")))
    try:
        client = service.client()
        rows = frame.drop(columns="target")
        answer = client.post_json("/explain", {"rows": records(rows.iloc[:3])})
        assert answer.status == 200 and answer.json()["method"] == "permutation"
        summed = [sum(row.values()) + base for row, base in zip(answer.json()["contributions"],
                                                                   answer.json()["base_values"], strict=True)]
        np.testing.assert_allclose(summed, knn.pipeline.predict(rows.iloc[:3]), rtol=0, atol=1e-6)
        refused = client.post_json("/explain", {"rows": records(rows.iloc[:101])})
        assert refused.status == 413 and "at most 100 rows" in refused.json()["detail"]
    finally:
        service.stop()

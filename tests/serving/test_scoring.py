"""A served model scores rows exactly as ``python -m pipeline_core predict`` does, and says which rows break rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from prometheus_client.parser import text_string_to_metric_families

from pipeline_core.artifacts.export import load_model
from pipeline_core.serving import ServiceLimits, create_app
from tests.pipeline_core.frames import diabetes
from tests.serving.conftest import MAX_BODY_MB, MAX_ROWS, records
from tests.serving.service import ENV, ROOT, ThreadService


def cli_predictions(model: Path, rows: Path, out: Path) -> pd.DataFrame:
    done = subprocess.run([sys.executable, "-m", "pipeline_core", "predict", str(model), str(rows), "--out", str(out)],
                          cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return pd.read_csv(out, float_precision="round_trip")


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a /metrics page, keyed by (name, sorted labels)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_health_is_ok_and_schema_lists_columns_levels_rules_and_an_example(service):
    client = service.client()
    schema = client.get("/schema").json()
    assert client.get("/health").json() == {"status": "ok", "name": schema["model"]["name"],
                                            "version": schema["model"]["version"]}
    features = {f["name"]: f for f in schema["features"]}
    assert list(features) == ["age", "income", "city", "signup", "review"]
    assert features["age"]["json_type"] == "number" and features["city"]["json_type"] == "string"
    assert features["city"]["levels"] == ["lille", "lyon", "nice", "paris"]
    assert [r["column"] for r in schema["rules"]] == ["age", "city", "income"]  # not the one on the target
    assert schema["model"]["task"] == "classification" and len(schema["model"]["sha256"]) == 64
    assert schema["max_rows"] == MAX_ROWS and schema["max_body_bytes"] == int(MAX_BODY_MB * 2**20)
    assert client.post_json("/predict", schema["example"]).status == 200  # the example is a valid request
    paths = {"/health", "/schema", "/predict", "/explain", "/feedback", "/metrics", "/reload"}
    assert set(client.get("/openapi.json").json()["paths"]) == paths


def test_json_rows_score_exactly_as_the_cli_predict_command(service, churn_dir, churn_rows, tmp_path):
    expected = cli_predictions(churn_dir / "churn.skops", churn_dir / "rows.csv", tmp_path / "preds.csv")
    reply = service.client().post_json("/predict", {"rows": records(churn_rows)})
    assert reply.status == 200, reply.body
    answer = reply.json()
    assert answer["predictions"] == expected["prediction"].tolist()
    got = pd.DataFrame(answer["probabilities"])
    np.testing.assert_allclose(got[["no", "yes"]].to_numpy(), expected[["probability_no", "probability_yes"]],
                               rtol=0, atol=1e-12)
    assert any("'customer_id'" in n and "ignored" in n for n in answer["notices"])


def test_csv_body_scores_exactly_as_the_cli_predict_command(service, churn_dir, tmp_path):
    expected = cli_predictions(churn_dir / "churn.skops", churn_dir / "rows.csv", tmp_path / "preds.csv")
    body = (churn_dir / "rows.csv").read_bytes()
    reply = service.client().request("POST", "/predict", body, {"Content-Type": "text/csv; charset=utf-8"})
    assert reply.status == 200, reply.body
    answer = reply.json()
    assert answer["predictions"] == expected["prediction"].tolist()
    np.testing.assert_allclose(pd.DataFrame(answer["probabilities"])["yes"], expected["probability_yes"],
                               rtol=0, atol=1e-12)


def test_rule_violations_are_reported_per_row_and_rows_are_still_scored(service, churn_rows):
    rows = records(churn_rows.head(3).assign(age=[30.0, 12.0, 95.0], city=["paris", "rome", None],
                                             income=[5e4, None, 6e4]))
    answer = service.client().post_json("/predict", {"rows": rows}).json()
    assert len(answer["predictions"]) == 3
    assert answer["violations"] == [
        {"row": 1, "rule": "In range [18, 70]", "column": "age"},
        {"row": 1, "rule": "One of {paris, lyon, nice, lille}", "column": "city"},
        {"row": 1, "rule": "Not missing", "column": "income"},
        {"row": 2, "rule": "In range [18, 70]", "column": "age"},
    ]
    assert any("quality rule(s)" in n and "In range [18, 70] on age: 2 row(s)" in n for n in answer["notices"])
    assert not any("churned" in n for n in answer["notices"])  # the rule on the target is not checked


def test_metrics_count_requests_rows_classes_violations_and_name_the_model(service, churn_rows):
    client = service.client()
    before = samples(client.get("/metrics").body.decode())
    rows = records(churn_rows.head(20).assign(age=[10.0] * 5 + [40.0] * 15))
    answer = client.post_json("/predict", {"rows": rows}).json()
    assert client.post_json("/predict", {"rows": []}).status == 400
    after = samples(client.get("/metrics").body.decode())

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("scoring_requests_total", endpoint="/predict", status="200") == 1
    assert grew("scoring_requests_total", endpoint="/predict", status="400") == 1
    assert grew("scoring_requests_total", endpoint="/metrics", status="200") == 1  # the first scrape
    assert grew("scoring_request_seconds_count", endpoint="/predict") == 2
    assert grew("scoring_rows_total") == 20
    counted = {label: grew("scoring_predictions_total", prediction=label) for label in ("no", "yes")}
    assert counted == {label: answer["predictions"].count(label) for label in ("no", "yes")}
    assert grew("scoring_rule_violations_total", rule="In range [18, 70]", column="age") == 5
    info = [labels for (name, labels) in after if name == "scoring_model_info"]
    assert len(info) == 1 and dict(info[0])["task"] == "classification" and dict(info[0])["name"] == "churn"


def test_a_regressor_answers_values_without_probabilities_and_summarises_them(regression_model):
    model = load_model(regression_model)
    served = ThreadService(create_app(model, token=None, limits=ServiceLimits(max_rows=100)))
    try:
        rows = diabetes().drop(columns=["target"]).head(10)
        client = served.client()
        answer = client.post_json("/predict", {"rows": records(rows)}).json()
        assert "probabilities" not in answer
        np.testing.assert_allclose(answer["predictions"], model.pipeline.predict(rows), rtol=0, atol=1e-9)
        metrics = samples(client.get("/metrics").body.decode())
        assert metrics[("scoring_predicted_value_count", ())] == 10
        assert np.isclose(metrics[("scoring_predicted_value_sum", ())], sum(answer["predictions"]))
    finally:
        served.stop()


def test_the_on_scored_hook_sees_each_batch_and_its_failure_costs_the_client_nothing(churn_dir, churn_rows):
    model = load_model(churn_dir / "churn.skops")
    seen = []

    def keep(batch):
        seen.append(batch)
        if len(seen) == 2:
            raise RuntimeError("monitoring store unavailable")

    served = ThreadService(create_app(model, token=None, on_scored=keep))
    try:
        client = served.client()
        for n in (3, 4):
            assert client.post_json("/predict", {"rows": records(churn_rows.head(n))}).status == 200
        assert [len(b.predictions) for b in seen] == [3, 4]
        assert list(seen[0].rows.columns) == list(churn_rows.columns)
        metrics = samples(client.get("/metrics").body.decode())
        assert metrics[("scoring_hook_errors_total", ())] == 1
    finally:
        served.stop()

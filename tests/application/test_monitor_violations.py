"""Rule violations over time (issue 17 point 3): every logged row records the quality rules it broke when it was
scored, and the Monitor's counts per bucket and rule are exactly the rows that broke them (real fit, real SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

import storage
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.io.samples import load_sample
from pipeline_core.serving.prediction_log import PredictionLogWriter, ScoredRequest
from pipeline_core.serving.schema import model_rules, without_target_rules
from pipeline_core.serving.scoring import score
from studio import monitor_violations, prediction_log, registry
from studio.roles import Actor
from studio.settings import settings
from tests.application.test_prediction_log import logged
from tests.apptest import store_frame
from tests.pages.test_compare_page import fast_spec, train_now
from tests.serving.conftest import records
from tests.serving.service import CliService

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)  # inside the log's retention
RULES = [{"kind": "range", "column": "petal length (cm)", "max": 5.0},
         {"kind": "range", "column": "sepal width (cm)", "min": 2.0}]


@pytest.fixture
def ruled_iris(store, studio_home) -> str:
    """Pipeline 'flowers': iris with two quality rules in its definition, registered and in production."""
    dataset_id = store_frame(store, load_sample("iris"), "flowers")
    spec = PipelineSpec.model_validate({**fast_spec().to_dict(), "name": "flowers", "rules": RULES})
    version = storage.save_pipeline_version(store, name="flowers", definition=spec.to_dict())
    run = train_now(store, dataset_id, spec, pipeline_version_id=version.id)
    registry.register_model(LOCAL, run.id, by="cli")
    registry.set_stage(LOCAL, "flowers", 1, "production", by="cli", why="baseline")
    return "flowers"


def hours_of_traffic() -> list[pd.DataFrame]:
    """Three hours: plain iris; iris with 7 sepals narrower than 2 cm; iris with every petal longer than 5 cm."""
    rows = load_sample("iris").drop(columns="target")
    gaps = rows.sample(60, random_state=2).reset_index(drop=True)
    gaps.loc[np.arange(7) * 8, "sepal width (cm)"] = 1.5
    longer = rows.sample(30, random_state=3).reset_index(drop=True).assign(**{"petal length (cm)": 6.5})
    return [rows.sample(80, random_state=1).reset_index(drop=True), gaps, longer]


def test_violation_counts_per_hour_and_rule_are_the_rows_that_broke_it(store, ruled_iris):
    served = registry.production_model(LOCAL, ruled_iris, "production")
    model = without_target_rules(served.model)  # as the service prepares it
    rules = model_rules(model)
    version = served.version
    sink = prediction_log.storage_sink(store, prediction_log.LogTarget(
        source="service", model_sha256=version.artifact_sha256, pipeline_id=version.pipeline_id,
        version=version.version), settings())
    writer = PredictionLogWriter(sink, sample_rate=0.0)  # no inputs kept: violations are recorded all the same
    frames = hours_of_traffic()
    for hour, frame in enumerate(frames):
        batch = score(model, frame, rules)  # the service's scoring: predictions and the rules each row broke
        writer.submit(ScoredRequest(at=T0 + timedelta(hours=hour, minutes=5), request_id=f"h{hour}", rows=frame,
                                    predictions=batch.predictions, latency_ms=1.0, violations=batch.violations))
    assert writer.flush(120.0)
    writer.close()
    assert writer.stats().written == 170, writer.stats()

    found = monitor_violations.violations_over_time(LOCAL, ruled_iris, since=T0, until=T0 + timedelta(hours=3),
                                                    granularity="hour")
    long_petal = [int((f["petal length (cm)"] > 5).sum()) for f in frames]
    missing = [int((f["sepal width (cm)"] < 2).sum()) for f in frames]
    either = [int(((f["petal length (cm)"] > 5) | (f["sepal width (cm)"] < 2)).sum()) for f in frames]
    assert missing == [0, 7, 0] and long_petal[2] == 30 and long_petal[0] > 0  # the data breaks what it should
    assert len(found.rules) == 2
    petal = next(k for k in found.rules if k.column == "petal length (cm)")
    width = next(k for k in found.rules if k.column == "sepal width (cm)")
    assert [b.per_rule.get(petal, 0) for b in found.buckets] == long_petal
    assert [b.per_rule.get(width, 0) for b in found.buckets] == missing
    assert [b.violating_rows for b in found.buckets] == either
    assert [b.rows for b in found.buckets] == [80, 60, 30]
    assert found.buckets[2].rate == 1.0 and found.rules[0] == petal  # the most broken rule first
    only_hour_two = monitor_violations.violations_over_time(LOCAL,
        ruled_iris, since=T0 + timedelta(hours=2), until=T0 + timedelta(hours=3), granularity="minute")
    assert sum(b.violating_rows for b in only_hour_two.buckets) == 30 and only_hour_two.buckets[5].violating_rows == 30


def test_batch_scoring_records_each_rows_broken_rules_in_the_log(store, ruled_iris):
    served = registry.production_model(LOCAL, ruled_iris, "production")
    frame = hours_of_traffic()[1]
    version = served.version
    target = prediction_log.LogTarget(source="batch", model_sha256=version.artifact_sha256,
                                      pipeline_id=version.pipeline_id, version=version.version)
    predictions = served.model.pipeline.predict(frame).tolist()
    request_id = prediction_log.log_scored(target, frame, predictions, 0.01, metadata=served.model.metadata)
    logged = storage.list_predictions(store, request_id=request_id)
    assert len(logged) == 60
    for row in logged:
        expected = []
        if frame.loc[row.row_id, "petal length (cm)"] > 5:
            expected.append("petal length (cm)")
        if frame.loc[row.row_id, "sepal width (cm)"] < 2:
            expected.append("sepal width (cm)")
        assert [column for _, column in row.violations or []] == expected, row.row_id


def test_a_registry_service_logs_the_rules_each_row_broke_as_it_answered_them(store, ruled_iris):
    frame = hours_of_traffic()[1]
    served = CliService(None, "--pipeline", ruled_iris, module="studio")
    try:
        answer = served.client().post_json("/predict", {"rows": records(frame)})
        assert answer.status == 200, answer.body
        body = answer.json()
        log = logged(store, len(frame), request_id=body["request_id"])
    finally:
        served.stop()
    answered: dict[int, list[str]] = {}
    for violation in body["violations"]:
        answered.setdefault(violation["row"], []).append(violation["column"])
    assert sum(len(columns) for columns in answered.values()) == int((frame["petal length (cm)"] > 5).sum()) + 7
    assert {row.row_id: [column for _, column in row.violations] for row in log if row.violations} == answered
    found = monitor_violations.violations_over_time(LOCAL, ruled_iris, since=log[0].logged_at - timedelta(hours=1),
                                                    until=log[0].logged_at + timedelta(hours=1), granularity="day")
    assert found.violating_rows == len(answered) and found.rows == len(frame)

"""Alert thresholds (issue 17 point 3): stored per pipeline, checked by one function for the page, the headless
monitor and a service's /metrics; real SQLite studio, real fits, logged iris traffic with one feature moved."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

import storage
from storage import StorageError
from studio import alert_thresholds, alerts
from studio.alert_thresholds import AlertThresholds
from studio.roles import Actor
from tests.application.test_registry_cli import cli

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

PETAL, SEPAL = "petal length (cm)", "sepal width (cm)"


def window() -> dict:
    now = datetime.now(UTC)
    return {"since": now - timedelta(days=1), "until": now, "granularity": "hour"}


def test_thresholds_persist_replace_and_refuse_bad_values_in_one_line(store, iris_studio):
    assert alert_thresholds.get_thresholds(LOCAL, "iris").thresholds.is_empty()
    first = AlertThresholds(max_psi=0.2, feature_psi={PETAL: 0.5}, min_accuracy=0.9, max_violation_rate=0.05)
    alert_thresholds.save_thresholds(LOCAL, "iris", first, by="ana")
    storage.reset_engines()  # a new process's view: read back from the file
    saved = alert_thresholds.get_thresholds(LOCAL, "iris")
    assert saved.thresholds == first and saved.updated_by == "ana" and saved.updated_at is not None
    alert_thresholds.save_thresholds(LOCAL, "iris", AlertThresholds(max_mae=3.0), by="bo")
    again = alert_thresholds.get_thresholds(LOCAL, "iris")
    assert again.thresholds == AlertThresholds(max_mae=3.0) and again.updated_by == "bo"
    with pytest.raises(StorageError, match="min_accuracy: Input should be less than or equal to 1"):
        again.thresholds.with_overrides(min_accuracy=1.5)
    with pytest.raises(StorageError, match="There is no pipeline named 'nope'"):
        alert_thresholds.save_thresholds(LOCAL, "nope", first)


def test_the_drifted_feature_crosses_its_psi_bound_from_its_bucket_and_a_steady_one_does_not(store, watched):
    checks = alerts.evaluate(LOCAL, watched, thresholds=AlertThresholds(feature_psi={PETAL: 0.2, SEPAL: 0.2}),
                             **window())
    by_feature = {c.subject: c for c in checks}
    assert set(by_feature) == {PETAL, SEPAL}
    petal, sepal = by_feature[PETAL], by_feature[SEPAL]
    assert petal.crossed and petal.value > 1 and petal.excess == pytest.approx(petal.value - 0.2)
    moved_at = storage.list_predictions(store, request_id="moved")[0].logged_at  # the rows with petal length moved
    assert petal.since == moved_at.replace(minute=0, second=0, microsecond=0)
    assert not sepal.crossed and sepal.value < 0.2 and sepal.since is None
    assert checks[0] is petal  # crossed first
    assert petal.sentence().startswith(f"drift: '{PETAL}' reached PSI ") and ", above 0.2 by " in petal.sentence()


def test_top_k_checks_only_the_most_important_features(watched):
    ranked = alerts.important_features(LOCAL, watched, None)
    assert sorted(ranked) == sorted([PETAL, SEPAL, "sepal length (cm)", "petal width (cm)"])
    checks = alerts.evaluate(LOCAL, watched, thresholds=AlertThresholds(max_psi=0.2, top_k=2), **window())
    assert [c.subject for c in sorted(checks, key=lambda c: ranked.index(c.subject))] == ranked[:2]


def test_performance_checks_against_bounds_and_the_cv_estimate(watched):
    thresholds = AlertThresholds(min_accuracy=0.9, min_balanced_accuracy=0.9, max_drop=0.1)
    checks = {c.kind: c for c in alerts.evaluate(LOCAL, watched, thresholds=thresholds, **window())}
    assert set(checks) == {"accuracy", "balanced_accuracy", "drop_from_cv"}
    accuracy = checks["accuracy"]
    assert accuracy.crossed and accuracy.rows == 160 and accuracy.value < 0.5  # every row predicted 'setosa'
    assert checks["balanced_accuracy"].value == pytest.approx(1 / 3)  # setosa right, the two others never
    assert checks["drop_from_cv"].crossed and checks["drop_from_cv"].value > 0.4
    calm = alerts.evaluate(LOCAL, watched, thresholds=AlertThresholds(min_accuracy=0.1), **window())
    assert [c.crossed for c in calm] == [False]


def test_the_violation_rate_crosses_from_the_first_bucket_above_it(store, iris_studio):
    pipeline_id = storage.get_pipeline(store, "iris").id
    now = datetime.now(UTC)
    broken = [["In range", "petal length (cm)"]]
    for hours_ago, bad in ((5, 1), (2, 6)):
        storage.append_predictions(store, [
            {"logged_at": now - timedelta(hours=hours_ago), "request_id": f"r{hours_ago}", "row_id": i,
             "inputs": None, "prediction": "setosa", "latency_ms": 1.0, "violations": broken if i < bad else None}
            for i in range(20)], source="service", pipeline_id=pipeline_id, model_version=1, model_sha256="ab")
    [check] = alerts.evaluate(LOCAL, "iris", thresholds=AlertThresholds(max_violation_rate=0.1), **window())
    assert (check.kind, check.rows, check.value, check.crossed) == ("violation_rate", 40, 7 / 40, True)
    assert check.since == (now - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)  # 5% then 30%


def test_the_headless_monitor_checks_stored_thresholds_and_its_flags_replace_them(watched, tmp_path):
    alert_thresholds.save_thresholds(LOCAL, watched, AlertThresholds(max_psi=100, min_accuracy=0.1))
    out = tmp_path / "report.json"
    calm = cli("studio", "monitor", "--pipeline", watched, "--since", "1d", "--granularity", "hour", "--out", out)
    assert calm.returncode == 0, calm.stderr
    assert {c["kind"] for c in json.loads(out.read_text())["checks"]} == {"drift", "accuracy"}
    flagged = cli("studio", "monitor", "--pipeline", watched, "--since", "1d", "--granularity", "hour", "--out", out,
                  "--max-psi", "0.2")
    assert flagged.returncode == 3, flagged.stderr
    report = json.loads(out.read_text())
    assert [a.split(" reached")[0] for a in report["alerts"]] == [f"drift: '{PETAL}'"]  # accuracy 0.1 still holds
    bad = cli("studio", "monitor", "--pipeline", watched, "--out", out, "--min-accuracy", "2")
    assert bad.returncode == 2 and "min_accuracy" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1

"""A registry service's /metrics shows the pipeline's alert thresholds as scoring_alert{pipeline,kind,feature}:
real uvicorn on loopback (``python -m studio serve --pipeline``), real SQLite studio with logged iris traffic whose
petal length moved, the page's text parsed with prometheus_client's parser. Polled with deadlines, never slept on."""

from __future__ import annotations

import time

from studio import alert_thresholds
from studio.alert_thresholds import AlertThresholds
from studio.roles import Actor
from tests.serving.service import CliService
from tests.serving.test_scoring import samples

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

DEADLINE = 120.0
PETAL, SEPAL = "petal length (cm)", "sepal width (cm)"


def alert(metrics: dict, kind: str, feature: str = "") -> float | None:
    return metrics.get(("scoring_alert", (("feature", feature), ("kind", kind), ("pipeline", "iris"))))


def scrape_until(client, check, what: str) -> dict:
    """/metrics parsed, once ``check`` holds on it; fails with the last page after the deadline."""
    deadline = time.monotonic() + DEADLINE
    while True:
        metrics = samples(client.get("/metrics").body.decode())
        if check(metrics):
            return metrics
        if time.monotonic() > deadline:
            raise AssertionError(f"/metrics never showed {what} within {DEADLINE:.0f} s: "
                                 f"{ {k: v for k, v in metrics.items() if 'alert' in k[0]} }")
        time.sleep(0.2)


def test_metrics_show_the_crossed_drift_threshold_and_follow_thresholds_saved_later(watched, new_rows):
    alert_thresholds.save_thresholds(LOCAL, watched, AlertThresholds(feature_psi={PETAL: 0.2, SEPAL: 0.2},
                                                              max_violation_rate=0.5))
    served = CliService(None, "--pipeline", watched, module="studio",
                        env={"PIPELINE_STUDIO_ALERT_REFRESH_SECONDS": "0.5"})
    try:
        client = served.client()
        first = scrape_until(client, lambda m: alert(m, "drift", PETAL) is not None, "the drift gauges")
        assert alert(first, "drift", PETAL) == 1.0  # moved 3 cm two hours ago
        assert alert(first, "drift", SEPAL) == 0.0  # as in training
        assert alert(first, "violation_rate") == 0.0  # iris has no quality rules: no row broke one
        assert first[("scoring_alert_evaluated_timestamp_seconds", ())] > 0
        assert first[("scoring_alert_evaluation_failures_total", ())] == 0

        answer = client.post_json("/predict", {"rows": [{"sepal length (cm)": 5.1, "sepal width (cm)": 3.5,
                                                         "petal length (cm)": 1.4, "petal width (cm)": 0.2}]})
        assert answer.status == 200, answer.body  # scoring is not held up by the watcher

        alert_thresholds.save_thresholds(LOCAL, watched, AlertThresholds(feature_psi={PETAL: 50.0}, min_accuracy=0.9))
        later = scrape_until(client, lambda m: alert(m, "accuracy") is not None, "the newly saved thresholds")
        assert alert(later, "drift", PETAL) == 0.0 and alert(later, "drift", SEPAL) is None
        assert alert(later, "accuracy") == 1.0  # every logged row predicted 'setosa': accuracy about 1/3
    finally:
        served.stop()

"""Monitor page, rule violations and alerts (issue 17 point 3): the 'Rule violations' view from a real SQLite log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import storage
from studio import alert_thresholds
from studio.alert_thresholds import AlertThresholds
from studio.roles import Actor
from tests.application.conftest import iris_studio, log_iris_traffic  # noqa: F401 - a fixture: registered iris
from tests.apptest import texts
from tests.pages.test_monitor_page import chart_titles, open_monitor, show

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

WIDTH = ["In range (at least 2)", "sepal width (cm)"]
PETAL = ["In range (at most 5)", "petal length (cm)"]


def log_with_violations(store, pipeline_id: int, at: datetime, broken: list[list[list[str]] | None],
                        request_id: str) -> None:
    rows = [{"logged_at": at, "request_id": request_id, "row_id": i, "inputs": None, "prediction": "setosa",
             "latency_ms": 5.0, "violations": b} for i, b in enumerate(broken)]
    storage.append_predictions(store, rows, source="service", pipeline_id=pipeline_id, model_version=None,
                               model_sha256="ab")


def test_the_rule_violations_tab_counts_rows_per_rule_and_says_the_share(store, app):
    pipeline_id = storage.save_pipeline_version(store, name="flowers", definition={}).pipeline_id
    now = datetime.now(UTC)
    log_with_violations(store, pipeline_id, now - timedelta(hours=3), [None] * 6 + [[WIDTH]] * 2, "a")
    log_with_violations(store, pipeline_id, now - timedelta(hours=1), [None] * 2 + [[WIDTH, PETAL]] + [[PETAL]] * 5,
                        "b")
    at = show(open_monitor(app), "Rule violations")
    assert not at.exception and not at.error
    assert "Rows breaking each quality rule" in chart_titles(at)
    caption = texts(at, "caption")
    assert "8 of 16 scored row(s) (50.0%) broke at least one quality rule" in caption
    assert "petal length (cm): In range (at most 5) (6), sepal width (cm): In range (at least 2) (3)" in caption


def test_without_violations_the_tab_says_none_broke_a_rule(store, app):
    pipeline_id = storage.save_pipeline_version(store, name="flowers", definition={}).pipeline_id
    log_with_violations(store, pipeline_id, datetime.now(UTC) - timedelta(hours=1), [None] * 3, "a")
    at = show(open_monitor(app), "Rule violations")
    assert not at.exception and "No scored row in this window broke a quality rule" in texts(at, "info")


@pytest.mark.usefixtures("iris_studio")
def test_a_crossed_threshold_shows_an_alert_saying_what_by_how_much_and_since_when(store, app):
    log_iris_traffic(store)
    alert_thresholds.save_thresholds(LOCAL, "iris", AlertThresholds(feature_psi={"petal length (cm)": 0.2,
                                                                          "sepal width (cm)": 0.2}, min_accuracy=0.9))
    at = open_monitor(app)
    assert not at.exception
    errors = [str(e.value).replace("\\", "") for e in at.error]  # markdown escapes shown as plain text
    assert len(errors) == 2, errors  # petal length drifted and accuracy fell; sepal width held
    assert errors[0].startswith("Alert: drift: 'petal length (cm)' reached PSI "), errors[0]
    assert ", above 0.2 by " in errors[0] and ", since " in errors[0] and " UTC" in errors[0]
    assert "performance: live accuracy" in errors[1] and "below 0.9 by" in errors[1]


@pytest.mark.usefixtures("iris_studio")
def test_thresholds_saved_on_the_page_are_stored_and_a_bad_line_gets_one_line(store, app):
    log_iris_traffic(store)
    at = open_monitor(app)
    at.number_input(key="alerts_max_psi").set_value(0.25)
    at.number_input(key="alerts_top_k").set_value(2)
    at.number_input(key="alerts_max_rate").set_value(0.05)
    at.text_area(key="alerts_feature_psi").set_value("petal length (cm) = 0.4")
    at.button[[b.label for b in at.button].index("Save thresholds")].click().run()
    assert not at.exception and not at.error
    assert "Thresholds saved" in texts(at, "success")
    saved = alert_thresholds.get_thresholds(LOCAL, "iris").thresholds
    assert (saved.max_psi, saved.top_k, saved.max_violation_rate) == (0.25, 2, 0.05)
    assert saved.feature_psi == {"petal length (cm)": 0.4} and saved.min_accuracy is None
    at.text_area(key="alerts_feature_psi").set_value("petal length (cm) 0.4")
    at.button[[b.label for b in at.button].index("Save thresholds")].click().run()
    assert "is not 'feature = bound'" in texts(at, "error") and "\n" not in texts(at, "error")


def test_drift_thresholds_without_a_registered_model_say_they_were_not_checked(store, app):
    pipeline_id = storage.save_pipeline_version(store, name="flowers", definition={}).pipeline_id
    log_with_violations(store, pipeline_id, datetime.now(UTC) - timedelta(hours=1), [None, [WIDTH]], "a")
    alert_thresholds.save_thresholds(LOCAL, "flowers", AlertThresholds(max_psi=0.2, max_violation_rate=0.9))
    at = open_monitor(app)
    assert not at.exception and not at.error and not at.warning
    captions = texts(at, "caption")
    assert "1 alert threshold(s) checked over this window; none crossed" in captions
    assert "Drift thresholds were not checked: there is no registered version" in captions

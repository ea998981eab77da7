"""Monitor page, rule violations and alerts (issue 17 point 3): the 'Rule violations' tab from a real SQLite log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import storage
from tests.apptest import texts
from tests.pages.test_monitor_page import chart_titles, open_monitor

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
    at = open_monitor(app)
    assert not at.exception and not at.error
    assert "Rows breaking each quality rule" in chart_titles(at)
    caption = texts(at, "caption")
    assert "8 of 16 scored row(s) (50.0%) broke at least one quality rule" in caption
    assert "petal length (cm): In range (at most 5) (6), sepal width (cm): In range (at least 2) (3)" in caption


def test_without_violations_the_tab_says_none_broke_a_rule(store, app):
    pipeline_id = storage.save_pipeline_version(store, name="flowers", definition={}).pipeline_id
    log_with_violations(store, pipeline_id, datetime.now(UTC) - timedelta(hours=1), [None] * 3, "a")
    at = open_monitor(app)
    assert not at.exception and "No scored row in this window broke a quality rule" in texts(at, "info")

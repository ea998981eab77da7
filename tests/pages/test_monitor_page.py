"""Monitor page (issue 17 point 3): traffic, predictions and live performance of a pipeline from a real SQLite
prediction log, and the upload of true outcomes that makes live performance appear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import storage
from studio.roles import Actor
from tests.application.conftest import iris_studio  # noqa: F401 - a fixture: two registered iris versions
from tests.apptest import texts

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

LONG = "Chronic obstructive pulmonary disease — severe exacerbation requiring admission"


def log_rows(store, pipeline_id: int, at: datetime, predictions: list, request_id: str, latency_ms: float = 12.0,
             version: int | None = None) -> None:
    rows = [{"logged_at": at, "request_id": request_id, "row_id": i, "inputs": None, "prediction": p,
             "latency_ms": latency_ms} for i, p in enumerate(predictions)]
    storage.append_predictions(store, rows, source="service", pipeline_id=pipeline_id, model_version=version,
                               model_sha256="ab")


def seeded(store) -> int:
    """Pipeline 'triage': three hours of logged classifications with a long class name, ending now.

    Each is logged two minutes past its whole hour back, so no window of whole hours or minutes starts in the same
    minute as one: the page's clock runs on past the test's, and a busy machine makes that up to a minute."""
    pipeline_id = storage.save_pipeline_version(store, name="triage", definition={}).pipeline_id
    now = datetime.now(UTC)
    for hours in (3, 2, 1):
        log_rows(store, pipeline_id, now - timedelta(hours=hours, minutes=2), [LONG, "routine", "routine"],
                 f"r{hours}", latency_ms=10.0 * hours)
    return pipeline_id


def open_monitor(app, **state):
    return app("pages/monitor.py", **state)


def show(at, view: str):
    """Pick one of the page's views (only the picked one is computed and drawn)."""
    return at.segmented_control(key="monitor_view").set_value(view).run()


def chart_titles(at) -> list[str]:
    import json

    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def test_without_pipelines_the_page_says_how_to_start(app):
    at = open_monitor(app)
    assert not at.exception
    assert "No saved pipelines yet" in texts(at, "info")


def test_a_pipeline_without_logged_rows_says_where_rows_come_from(store, app):
    storage.save_pipeline_version(store, name="quiet", definition={})
    at = open_monitor(app)
    assert not at.exception
    assert "No rows of **quiet** were scored in this window" in texts(at, "info")


def test_traffic_and_predictions_are_drawn_and_live_performance_waits_for_outcomes(store, app):
    seeded(store)
    at = open_monitor(app)
    assert not at.exception and not at.error
    assert [m.value for m in at.metric][:1] == ["9"]  # rows scored in the last 24 hours
    assert chart_titles(at) == ["Rows scored and request latency"]
    assert "python -m studio serve --pipeline triage --shadow staging" in texts(at, "caption")  # no challenger yet
    assert chart_titles(show(at, "Predictions")) == ["Predicted classes: share of each bucket's rows"]
    assert "No true outcomes have arrived" in texts(show(at, "Live performance"), "info")


def test_uploading_outcomes_reports_unmatched_ids_and_draws_live_accuracy(store, app):
    seeded(store)
    at = open_monitor(app)
    outcomes = ("request_id,row_id,outcome\n"
                f"r1,0,{LONG}\nr1,1,routine\nr1,2,{LONG}\nr2,0,routine\nnever-scored,7,routine\n").encode()
    at.file_uploader(key="monitor_outcomes_file").upload("outcomes.csv", outcomes, "text/csv").run()
    at.button(key="monitor_outcomes_store").click().run()
    assert not at.exception and not at.error
    report = texts(at, "warning")
    assert "Stored 5 outcome(s): 4 matched a logged prediction; 1 matched none" in report
    assert "never-scored/7" in report
    show(at, "Live performance")
    assert "Accuracy on rows whose true outcome has arrived" in chart_titles(at)
    assert "4 scored row(s) in the window have a true outcome" in texts(at, "caption")


def test_an_outcomes_file_without_the_outcome_column_gets_one_line(store, app):
    seeded(store)
    at = open_monitor(app)
    at.file_uploader(key="monitor_outcomes_file").upload("outcomes.csv", b"request_id,row_id,label\nr1,0,x\n",
                                                         "text/csv").run()
    at.button(key="monitor_outcomes_store").click().run()
    assert not at.exception
    assert "outcome" in texts(at, "error") and "\n" not in texts(at, "error")


def test_a_finer_granularity_and_a_version_filter_redraw(store, app):
    pipeline_id = seeded(store)
    log_rows(store, pipeline_id, datetime.now(UTC) - timedelta(minutes=10), ["routine"], "v2", version=2)
    at = open_monitor(app)
    at.selectbox(key="monitor_window").set_value("Last hour").run()
    assert at.selectbox(key="monitor_granularity").value == "minute"
    assert not at.exception and [m.value for m in at.metric][:1] == ["1"]


@pytest.mark.usefixtures("iris_studio")
def test_a_shadow_challenger_right_more_often_is_called_better_and_promoted_with_a_reason(store, app):
    from studio import registry

    registry.set_stage(LOCAL, "iris", 2, "staging", by="cli", why="candidate")
    pipeline_id = storage.get_pipeline(store, "iris").id
    at_time = datetime.now(UTC) - timedelta(hours=1)
    truth = ["setosa"] * 120
    champion = ["setosa"] * 80 + ["virginica"] * 40  # right on 80 rows
    challenger = ["setosa"] * 115 + ["virginica"] * 5  # right on 115, including the champion's 80
    log_rows(store, pipeline_id, at_time, champion, "req", version=1)
    storage.append_predictions(store, [
        {"logged_at": at_time, "request_id": "req", "row_id": i, "inputs": None, "prediction": p, "latency_ms": 3.0}
        for i, p in enumerate(challenger)], source=storage.SHADOW_SOURCE, pipeline_id=pipeline_id, model_version=2,
        model_sha256="cd")
    storage.save_ground_truth(store, [("req", i, t) for i, t in enumerate(truth)])
    at = open_monitor(app)
    assert not at.exception and not at.error
    assert at.selectbox(key="monitor_challenger").value == 2
    assert [m.value for m in at.metric][:1] == ["120"]  # served rows: the challenger's shadow answers are not traffic
    assert "The challenger is better: accuracy 0.9583 for the challenger against 0.6667" in texts(at, "success")
    at.button(key="FormSubmitter:monitor_challenger_form-Promote version 2 to production").click().run()
    assert "Say why" in texts(at, "error")
    at.text_input(key="monitor_challenger_why").set_value("wins the shadow comparison")
    at.button(key="FormSubmitter:monitor_challenger_form-Promote version 2 to production").click().run()
    assert not at.exception and "Version 2 is now in production" in texts(at, "success")
    assert "monitor_challenger" not in [s.key for s in at.selectbox]  # redrawn: no challenger left to compare
    stages = {v.version: v.stage for v in registry.list_model_versions(LOCAL, "iris")}
    assert stages == {1: "archived", 2: "production"}
    assert registry.stage_history(LOCAL, "iris")[0].why == "wins the shadow comparison"


@pytest.mark.usefixtures("iris_studio")
def test_the_drift_tab_ranks_the_feature_that_moved_and_marks_its_bucket(store, app):
    from pipeline_core.io.samples import load_sample

    pipeline_id = storage.get_pipeline(store, "iris").id
    features = load_sample("iris").drop(columns="target")
    now = datetime.now(UTC)
    for hours_ago, shift, request in ((5, 0.0, "steady"), (2, 3.0, "moved")):
        rows = features.sample(80, random_state=hours_ago).assign(**{
            "petal length (cm)": lambda f, s=shift: f["petal length (cm)"] + s})
        records = rows.to_dict(orient="records")
        storage.append_predictions(store, [
            {"logged_at": now - timedelta(hours=hours_ago), "request_id": request, "row_id": i, "inputs": r,
             "prediction": 0, "latency_ms": 5.0} for i, r in enumerate(records)],
            source="service", pipeline_id=pipeline_id, model_version=1, model_sha256="ab")
    at = show(open_monitor(app), "Drift")
    assert not at.exception and not at.error
    assert "Drift per feature against version 1's training data (PSI)" in chart_titles(at)
    caption = texts(at, "caption")
    assert "Drifted at least once: petal length (cm)" in caption


def test_a_rerun_over_an_unchanged_log_reads_nothing_again_and_a_new_row_is_drawn(store, app, monkeypatch):
    """Figures are cached by window and the log's content marker: a click that changes nothing they depend on
    (or returns to a state already drawn) recomputes nothing; a newly logged row moves the marker and is counted."""
    from studio import monitor_traffic, monitoring

    pipeline_id = seeded(store)
    reads, counts = [], []
    for module, name, calls in [(monitor_traffic, "traffic_log", reads), (monitoring, "prediction_distribution",
                                                                          counts)]:
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, real=real, calls=calls, **k: calls.append(k) or real(*a, **k))
    at = open_monitor(app)
    assert [m.value for m in at.metric][:1] == ["9"] and len(reads) == 1
    show(at, "Predictions")
    # another window, then back to a state already drawn; not the day grain, whose whole days hold none of the
    # rows when the test runs in the first hours of a day (the window then starts at today's midnight)
    at.selectbox(key="monitor_window").set_value("Last 7 days").run()
    at.selectbox(key="monitor_window").set_value("Last 24 hours").run()
    assert not at.exception and (len(reads), len(counts)) == (1, 2)  # the traffic read once; predictions per window
    log_rows(store, pipeline_id, datetime.now(UTC) - timedelta(minutes=5), ["routine"], "late")
    at.run()
    assert (len(reads), len(counts)) == (2, 3) and [m.value for m in at.metric][:1] == ["10"]


def test_the_window_is_whole_buckets_ending_with_the_current_one():
    from pages import monitor_data

    now = datetime(2026, 3, 10, 14, 25, 30, tzinfo=UTC)
    assert monitor_data.whole_buckets(now, timedelta(days=1), "hour") == (datetime(2026, 3, 9, 15, tzinfo=UTC),
                                                                          datetime(2026, 3, 10, 15, tzinfo=UTC))
    assert monitor_data.whole_buckets(now, timedelta(days=30), "day") == (datetime(2026, 2, 9, tzinfo=UTC),
                                                                          datetime(2026, 3, 11, tzinfo=UTC))


@pytest.mark.usefixtures("iris_studio")
def test_a_drift_alert_and_the_drift_view_share_one_drift_computation(store, app, monkeypatch):
    from pipeline_core.io.samples import load_sample
    from studio import alert_thresholds, monitor_drift

    pipeline_id = storage.get_pipeline(store, "iris").id
    records = load_sample("iris").drop(columns="target").sample(60, random_state=0).to_dict(orient="records")
    storage.append_predictions(store, [
        {"logged_at": datetime.now(UTC) - timedelta(hours=2), "request_id": "r", "row_id": i, "inputs": r,
         "prediction": 0, "latency_ms": 5.0} for i, r in enumerate(records)],
        source="service", pipeline_id=pipeline_id, model_version=1, model_sha256="ab")
    alert_thresholds.save_thresholds(LOCAL, "iris", alert_thresholds.parse_thresholds({"max_psi": 0.2}), by="test")
    calls = []
    real = monitor_drift.drift_over_time
    monkeypatch.setattr(monitor_drift, "drift_over_time", lambda *a, **k: calls.append(k) or real(*a, **k))
    at = show(open_monitor(app), "Drift")
    assert not at.exception and not at.error
    assert "Drift per feature against version 1's training data (PSI)" in chart_titles(at)
    assert "alert threshold(s) checked over this window" in texts(at, "caption")
    assert len(calls) == 1


@pytest.mark.usefixtures("iris_studio")
def test_the_retrain_panel_counts_the_newly_labelled_rows_once_per_log_content(store, app, monkeypatch):
    from studio import retrain

    pipeline_id = storage.get_pipeline(store, "iris").id
    log_rows(store, pipeline_id, datetime.now(UTC) - timedelta(hours=1), ["setosa"] * 3, "req", version=1)
    calls = []
    real = retrain.pending_rows
    monkeypatch.setattr(retrain, "pending_rows", lambda *a, **k: calls.append(a) or real(*a, **k))
    at = open_monitor(app)
    at.selectbox(key="monitor_granularity").set_value("minute").run()
    assert not at.exception and len(calls) == 1
    storage.save_ground_truth(store, [("req", 0, "setosa")])
    at.run()
    assert len(calls) == 2 and "1 more labelled row(s) cannot be used" in texts(at, "caption")

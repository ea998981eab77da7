"""The service's prediction log: every scored row reaches the sink off the request path, a full queue drops and
counts, a failing sink loses only its batch, and ``/feedback`` hands outcomes to its sink.

The sinks here are plain lists (the storage sink is tested with real SQLite in tests/application); a sink held
shut by an event stands for a stalled database.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pandas as pd
import pytest

from pipeline_core.artifacts.export import load_model
from pipeline_core.errors import DataError
from pipeline_core.serving import create_app
from pipeline_core.serving.feedback import GroundTruthReport, RowKey, outcomes_from_frame
from pipeline_core.serving.prediction_log import PredictionLogWriter, ScoredRequest, json_value, records_of, sampled
from tests.serving.conftest import records
from tests.serving.service import ThreadService
from tests.serving.test_scoring import samples

DEADLINE = 120.0


def wait_for(condition, what: str) -> None:
    """Poll ``condition`` until true, failing after a generous deadline (a loaded machine is slow, never wrong)."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {DEADLINE:.0f} s")


def request(n: int, request_id: str = "r1", first_row: int = 0) -> ScoredRequest:
    rows = pd.DataFrame({"x": [float(i) for i in range(n)], "when": pd.Timestamp("2024-01-02")})
    return ScoredRequest(at=datetime.now(UTC), request_id=request_id, rows=rows, predictions=list(range(n)),
                         latency_ms=1.5, first_row=first_row)


def test_rows_keep_plain_json_inputs_and_sampled_rows_are_the_same_on_every_replay():
    frame = pd.DataFrame({"a": [1.0, float("nan")], "b": ["x", None], "t": [pd.Timestamp("2024-01-02"), pd.NaT]})
    logged = records_of(ScoredRequest(datetime.now(UTC), "q", frame, ["yes", "no"], 2.0, first_row=5), 1.0)
    assert [(r.row_id, r.prediction) for r in logged] == [(5, "yes"), (6, "no")]
    assert logged[0].inputs == {"a": 1.0, "b": "x", "t": "2024-01-02T00:00:00"}
    assert logged[1].inputs == {"a": None, "b": None, "t": None}
    assert all(r.inputs is None for r in records_of(request(20), 0.0))
    kept = [r.row_id for r in records_of(request(400), 0.25) if r.inputs is not None]
    assert 50 < len(kept) < 150 and kept == [i for i in range(400) if sampled("r1", i, 0.25)]
    assert json_value(float("inf")) is None and json_value(pd.NA) is None
    typed = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"), "c": pd.Categorical(["a", None]),
                          "flag": [True, False]})
    assert [r.inputs for r in records_of(ScoredRequest(datetime.now(UTC), "t", typed, [0, 1], 1.0), 1.0)] == [
        {"n": 1, "c": "a", "flag": True}, {"n": None, "c": None, "flag": False}]


def test_the_writer_writes_every_queued_row_in_batches_and_close_writes_the_rest():
    written: list[list] = []
    writer = PredictionLogWriter(written.append, batch_rows=10, flush_seconds=60)
    for k in range(5):
        assert writer.submit(request(4, f"r{k}"))
    wait_for(lambda: sum(map(len, written)) >= 8, "two full batches")  # 10 rows per batch at most: whole requests
    assert all(len(batch) <= 10 for batch in written)
    writer.close()
    assert sorted((r.request_id, r.row_id) for batch in written for r in batch) == [
        (f"r{k}", i) for k in range(5) for i in range(4)]
    assert writer.stats().written == 20 and writer.stats().queued == 0
    assert not writer.submit(request(1)) and writer.stats().dropped == 1  # closed: counted, not queued


def test_a_full_queue_drops_whole_requests_and_counts_them_while_the_sink_is_stalled():
    opened, written = threading.Event(), []

    def stalled(batch):
        opened.wait(DEADLINE)
        written.append(batch)

    writer = PredictionLogWriter(stalled, max_queued_rows=10, batch_rows=2, flush_seconds=0.01)
    assert writer.submit(request(6, "a"))
    assert writer.submit(request(4, "b"))
    assert not writer.submit(request(3, "c"))  # 13 > 10 queued rows
    assert writer.stats().dropped == 3
    opened.set()
    assert writer.flush(DEADLINE)
    assert {r.request_id for batch in written for r in batch} == {"a", "b"}
    writer.close()


def test_a_failing_sink_loses_its_batch_only_and_the_writer_goes_on():
    calls = []

    def flaky(batch):
        calls.append(batch)
        if len(calls) == 1:
            raise OSError("disk full")

    writer = PredictionLogWriter(flaky, batch_rows=3, flush_seconds=0.01)
    writer.submit(request(3, "lost"))
    assert writer.flush(DEADLINE)
    writer.submit(request(2, "kept"))
    assert writer.flush(DEADLINE)
    writer.close()
    assert (writer.stats().failed, writer.stats().written) == (3, 2)


def test_a_served_model_queues_each_request_with_its_id_and_shows_the_log_in_metrics(churn_dir, churn_rows):
    written: list = []
    writer = PredictionLogWriter(lambda batch: written.extend(batch), flush_seconds=0.05)
    received = []

    def feedback(outcomes):
        received.extend(outcomes)
        return GroundTruthReport(received=len(outcomes), matched=1, unmatched=len(outcomes) - 1,
                                 unmatched_examples=[RowKey(request_id="nope", row_id=0)])

    served = ThreadService(create_app(load_model(churn_dir / "churn.skops"), token=None, prediction_log=writer,
                                      feedback=feedback))
    try:
        client = served.client()
        first = client.post_json("/predict", {"rows": records(churn_rows.head(3))})
        assert first.status == 200 and first.headers["x-request-id"] == first.json()["request_id"]
        own = client.request("POST", "/predict", '{"rows": ' + pd.Series(records(churn_rows.head(2))).to_json(
            orient="values") + "}", {"Content-Type": "application/json", "X-Request-ID": "client-42"})
        assert own.json()["request_id"] == "client-42"
        bad = client.request("POST", "/predict", "{}", {"Content-Type": "application/json", "X-Request-ID": "a b"})
        assert bad.status == 400 and "X-Request-ID" in bad.json()["detail"]
        wait_for(lambda: len(written) == 5, "five logged rows")
        assert [(r.request_id, r.row_id) for r in written] == [
            (first.json()["request_id"], 0), (first.json()["request_id"], 1), (first.json()["request_id"], 2),
            ("client-42", 0), ("client-42", 1)]
        assert [r.prediction for r in written[:3]] == first.json()["predictions"]
        assert written[0].inputs["city"] == churn_rows["city"].iloc[0] and written[0].latency_ms > 0
        metrics = samples(client.get("/metrics").body.decode())
        assert metrics[("scoring_prediction_log_written_rows_total", ())] == 5
        assert metrics[("scoring_prediction_log_dropped_rows_total", ())] == 0

        answer = client.post_json("/feedback", {"outcomes": [{"request_id": "client-42", "row_id": 1,
                                                              "outcome": "yes"},
                                                             {"request_id": "nope", "row_id": 0, "outcome": "no"}]})
        assert answer.status == 200 and answer.json()["unmatched"] == 1
        assert [(o.request_id, o.row_id, o.outcome) for o in received] == [("client-42", 1, "yes"),
                                                                           ("nope", 0, "no")]
        csv = client.request("POST", "/feedback", "request_id,row_id,outcome\nclient-42,0,no\n",
                             {"Content-Type": "text/csv"})
        assert csv.status == 200 and received[-1].row_id == 0
        refused = client.post_json("/feedback", {"outcomes": [{"request_id": "x", "row_id": -1, "outcome": 1}]})
        assert refused.status == 422 and "row_id" in refused.json()["detail"]
    finally:
        served.stop()
        writer.close()


def test_a_service_without_a_log_says_so_on_feedback(churn_dir):
    served = ThreadService(create_app(load_model(churn_dir / "churn.skops"), token=None))
    try:
        reply = served.client().post_json("/feedback", {"outcomes": [{"request_id": "a", "row_id": 0,
                                                                      "outcome": 1}]})
        assert reply.status == 404 and "keeps no prediction log" in reply.json()["detail"]
    finally:
        served.stop()


def test_a_file_of_outcomes_is_read_with_one_line_reasons():
    frame = pd.DataFrame({"request_id": ["a", "b"], "row_id": [0, 1.0], "label": ["yes", 3]})
    assert [(o.request_id, o.row_id, o.outcome) for o in outcomes_from_frame(frame, "label")] == [
        ("a", 0, "yes"), ("b", 1, 3)]
    with pytest.raises(DataError, match="lacks column\\(s\\) 'outcome'"):
        outcomes_from_frame(frame)
    with pytest.raises(DataError, match="row 2 of the file: row_id must be a whole number"):
        outcomes_from_frame(frame.assign(row_id=[0, 1.5]), "label")
    with pytest.raises(DataError, match="row 1 of the file has no value in 'label'"):
        outcomes_from_frame(frame.assign(label=[None, "x"]), "label")

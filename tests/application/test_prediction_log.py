"""The prediction log end to end: a registry service on loopback, batch scoring and ground truth, on the test's
real SQLite studio.

The service runs as ``python -m studio serve --pipeline`` in a subprocess (its writer thread writes to the same
database file this process reads); the log is polled with a generous deadline, never waited for by sleeping.
"""

from __future__ import annotations

import time

import pandas as pd
import pytest

import storage
from pipeline_core.errors import DataError
from studio import prediction_log
from studio.roles import Actor
from tests.application.test_registry_cli import cli
from tests.serving.conftest import records
from tests.serving.service import CliService
from tests.serving.test_scoring import samples

DEADLINE = 120.0
LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace


def logged(store, count: int, **where) -> list[storage.PredictionLog]:
    """The log's rows once it holds ``count`` of them (polled), failing after a generous deadline."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        rows = storage.list_predictions(store, **where)
        if len(rows) >= count:
            return rows
        time.sleep(0.1)
    raise AssertionError(f"the log holds {len(storage.list_predictions(store, **where))} rows, not {count}, "
                         f"after {DEADLINE:.0f} s")


def test_a_registry_service_logs_exactly_the_rows_it_scored_and_joins_ground_truth(store, iris_studio, new_rows):
    rows = pd.read_csv(new_rows)
    served = CliService(None, "--pipeline", "iris", module="studio")
    try:
        client = served.client()
        answers = [client.post_json("/predict", {"rows": records(rows.iloc[a:b])}).json()
                   for a, b in ((0, 1), (1, 25), (25, 40))]
        log = logged(store, 40)
        pipeline = storage.get_pipeline(store, "iris")
        expected = [(answer["request_id"], i, p) for answer in answers for i, p in enumerate(answer["predictions"])]
        assert [(r.request_id, r.row_id, r.prediction) for r in log] == expected
        assert {(r.source, r.pipeline_id, r.model_version) for r in log} == {("service", pipeline.id, 1)}
        assert len({r.model_sha256 for r in log}) == 1 and all(r.latency_ms > 0 for r in log)
        assert [r.inputs for r in log] == records(rows)
        assert log[0].logged_at.tzinfo is not None
        metrics = samples(client.get("/metrics").body.decode())
        assert metrics[("scoring_prediction_log_written_rows_total", ())] == 40

        second = answers[1]["request_id"]
        outcomes = [{"request_id": second, "row_id": i, "outcome": "setosa"} for i in range(3)]
        outcomes += [{"request_id": "no-such-request", "row_id": 0, "outcome": "setosa"},
                     {"request_id": second, "row_id": 99, "outcome": "virginica"}]
        report = client.post_json("/feedback", {"outcomes": outcomes})
        assert report.status == 200, report.body
        assert report.json() == {"received": 5, "matched": 3, "unmatched": 2, "unmatched_examples": [
            {"request_id": "no-such-request", "row_id": 0}, {"request_id": second, "row_id": 99}]}
        assert len(storage.list_ground_truth(store)) == 5  # unmatched ones are kept too, for late predictions
    finally:
        served.stop()


def test_batch_scoring_logs_every_row_and_a_file_of_outcomes_joins_with_its_unmatched_ids(store, iris_studio,
                                                                                         new_rows, tmp_path):
    done = cli("studio", "predict", "--pipeline", "iris", new_rows, "--out", tmp_path / "out.csv")
    assert done.returncode == 0, done.stderr
    request_id = done.stdout.split("as request ")[1].split()[0]
    log = storage.list_predictions(store, source="batch")  # the command waited for its log before exiting
    predictions = pd.read_csv(tmp_path / "out.csv")["prediction"].tolist()
    assert [(r.request_id, r.row_id, r.prediction) for r in log] == [(request_id, i, p)
                                                                     for i, p in enumerate(predictions)]
    assert log[0].inputs == records(pd.read_csv(new_rows))[0]

    truth = tmp_path / "truth.csv"
    pd.DataFrame({"request_id": [request_id] * 3 + ["typo"], "row_id": [0, 1, 2, 0],
                  "species": ["setosa", "versicolor", "setosa", "setosa"]}).to_csv(truth, index=False)
    joined = cli("studio", "feedback", truth, "--outcome-column", "species")
    assert joined.returncode == 0, joined.stderr
    assert joined.stdout.strip() == ("stored 4 outcome(s): 3 matched a logged prediction; 1 matched none "
                                     "(request_id/row_id, e.g. typo/0)")
    assert [(g.row_id, g.outcome) for g in storage.list_ground_truth(store, request_id=request_id)] == [
        (0, "setosa"), (1, "versicolor"), (2, "setosa")]
    missing = cli("studio", "feedback", truth)
    assert missing.returncode == 2 and missing.stderr.strip().startswith("error: 'truth.csv' lacks column(s)")


def test_the_input_sample_and_the_off_switch_are_settings(store, iris_studio, new_rows, tmp_path, monkeypatch):
    target = prediction_log.LogTarget(source="batch", model_sha256="ab")
    rows = pd.read_csv(new_rows)
    monkeypatch.setenv("PIPELINE_STUDIO_LOG_INPUT_SAMPLE", "0")
    request_id = prediction_log.log_scored(target, rows, [0] * len(rows), 0.01)
    assert [r.inputs for r in storage.list_predictions(store, request_id=request_id)] == [None] * len(rows)
    monkeypatch.setenv("PIPELINE_STUDIO_PREDICTION_LOG", "false")
    assert prediction_log.log_scored(target, rows, [0] * len(rows), 0.01) is None
    assert storage.count_predictions(store) == len(rows)


def test_a_bad_outcome_file_is_refused_in_one_line(store):
    with pytest.raises(DataError, match="row 2 of 'truth.csv': row_id must be a whole number from 0"):
        prediction_log.upload_ground_truth(LOCAL, b"request_id,row_id,outcome\na,0,1\nb,-3,1\n", "truth.csv")


@pytest.fixture
def log_target(store) -> prediction_log.LogTarget:
    return prediction_log.LogTarget(source="page", model_sha256="cafe")


def test_retention_prunes_by_age_and_by_count_after_a_batch_is_logged(store, log_target, monkeypatch):
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    old = [{"logged_at": now - timedelta(days=40, minutes=i), "request_id": "old", "row_id": i, "inputs": None,
            "prediction": 1, "latency_ms": 1.0} for i in range(5)]
    storage.append_predictions(store, old, source="page", pipeline_id=None, model_version=None, model_sha256="x")
    storage.save_ground_truth(store, [("old", 0, 1)])
    monkeypatch.setenv("PIPELINE_STUDIO_LOG_RETENTION_DAYS", "30")
    monkeypatch.setenv("PIPELINE_STUDIO_LOG_MAX_ROWS", "7")
    frame = pd.DataFrame({"x": range(10)})
    request_id = prediction_log.log_scored(log_target, frame, list(range(10)), 0.01)  # writes, then prunes
    kept = storage.list_predictions(store)
    assert [(r.request_id, r.row_id) for r in kept] == [(request_id, i) for i in range(3, 10)]  # newest 7
    assert storage.list_ground_truth(store)[0].request_id == "old"  # outcomes are pruned by their own age only
    pruned = prediction_log.prune(store, prediction_log.settings(), now=now + timedelta(days=31))
    assert (pruned.predictions, pruned.ground_truths) == (7, 1)
    assert storage.count_predictions(store) == 0 and storage.list_ground_truth(store) == []

"""The labelled logged rows a retrain adds: each served (request id, row id) once, its first logged row, joined to its
outcome; never a shadow answer, never another pipeline's row; only outcomes after a given time when asked."""

from __future__ import annotations

from datetime import UTC, datetime

import storage
from storage.retrains import count_labelled_rows, labelled_rows


def log(store, pipeline_id: int, source: str, rows: list[tuple[str, int, dict | None]]) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    storage.append_predictions(store, [{"logged_at": at, "request_id": r, "row_id": i, "inputs": inputs,
                                        "prediction": "yes", "latency_ms": 1.0} for r, i, inputs in rows],
                               source=source, pipeline_id=pipeline_id, model_version=1, model_sha256="m")


def test_each_served_row_is_taken_once_from_its_first_logged_row(store) -> None:
    ours = storage.save_pipeline_version(store, name="ours", definition={"name": "ours"}).pipeline_id
    theirs = storage.save_pipeline_version(store, name="theirs", definition={"name": "theirs"}).pipeline_id
    log(store, theirs, "service", [("a", 0, {"x": -1}), ("d", 0, {"x": -4})])  # same ids, another pipeline
    log(store, ours, storage.SHADOW_SOURCE, [("a", 0, {"x": -2}), ("c", 0, {"x": -3})])  # a challenger's answers
    log(store, ours, "service", [("a", 0, {"x": 1}), ("a", 1, None), ("b", 0, {"x": 2}), ("c", 1, {"x": 5})])
    log(store, ours, "batch", [("a", 0, {"x": 9})])  # the same ids logged again later: the first one counts
    storage.save_ground_truth(store, [("a", 0, "yes"), ("a", 1, "no"), ("c", 0, "no"), ("d", 0, "yes")])

    rows = labelled_rows(store, ours)
    assert [(r.request_id, r.row_id, r.inputs, r.outcome) for r in rows] == [("a", 0, {"x": 1}, "yes"),
                                                                             ("a", 1, None, "no")]
    assert count_labelled_rows(store, ours) == (1, 1)
    assert count_labelled_rows(store, theirs) == (2, 0)

    between = datetime.now(UTC)
    storage.save_ground_truth(store, [("b", 0, "yes")])  # arrives after: the only one counted from then on
    assert [(r.request_id, r.row_id) for r in labelled_rows(store, ours, received_after=between)] == [("b", 0)]
    assert count_labelled_rows(store, ours, received_after=between) == (1, 0)
    assert count_labelled_rows(store, ours) == (2, 1)

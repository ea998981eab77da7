"""Stored run results are typed at both ends: a misspelt key fails, an empty (unfinished or old) summary reads."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from pipeline_core.training.progress import ProgressEvent, progress_event
from pipeline_core.training.results import LeaderboardRow, ModelScore, RunSummary, leaderboard_rows, run_summary


def test_a_run_without_a_summary_reads_as_an_empty_one():
    summary = run_summary(SimpleNamespace(summary={}, leaderboard=[]))
    assert (summary.metric, summary.task, summary.holdout, summary.provenance.definition_sha256) == (
        None, None, {}, None)


def test_a_misspelt_key_fails_on_read_and_on_write():
    with pytest.raises(ValidationError, match="holdot"):
        run_summary(SimpleNamespace(summary={"holdot": {}}, leaderboard=[]))
    with pytest.raises(ValidationError):
        RunSummary(metrik="r2")  # type: ignore[call-arg]


def test_a_model_score_round_trips_through_its_stored_row():
    score = ModelScore("ridge", "Ridge", metrics={"r2": 0.8}, fit_seconds=0.1, notes=["tuned"])
    stored = SimpleNamespace(summary={}, leaderboard=[score.to_dict()])
    assert leaderboard_rows(stored) == [LeaderboardRow(model="ridge", label="Ridge", metrics={"r2": 0.8},
                                                       fit_seconds=0.1, notes=["tuned"])]


def test_progress_event_reads_back_and_is_none_before_the_first_report():
    event = ProgressEvent(phase="comparing", fraction=0.3, n_models=2, model_index=0, model_name="knn")
    assert progress_event(SimpleNamespace(progress_event=event.model_dump(mode="json"))) == event
    assert progress_event(SimpleNamespace(progress_event=None)) is None
    with pytest.raises(ValidationError):
        ProgressEvent(phase="comparing", fraction=1.5)


def test_leaderboard_rows_and_model_metadata_use_the_cores_one_json_converter():
    import json

    import numpy as np

    from pipeline_core.artifacts import metadata, skops_io
    from pipeline_core.json_data import jsonable

    assert metadata.jsonable is skops_io.jsonable is jsonable
    score = ModelScore(model="ridge", label="Ridge", params={"alpha": np.float64(0.5), "sizes": (np.int64(3),)},
                       tuning_history=[{"trial": np.int64(1), "params": {"alpha": np.float32(2.0)}}])
    row = score.to_row()
    assert row.params == {"alpha": 0.5, "sizes": [3]}
    assert json.loads(json.dumps(row.tuning_history)) == [{"trial": 1, "params": {"alpha": 2.0}}]

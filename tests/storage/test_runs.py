from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import update

import storage
from storage import RunStatus, StorageError
from storage.reporter import RunReporter
from tests.storage.helpers import sha256, small_frame


def _board(*scores: tuple[str, float]) -> list[dict[str, object]]:
    return [{"model": m, "metrics": {"r2": {"mean": s, "std": 0.01}}, "fit_seconds": 0.2} for m, s in scores]


@pytest.fixture
def version_id(store, studio: Path) -> int:
    return storage.save_pipeline_version(store, name="houses", definition={"steps": []}).id


@pytest.fixture
def dataset_id(store, studio: Path) -> int:
    frame = small_frame()
    return storage.save_dataset(store, name="h", file_name="h.csv", fmt="csv", frame=frame, sha256=sha256(b"h")).id


def test_run_lifecycle_queued_running_done(store, version_id: int, dataset_id: int) -> None:
    run = storage.create_run(store,
        dataset_id=dataset_id, pipeline_version_id=version_id, seed=42, library_versions={"sklearn": "1.9.1"}
    )
    assert (run.status, run.progress, run.seed) == ("queued", 0.0, 42)
    assert run.library_versions == {"sklearn": "1.9.1"} and run.started_at is None

    running = storage.update_run_progress(store, run.id, fraction=0.25, message="fitting ridge (1/4)")
    assert (running.status, running.progress, running.progress_message) == ("running", 0.25, "fitting ridge (1/4)")
    assert running.started_at is not None and running.progress_updated_at is not None

    done = storage.finish_run(store,
        run.id, status=RunStatus.DONE, leaderboard=_board(("ridge", 0.8)), summary={"total_seconds": 1.5}
    )
    assert (done.status, done.progress, done.summary) == ("done", 1.0, {"total_seconds": 1.5})
    assert storage.get_run(store, run.id).leaderboard == _board(("ridge", 0.8))
    assert done.finished_at >= done.started_at >= done.created_at


def test_failed_run_keeps_error_and_failing_model(store, studio: Path) -> None:
    run = storage.start_run(store, storage.create_run(store, dataset_id=None).id)
    failed = storage.finish_run(store, run.id, status="failed", error="SVC ran out of memory", failed_model="svc")
    assert (failed.status, failed.error, failed.failed_model) == ("failed", "SVC ran out of memory", "svc")


def test_a_finished_run_cannot_be_finished_again_and_ignores_late_progress(store, studio: Path) -> None:
    run = storage.create_run(store, dataset_id=None)
    storage.finish_run(store, run.id, status="cancelled")

    late = storage.update_run_progress(store, run.id, fraction=0.9, message="still going")
    assert (late.status, late.progress) == ("cancelled", 0.0)
    with pytest.raises(StorageError, match="already finished \\(cancelled\\)"):
        storage.finish_run(store, run.id, status="done")
    with pytest.raises(StorageError, match="already finished"):
        storage.start_run(store, run.id)


def test_a_job_that_keeps_its_best_model_after_a_cancel_closes_the_cancelled_run_as_done(store, studio: Path) -> None:
    """The autopilot's cancel means "stop and keep the best so far"; nothing else reopens a finished run."""
    kept = storage.create_run(store, dataset_id=None)
    storage.finish_run(store, kept.id, status="cancelled", error="cancelled by the user")
    done = storage.finish_run(store, kept.id, status="done", leaderboard=_board(("ridge", 0.8)), after_cancel=True)
    assert (done.status, done.error, done.progress) == ("done", None, 1.0)
    failed = storage.create_run(store, dataset_id=None)
    storage.finish_run(store, failed.id, status="failed", error="out of memory")
    with pytest.raises(StorageError, match="already finished \\(failed\\)"):
        storage.finish_run(store, failed.id, status="done", after_cancel=True)
    with pytest.raises(StorageError, match="already finished \\(done\\)"):
        storage.finish_run(store, kept.id, status="done", after_cancel=True)


@pytest.mark.parametrize("fraction", [-0.1, 1.5, float("nan"), "half", True])
def test_progress_must_be_a_fraction(store, studio: Path, fraction: object) -> None:
    run = storage.create_run(store, dataset_id=None)
    with pytest.raises(StorageError, match="between 0 and 1"):
        storage.update_run_progress(store, run.id, fraction=fraction)  # type: ignore[arg-type]


def test_finish_run_validates_status_and_leaderboard(store, studio: Path) -> None:
    run = storage.create_run(store, dataset_id=None)
    with pytest.raises(StorageError, match="can only finish as one of"):
        storage.finish_run(store, run.id, status="running")
    with pytest.raises(StorageError, match="row 0 must be a dict with a 'model'"):
        storage.finish_run(store, run.id, status="done", leaderboard=[{"metrics": {}}])
    assert storage.get_run(store, run.id).status == "queued"


def test_numpy_values_and_nan_in_results_are_stored_as_plain_json(store, studio: Path) -> None:
    run = storage.create_run(store, dataset_id=None)
    board = [{"model": "lr", "metrics": {"r2": {"mean": np.float32(0.5), "std": np.nan}}, "folds": np.int64(5)}]
    done = storage.finish_run(store, run.id, status="done", leaderboard=board)
    assert storage.get_run(store, done.id).leaderboard == [
        {"model": "lr", "metrics": {"r2": {"mean": 0.5, "std": None}}, "folds": 5}
    ]


def test_runs_refer_to_existing_rows(store, studio: Path) -> None:
    with pytest.raises(StorageError, match="Dataset 77 does not exist"):
        storage.create_run(store, dataset_id=77)
    with pytest.raises(StorageError, match="Pipeline version 5 does not exist"):
        storage.create_run(store, dataset_id=None, pipeline_version_id=5)
    with pytest.raises(StorageError, match="Run 3 does not exist"):
        storage.update_run_progress(store, 3, fraction=0.5)


def test_list_runs_filters_by_pipeline_dataset_and_status(store, version_id: int, dataset_id: int) -> None:
    other = storage.save_pipeline_version(store, name="other", definition={"steps": [1]}).id
    mine = storage.create_run(store, dataset_id=dataset_id, pipeline_version_id=version_id)
    v2 = storage.save_pipeline_version(store, name="houses", definition={"steps": [2]}).id
    mine_v2 = storage.create_run(store, dataset_id=None, pipeline_version_id=v2)
    theirs = storage.create_run(store, dataset_id=dataset_id, pipeline_version_id=other)
    adhoc = storage.create_run(store, dataset_id=None)
    pipeline_id = storage.get_pipeline(store, "houses").id

    assert [r.id for r in storage.list_runs(store, pipeline_id=pipeline_id)] == [mine_v2.id, mine.id]
    assert [r.id for r in storage.list_runs(store, dataset_id=dataset_id)] == [theirs.id, mine.id]
    assert [r.id for r in storage.list_runs(store)] == [adhoc.id, theirs.id, mine_v2.id, mine.id]
    storage.finish_run(store, adhoc.id, status="done")
    assert [r.id for r in storage.list_runs(store, status="done")] == [adhoc.id]


def test_best_run_picks_the_top_model_score_in_the_metrics_direction(store, version_id: int) -> None:
    pipeline_id = storage.get_pipeline(store, "houses").id
    scores = [(0.70, 0.20), (0.91, 0.30), (0.85, 0.10)]
    runs = [storage.create_run(store, dataset_id=None, pipeline_version_id=version_id) for _ in scores]
    for run, (r2, rmse) in zip(runs, scores, strict=True):
        board = [
            {"model": "ridge", "metrics": {"r2": {"mean": r2, "std": 0.0}, "rmse": {"mean": rmse, "std": 0.0}}},
            {"model": "dummy", "metrics": {"r2": {"mean": 0.1, "std": 0.0}, "rmse": {"mean": 0.9, "std": 0.0}}},
        ]
        storage.finish_run(store, run.id, status="done", leaderboard=board)
    failed = storage.create_run(store, dataset_id=None, pipeline_version_id=version_id)
    storage.finish_run(store, failed.id, status="failed", leaderboard=_board(("x", 0.99)))

    assert storage.best_run(store, pipeline_id, metric="r2").id == runs[1].id
    assert storage.best_run(store, pipeline_id, metric="rmse", greater_is_better=False).id == runs[2].id
    assert storage.best_run(store, pipeline_id, metric="mae") is None
    assert storage.run_score(storage.get_run(store, runs[1].id), metric="r2") == 0.91


def test_best_run_also_reads_bare_metric_numbers(store, version_id: int) -> None:
    run = storage.create_run(store, dataset_id=None, pipeline_version_id=version_id)
    storage.finish_run(store, run.id, status="done", leaderboard=[{"model": "lr", "metrics": {"accuracy": 0.8}}])
    assert storage.best_run(store, storage.get_pipeline(store, "houses").id, metric="accuracy").id == run.id


def test_runs_a_stopped_server_left_active_are_marked_failed_and_say_to_start_again(store, studio: Path) -> None:
    queued = storage.create_run(store, dataset_id=None)
    running = storage.start_run(store, storage.create_run(store, dataset_id=None).id)
    done = storage.create_run(store, dataset_id=None)
    storage.finish_run(store, done.id, status="done")

    assert storage.mark_interrupted_runs(store) == 2

    for run_id, message in ((queued.id, storage.NEVER_STARTED_RUN_MESSAGE), (running.id, storage.STOPPED_RUN_MESSAGE)):
        run = storage.get_run(store, run_id)
        assert run.status == "failed" and run.error == message and run.finished_at is not None
    assert "stopped while this run was in progress" in storage.STOPPED_RUN_MESSAGE
    assert "did not finish" in storage.STOPPED_RUN_MESSAGE and "start it again" in storage.STOPPED_RUN_MESSAGE
    assert storage.get_run(store, done.id).status == "done"
    assert storage.mark_interrupted_runs(store) == 0


def _mark_interrupted_as_an_older_version_did(store: storage.Store, run_id: int) -> None:
    storage.db.write(store, lambda session: session.execute(
        update(storage.Run).where(storage.Run.id == run_id).values(status="interrupted", error="server stopped")))


def test_runs_an_older_version_marked_interrupted_still_read_as_finished(store, studio: Path) -> None:
    run = storage.create_run(store, dataset_id=None)
    _mark_interrupted_as_an_older_version_did(store, run.id)
    assert storage.get_run(store, run.id).status == RunStatus.INTERRUPTED == "interrupted"
    assert storage.mark_interrupted_runs(store) == 0
    with pytest.raises(StorageError, match="already finished"):
        storage.start_run(store, run.id)
    with pytest.raises(StorageError, match="already finished"):
        storage.finish_run(store, run.id, status="done")
    with pytest.raises(StorageError, match="can only finish as one of cancelled, done, failed;"):
        storage.finish_run(store, storage.create_run(store, dataset_id=None).id, status="interrupted")


def test_a_run_made_before_saving_can_be_linked_to_its_version_once(store, version_id: int, dataset_id: int) -> None:
    run = storage.create_run(store, dataset_id=dataset_id)
    linked = storage.link_run_to_version(store, run.id, pipeline_version_id=version_id)
    assert linked.pipeline_version_id == version_id
    other = storage.save_pipeline_version(store, name="other", definition={"steps": [1]})
    again = storage.link_run_to_version(store, run.id, pipeline_version_id=other.id)
    assert again.pipeline_version_id == version_id  # never moves to another version
    pipeline_id = storage.get_version_by_id(store, version_id).pipeline_id
    assert [r.id for r in storage.list_runs(store, pipeline_id=pipeline_id)] == [run.id]


def test_progress_keeps_the_last_event_whole_and_refuses_one_that_is_not_an_object(store, studio: Path) -> None:
    run = storage.create_run(store, dataset_id=None)
    event = {"phase": "comparing", "fraction": 0.5, "model_index": 1, "model_name": "knn"}
    assert storage.update_run_progress(store, run.id, fraction=0.5, message="knn", event=event).progress_event == event
    assert storage.get_run(store, run.id).progress_event == event
    with pytest.raises(StorageError, match="JSON object"):
        storage.update_run_progress(store, run.id, fraction=0.6, event=[1, 2])  # type: ignore[arg-type]


def test_a_reporter_carries_its_store_and_leaves_the_environment_alone(
    store: storage.Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker process may have another environment (or serve another studio): the pickled store decides."""
    run = storage.create_run(store, dataset_id=None)
    reporter = pickle.loads(pickle.dumps(RunReporter(store, run.id)))  # as it reaches a Dask worker
    monkeypatch.setenv("PIPELINE_STUDIO_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    reporter.start()
    reporter.fail("stopped on purpose")
    run = storage.get_run(store, run.id)
    assert (run.status, run.error) == ("failed", "stopped on purpose")
    assert not (tmp_path / "elsewhere.db").exists() and not (tmp_path / "elsewhere").exists()
    assert os.environ["PIPELINE_STUDIO_HOME"] == str(tmp_path / "elsewhere")


def test_a_submitter_at_the_job_cap_is_refused_and_others_are_not(store, dataset_id: int) -> None:
    """Issue 14 point 8: queued plus running runs are capped per owner, in the same transaction as the insert."""
    first, second, third = (storage.create_run(store, dataset_id=dataset_id, owner="session:a", max_active=3)
                            for _ in range(3))
    storage.update_run_progress(store, second.id, fraction=0.5)  # running counts as well as queued
    with pytest.raises(storage.JobLimitError) as refused:
        storage.create_run(store, dataset_id=dataset_id, owner="session:a", max_active=3)
    message = str(refused.value)
    assert message == "you have 3 jobs queued or running, the limit is 3; wait for one to finish or cancel one"
    assert isinstance(refused.value, StorageError)
    assert storage.count_active_runs(store, "session:a") == 3 and len(storage.list_runs(store)) == 3

    assert storage.create_run(store, dataset_id=dataset_id, owner="session:b", max_active=3).owner == "session:b"
    assert storage.create_run(store, dataset_id=dataset_id).owner is None  # no owner: not counted
    storage.finish_run(store, first.id, status=RunStatus.CANCELLED.value)
    fourth = storage.create_run(store, dataset_id=dataset_id, owner="session:a", max_active=3)
    assert (fourth.owner, storage.get_run(store, fourth.id).owner) == ("session:a", "session:a")
    assert storage.count_active_runs(store, "session:a") == 3 and third.id < fourth.id

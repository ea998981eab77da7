"""The model registry in storage: numbered versions, one production per pipeline, atomic switches, rollback."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

import storage
from storage import ModelStage, StorageError, Store
from storage.db import current_revision, make_engine, upgrade
from tests.storage.helpers import REPO_ROOT, sha256, small_frame
from tests.storage.test_migrations import HEAD, OLD_ROWS, _downgrade, _tables


def finished_model(store: Store, pipeline: str = "houses", *, definition: dict | None = None,
                   status: str = "done", seed: int = 0) -> tuple[int, int, int]:
    """(pipeline id, pipeline version id, artifact id) of a run of ``pipeline`` finished as ``status``."""
    version = storage.save_pipeline_version(store, name=pipeline, definition=definition or {"steps": []})
    frame = small_frame()
    dataset = storage.save_dataset(store, name="h", file_name="h.csv", fmt="csv", frame=frame, sha256=sha256(b"h"))
    run = storage.create_run(store, dataset_id=dataset.id, pipeline_version_id=version.id, seed=seed)
    artifact = storage.save_model_artifact(store, run_id=run.id, data=f"model {run.id}".encode(), fmt="skops",
                                           model_name="ridge")
    storage.finish_run(store, run.id, status=status, leaderboard=[{"model": "ridge", "metrics": {"r2": 0.9}}])
    return version.pipeline_id, version.id, artifact.id


def register(store: Store, pipeline: str = "houses", **kwargs) -> storage.RegisteredModel:
    pipeline_id, version_id, artifact_id = finished_model(store, pipeline, **kwargs)
    return storage.register_model_version(store, pipeline_id=pipeline_id, artifact_id=artifact_id,
                                          pipeline_version_id=version_id, data_sha256="d" * 64,
                                          metrics={"cv": {"r2": 0.9}}, created_by="cli", note="first try")


def stages(store: Store, pipeline_id: int) -> dict[int, str]:
    return {m.version: m.stage for m in storage.list_model_versions(store, pipeline_id)}


def test_versions_are_numbered_per_pipeline_and_keep_their_lineage(store) -> None:
    first, second = register(store, "houses"), register(store, "houses", seed=1)
    other = register(store, "churn")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    [stored, _] = reversed(storage.list_model_versions(store, first.pipeline_id))
    assert (stored.stage, stored.created_by, stored.note, stored.data_sha256) == ("none", "cli", "first try", "d" * 64)
    assert stored.metrics == {"cv": {"r2": 0.9}}
    assert storage.get_model_artifact(store, stored.artifact_id).run_id == stored.run_id
    assert storage.get_version_by_id(store, stored.pipeline_version_id).pipeline_id == first.pipeline_id
    [registered] = storage.list_stage_changes(store, other.pipeline_id)
    assert (registered.from_stage, registered.to_stage, registered.changed_by) == (None, "none", "cli")


def test_the_same_model_twice_an_unfinished_run_and_a_foreign_definition_are_refused(store) -> None:
    model = register(store)
    with pytest.raises(StorageError, match="already version 1 of the pipeline"):
        storage.register_model_version(store, pipeline_id=model.pipeline_id, artifact_id=model.artifact_id,
                                       pipeline_version_id=model.pipeline_version_id, data_sha256=None, metrics={},
                                       created_by="cli")
    pipeline_id, version_id, artifact_id = finished_model(store, "houses", status="failed", seed=3)
    with pytest.raises(StorageError, match="is failed, not done"):
        storage.register_model_version(store, pipeline_id=pipeline_id, artifact_id=artifact_id,
                                       pipeline_version_id=version_id, data_sha256=None, metrics={}, created_by="x")
    other_id, other_version, _ = finished_model(store, "churn")
    with pytest.raises(StorageError, match="belongs to another pipeline"):
        storage.register_model_version(store, pipeline_id=pipeline_id, artifact_id=model.artifact_id,
                                       pipeline_version_id=other_version, data_sha256=None, metrics={}, created_by="x")
    assert [m.version for m in storage.list_model_versions(store, pipeline_id)] == [1]


def test_promoting_to_production_archives_the_old_production_and_records_who_when_why(store) -> None:
    one, two = register(store), register(store, seed=1)
    pipeline_id = one.pipeline_id
    storage.set_model_stage(store, pipeline_id, 1, "staging", by="session:a", reason="looks good")
    storage.set_model_stage(store, pipeline_id, 1, "production", by="session:a", reason="beats the baseline")
    changes = storage.set_model_stage(store, pipeline_id, 2, "production", by="session:b", reason="retrained")
    assert stages(store, pipeline_id) == {1: "archived", 2: "production"}
    assert [(c.version, c.from_stage, c.to_stage, c.changed_by) for c in changes] == [
        (1, "production", "archived", "session:b"), (2, "none", "production", "session:b")]
    assert changes[0].reason == "replaced by version 2: retrained"
    assert storage.model_in_stage(store, pipeline_id, "production").version == two.version
    history = storage.list_stage_changes(store, pipeline_id)
    assert [(c.version, c.to_stage) for c in history] == [
        (2, "production"), (1, "archived"), (1, "production"), (1, "staging"), (2, "none"), (1, "none")]
    assert all(c.changed_at.tzinfo is not None for c in history)


@pytest.mark.parametrize(("stage", "reason", "message"), [
    ("live", "why not", "Unknown stage 'live': use one of none, staging, production, archived"),
    ("production", "  ", "Say why the stage changes"),
    ("none", "again", "already in none"),
])
def test_a_bad_stage_change_is_refused_in_one_line(store, stage, reason, message) -> None:
    model = register(store)
    with pytest.raises(StorageError, match=message):
        storage.set_model_stage(store, model.pipeline_id, 1, stage, by="cli", reason=reason)
    with pytest.raises(StorageError, match="Model version 9 is not registered"):
        storage.set_model_stage(store, model.pipeline_id, 9, "staging", by="cli", reason="x")
    assert len(storage.list_stage_changes(store, model.pipeline_id)) == 1


def test_the_database_itself_refuses_a_second_production_version(store) -> None:
    one, _ = register(store), register(store, seed=1)
    storage.set_model_stage(store, one.pipeline_id, 1, "production", by="cli", reason="first")
    engine = storage.get_engine(store.url)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("UPDATE registered_models SET stage = 'production' WHERE version = 2"))
    assert stages(store, one.pipeline_id) == {1: "production", 2: "none"}


def test_rollback_returns_to_the_previous_production_and_is_recorded(store) -> None:
    one = register(store)
    register(store, seed=1), register(store, seed=2)
    pipeline_id = one.pipeline_id
    with pytest.raises(StorageError, match="No version is in production"):
        storage.rollback_production(store, pipeline_id, by="cli", reason="oops")
    storage.set_model_stage(store, pipeline_id, 1, "production", by="cli", reason="first")
    with pytest.raises(StorageError, match="first version ever in production"):
        storage.rollback_production(store, pipeline_id, by="cli", reason="oops")
    storage.set_model_stage(store, pipeline_id, 3, "staging", by="cli", reason="candidate")
    storage.set_model_stage(store, pipeline_id, 3, "production", by="cli", reason="better")

    back = storage.rollback_production(store, pipeline_id, by="session:a", reason="errors in the logs")
    assert back.version == 1
    assert stages(store, pipeline_id) == {1: "production", 2: "none", 3: "archived"}
    latest = storage.list_stage_changes(store, pipeline_id)[:2]
    assert [(c.version, c.from_stage, c.to_stage, c.rollback, c.changed_by) for c in latest] == [
        (1, "archived", "production", True, "session:a"), (3, "production", "archived", True, "session:a")]
    assert latest[0].reason == "rollback: errors in the logs"
    assert storage.rollback_production(store, pipeline_id, by="cli", reason="it was fine").version == 3


def _replay(store: Store, pipeline_id: int) -> dict[int, str]:
    """The stages the history adds up to, checking that each change starts from where the last one left."""
    state: dict[int, str] = {}
    for change in reversed(storage.list_stage_changes(store, pipeline_id)):
        assert state.get(change.version) == change.from_stage, change
        state[change.version] = change.to_stage
        assert list(state.values()).count("production") <= 1
    return state


def test_threads_promoting_at_once_leave_one_production_and_a_consistent_history(store) -> None:
    pipeline_id = register(store).pipeline_id
    for seed in range(1, 4):
        register(store, seed=seed)
    start, errors = threading.Barrier(8), []

    def promote(worker: int) -> None:
        start.wait()
        for i in range(10):
            try:
                storage.set_model_stage(store, pipeline_id, 1 + (worker + i) % 4, "production", by=f"t{worker}",
                                        reason=f"round {i}")
            except StorageError as e:
                if "already in production" not in str(e):
                    errors.append(e)

    pool = [threading.Thread(target=promote, args=(n,)) for n in range(8)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert errors == []
    assert list(stages(store, pipeline_id).values()).count("production") == 1
    assert _replay(store, pipeline_id) == stages(store, pipeline_id)


PROMOTER = """
import sys
import storage
from storage import StorageError
from studio.workspace import current_store
store, worker = current_store(), int(sys.argv[1])
pipeline = storage.get_pipeline(store, "houses")
for i in range(40):
    try:
        storage.set_model_stage(store, pipeline.id, 1 + (worker + i) % 3, "production", by=f"p{worker}", reason="race")
        if i % 7 == 0:
            storage.rollback_production(store, pipeline.id, by=f"p{worker}", reason="race back")
    except StorageError as e:
        if "already in production" not in str(e) and "first version ever" not in str(e):
            raise
print("finished")
"""


def test_two_processes_promoting_and_rolling_back_at_once_never_hold_two_productions(store) -> None:
    pipeline_id = register(store).pipeline_id
    register(store, seed=1), register(store, seed=2)
    workers = [subprocess.Popen([sys.executable, "-c", PROMOTER, str(n)], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for n in range(2)]
    for worker in workers:
        out, err = worker.communicate(timeout=180)
        assert worker.returncode == 0 and out.startswith("finished"), err
    assert list(stages(store, pipeline_id).values()).count("production") == 1
    assert _replay(store, pipeline_id) == stages(store, pipeline_id)


def test_a_registered_run_is_kept_and_deleting_the_pipeline_removes_its_registry(store) -> None:
    model = register(store)
    with pytest.raises(StorageError, match="is version 1 in the model registry"):
        storage.delete_run(store, model.run_id)
    assert storage.get_run(store, model.run_id) is not None
    storage.delete_pipeline(store, model.pipeline_id)
    assert storage.list_model_versions(store, model.pipeline_id) == []
    assert storage.list_stage_changes(store, model.pipeline_id) == []
    storage.delete_run(store, model.run_id)  # no longer registered anywhere
    assert storage.get_run(store, model.run_id) is None


def test_0006_adds_the_registry_to_a_sqlite_file_and_drops_it_again_keeping_the_runs(sqlite_store: Store) -> None:
    store = sqlite_store
    old = make_engine(store.url)
    upgrade(old, "0005")
    with old.begin() as connection:
        for statement in OLD_ROWS:
            connection.execute(text(statement.replace("timings", "summary")))
    old.dispose()
    assert "registered_models" not in _tables(make_engine(store.url))

    [run] = storage.list_runs(store)  # opening the studio upgrades the file to head
    assert current_revision(storage.get_engine(store.url)) == HEAD
    artifact = storage.save_model_artifact(store, run_id=run.id, data=b"old model", fmt="skops")
    model = storage.register_model_version(store, pipeline_id=storage.get_pipeline(store, "legacy").id,
                                           artifact_id=artifact.id, pipeline_version_id=run.pipeline_version_id,
                                           data_sha256=None, metrics={}, created_by="cli")
    storage.set_model_stage(store, model.pipeline_id, model.version, ModelStage.PRODUCTION, by="cli", reason="go")
    assert storage.model_in_stage(store, model.pipeline_id, "production").run_id == run.id

    storage.reset_engines()
    engine = make_engine(store.url)
    _downgrade(engine, "0005")
    assert current_revision(engine) == "0005"
    assert not {"registered_models", "model_stage_changes"} & _tables(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT seed FROM runs")).scalars().all() == [7]
        assert connection.execute(text("SELECT count(*) FROM model_artifacts")).scalar() == 1
    engine.dispose()

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import storage
from storage import Store
from storage.db import MIGRATIONS_DIR, current_revision, make_engine, upgrade
from storage.models import TABLES

HEAD = "0020"

OLD_DEFINITION = '{"steps": [{"kind": "impute", "strategy": "mean"}]}'
OLD_COLUMNS = '[{"name": "a", "dtype": "int64"}]'
OLD_ROWS = [
    "INSERT INTO datasets (name, file_name, format, n_rows, n_columns, columns, sha256, parquet_path, parquet_sha256,"
    f" parquet_size, created_at) VALUES ('old data', 'old.csv', 'csv', 10, 2, '{OLD_COLUMNS}',"
    " 'aa', 'datasets/aa.parquet', 'bb', 123, '2024-01-02 03:04:05')",
    "INSERT INTO pipelines (name, created_at) VALUES ('legacy', '2024-01-02 03:04:05')",
    "INSERT INTO pipeline_versions (pipeline_id, version, definition, definition_sha256, note, created_at)"
    f" SELECT id, 1, '{OLD_DEFINITION}', 'cafe', 'from 2024', '2024-01-02 03:04:06' FROM pipelines",
    "INSERT INTO runs (pipeline_version_id, dataset_id, status, error, failed_model, leaderboard, timings, seed,"
    " library_versions, started_at, finished_at, created_at)"
    " SELECT pipeline_versions.id, datasets.id, 'done', NULL, NULL, '[{\"model\": \"lr\", \"metrics\": {}}]', '{}', 7,"
    " '{\"sklearn\": \"1.5\"}', '2024-01-02 03:05:00', '2024-01-02 03:06:00', '2024-01-02 03:04:59'"
    " FROM pipeline_versions, datasets",
]


def test_a_database_at_revision_0001_opens_with_current_code_and_keeps_its_rows(store: Store) -> None:
    old = make_engine(store.url)
    upgrade(old, "0001")
    assert current_revision(old) == "0001"
    with old.begin() as connection:
        assert "progress" not in {c["name"] for c in inspect(connection).get_columns("runs")}
        for statement in OLD_ROWS:
            connection.execute(text(statement))
    old.dispose()

    pipeline = storage.get_pipeline(store, "legacy")
    [run] = storage.list_runs(store, pipeline_id=pipeline.id)
    assert current_revision(storage.get_engine(store.url)) == HEAD
    assert (run.status, run.seed, run.leaderboard, run.library_versions) == (
        "done", 7, [{"model": "lr", "metrics": {}}], {"sklearn": "1.5"}
    )  # fmt: skip
    assert (run.progress, run.progress_message, run.progress_updated_at, run.progress_event) == (0.0, "", None, None)
    assert run.finished_at.isoformat() == "2024-01-02T03:06:00+00:00"
    [version] = storage.list_versions(store, pipeline.id)
    assert (version.version, version.note, version.definition["steps"][0]["strategy"]) == (1, "from 2024", "mean")
    dataset = storage.get_dataset(store, run.dataset_id)
    assert (dataset.name, dataset.n_rows, dataset.columns) == ("old data", 10, [{"name": "a", "dtype": "int64"}])

    assert storage.save_pipeline_version(store, name="legacy", definition={"steps": []}).version == 2
    run_id = storage.create_run(store, dataset_id=dataset.id).id
    assert storage.update_run_progress(store, run_id, fraction=0.5).progress == 0.5


def test_models_and_migrations_describe_the_same_schema(store: Store) -> None:
    with storage.get_engine(store.url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [d for d in compare_metadata(context, SQLModel.metadata) if _ours(d)]
    assert differences == []


def _ours(difference: object) -> bool:
    text_form = repr(difference)
    return any(table in text_form for table in TABLES)


def test_upgrading_an_up_to_date_database_is_a_no_op(store: Store) -> None:
    storage.save_pipeline_version(store, name="p", definition={})
    storage.reset_engines()
    storage.get_engine(store.url)  # migrates to head on first use
    assert current_revision(storage.get_engine(store.url)) == HEAD
    assert [p.name for p in storage.list_pipelines(store)] == ["p"]


OLD_SUMMARY = {"total_seconds": 2.5, "metric": "r2", "task": "regression", "holdout": {"r2": 0.81},
               "report": ["dropped 1 constant column"], "provenance": {"definition_sha256": "cafe", "seed": 7}}


def _runs_columns(engine) -> set[str]:
    with engine.connect() as connection:
        return {c["name"] for c in inspect(connection).get_columns("runs")}


def _downgrade(engine, revision: str) -> None:
    """No code path downgrades a studio database, so the test drives Alembic itself, as storage.db.upgrade does."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_0003_renames_timings_to_summary_in_a_sqlite_file_and_back_keeping_the_data(sqlite_store: Store) -> None:
    store = sqlite_store
    old = make_engine(store.url)
    assert old.url.database and not Path(old.url.database).exists()  # a real file, made here at 0002
    upgrade(old, "0002")
    with old.begin() as connection:
        for statement in OLD_ROWS:
            connection.execute(text(statement.replace("'{}', 7,", f"'{json.dumps(OLD_SUMMARY)}', 7,")))
    old.dispose()
    assert Path(old.url.database).is_file()

    [run] = storage.list_runs(store)  # opening the studio upgrades the file to head
    assert current_revision(storage.get_engine(store.url)) == HEAD
    assert (run.summary, run.seed, run.leaderboard) == (OLD_SUMMARY, 7, [{"model": "lr", "metrics": {}}])
    assert "timings" not in _runs_columns(storage.get_engine(store.url))

    storage.reset_engines()
    engine = make_engine(store.url)
    _downgrade(engine, "0002")
    assert current_revision(engine) == "0002"
    assert {"timings"} <= _runs_columns(engine) and "summary" not in _runs_columns(engine)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT timings, seed FROM runs")).one()
    assert (json.loads(stored[0]), stored[1]) == (OLD_SUMMARY, 7)
    engine.dispose()


def test_0005_adds_the_run_owner_to_a_sqlite_file_and_drops_it_again_keeping_the_runs(sqlite_store: Store) -> None:
    """Runs from before the per-user job cap (issue 14 point 8) have no owner and count against no one."""
    store = sqlite_store
    old = make_engine(store.url)
    upgrade(old, "0004")
    with old.begin() as connection:
        for statement in OLD_ROWS:
            connection.execute(text(statement.replace("timings", "summary").replace("'done'", "'queued'")))
    old.dispose()
    assert "owner" not in _runs_columns(make_engine(store.url))

    [run] = storage.list_runs(store)  # opening the studio upgrades the file to head
    assert current_revision(storage.get_engine(store.url)) == HEAD
    assert (run.owner, run.status, run.seed) == (None, "queued", 7)
    assert storage.count_active_runs(store, "session:a") == 0
    owned = storage.create_run(store, dataset_id=run.dataset_id, owner="session:a", max_active=1)
    assert storage.get_run(store, owned.id).owner == "session:a"

    storage.reset_engines()
    engine = make_engine(store.url)
    _downgrade(engine, "0004")
    assert current_revision(engine) == "0004"
    assert "owner" not in _runs_columns(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT seed FROM runs ORDER BY id")).scalars().all() == [7, None]
        assert "ix_runs_owner" not in {i["name"] for i in inspect(connection).get_indexes("runs")}
    engine.dispose()


def _tables(engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def test_0009_adds_the_prediction_log_to_a_sqlite_file_and_drops_it_again_keeping_the_rest(sqlite_store: Store) \
        -> None:
    store = sqlite_store
    old = make_engine(store.url)
    upgrade(old, "0008")
    with old.begin() as connection:
        for statement in OLD_ROWS:
            connection.execute(text(statement.replace("timings", "summary")))
    assert not {"prediction_logs", "ground_truths"} & _tables(old)
    old.dispose()

    [run] = storage.list_runs(store)  # opening the studio upgrades the file to head
    assert current_revision(storage.get_engine(store.url)) == HEAD
    row = {"logged_at": run.created_at, "request_id": "r", "row_id": 0, "inputs": {"a": 1}, "prediction": "yes",
           "latency_ms": 2.0}
    assert storage.append_predictions(store, [row], source="batch", pipeline_id=None, model_version=None,
                                      model_sha256="ab") == 1
    assert storage.save_ground_truth(store, [("r", 0, "no"), ("q", 1, "yes")]).unmatched_examples == [("q", 1)]

    storage.reset_engines()
    engine = make_engine(store.url)
    _downgrade(engine, "0008")
    assert current_revision(engine) == "0008"
    assert not {"prediction_logs", "ground_truths"} & _tables(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT seed FROM runs")).scalars().all() == [7]
    upgrade(engine)  # and up again: empty tables, the run still there
    assert {"prediction_logs", "ground_truths"} <= _tables(engine)
    engine.dispose()
    assert storage.count_predictions(store) == 0 and len(storage.list_runs(store)) == 1


def test_0010_records_violations_on_new_rows_keeps_old_rows_and_adds_alert_thresholds(sqlite_store: Store) -> None:
    store = sqlite_store
    old = make_engine(store.url)
    upgrade(old, "0009")
    with old.begin() as connection:
        connection.execute(text("INSERT INTO prediction_logs (logged_at, source, model_sha256, request_id, row_id, "
                                "prediction, latency_ms) VALUES ('2026-12-01 10:00:00', 'batch', 'ab', 'old', 0, "
                                "'\"yes\"', 1.0)"))
    assert "alert_thresholds" not in _tables(old)
    old.dispose()

    [logged] = storage.list_predictions(store)  # opening the studio upgrades the file to head
    assert current_revision(storage.get_engine(store.url)) == HEAD
    assert (logged.request_id, logged.violations) == ("old", None)  # logged before violations were recorded
    row = {"logged_at": logged.logged_at, "request_id": "new", "row_id": 0, "inputs": None, "prediction": "no",
           "latency_ms": 2.0, "violations": [["Not missing", "age"]]}
    storage.append_predictions(store, [row], source="batch", pipeline_id=None, model_version=None, model_sha256="ab")
    assert storage.list_predictions(store, request_id="new")[0].violations == [["Not missing", "age"]]
    pipeline_id = storage.save_pipeline_version(store, name="p", definition={}).pipeline_id
    storage.save_alert_thresholds(store, pipeline_id, thresholds={"max_psi": 0.2}, by="me")

    storage.reset_engines()
    engine = make_engine(store.url)
    _downgrade(engine, "0009")
    assert "alert_thresholds" not in _tables(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT request_id FROM prediction_logs ORDER BY id")).scalars().all() == [
            "old", "new"]
    engine.dispose()


def test_0011_adds_the_retrains_table_to_a_sqlite_file_and_drops_it_again_keeping_the_rest(sqlite_store: Store) \
        -> None:
    store = sqlite_store
    old = make_engine(store.url)
    upgrade(old, "0010")
    with old.begin() as connection:
        for statement in OLD_ROWS:
            connection.execute(text(statement.replace("timings", "summary")))
    assert "retrains" not in _tables(old)
    old.dispose()

    [run] = storage.list_runs(store)  # opening the studio upgrades the file to head
    pipeline = storage.get_pipeline(store, "legacy")
    from storage import retrains

    row = retrains.create_retrain(store, pipeline_id=pipeline.id, from_version=1, run_id=run.id, dataset_id=None,
                                  source="log", base_rows=10, added_rows=2, labels_through=run.created_at)
    assert retrains.finish_retrain(store, row.id, version=2).version == 2
    assert retrains.retrain_of_version(store, pipeline.id, 2).labels_through == run.created_at

    storage.reset_engines()
    engine = make_engine(store.url)
    _downgrade(engine, "0010")
    assert "retrains" not in _tables(engine)
    upgrade(engine)
    assert "retrains" in _tables(engine)
    engine.dispose()
    assert len(storage.list_runs(store)) == 1


def _file_at(store: Store, revision: str, *statements: str) -> None:
    """A real SQLite file at ``revision`` holding :data:`OLD_ROWS` (a dataset, a pipeline, its version and a run) and
    ``statements``' rows, closed so the studio opens it as a server would."""
    old = make_engine(store.url)
    upgrade(old, revision)
    with old.begin() as connection:
        for statement in (*(row.replace("timings", "summary") for row in OLD_ROWS), *statements):
            connection.execute(text(statement))
    old.dispose()


def test_0013_gives_old_model_artifacts_the_model_role_and_keeps_hold_out_models_apart(sqlite_store: Store) -> None:
    """Issue 20 point 4: a run's artifacts from before are the models it saves; a hold-out model stored beside a
    refitted one is listed only when asked for, and leaves with the run."""
    store = sqlite_store
    _file_at(store, "0012", "INSERT INTO model_artifacts (run_id, model_name, format, path, size, sha256, "
                            "created_at) SELECT id, 'lr', 'skops', 'models/old.skops', 3, 'cc', "
                            "'2024-01-02 03:06:00' FROM runs")

    [run] = storage.list_runs(store)  # opening the studio upgrades the file to head
    assert current_revision(storage.get_engine(store.url)) == HEAD
    [kept] = storage.list_model_artifacts(store, run_id=run.id)
    assert (kept.model_name, kept.role) == ("lr", "model")
    holdout = storage.save_model_artifact(store, run_id=run.id, data=b"hold-out model", fmt="skops",
                                          model_name="lr", role=storage.ArtifactRole.HOLDOUT.value)
    assert [a.id for a in storage.list_model_artifacts(store, run_id=run.id)] == [kept.id]
    assert [a.id for a in storage.list_model_artifacts(store, run_id=run.id, role="holdout")] == [holdout.id]
    assert len(storage.list_model_artifacts(store, run_id=run.id, role=None)) == 2

    storage.reset_engines()
    engine = make_engine(store.url)
    _downgrade(engine, "0012")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT model_name FROM model_artifacts")).scalars().all() == ["lr"]
        assert "role" not in {c["name"] for c in inspect(connection).get_columns("model_artifacts")}
    engine.dispose()


def test_0014_moves_everything_into_a_default_workspace_owned_by_the_first_admin_and_back(sqlite_store: Store) \
        -> None:
    """Issue 19 point 6: a file at 0013 with a dataset, a pipeline, a run, a draft and two admins opens with every row
    in the "Default" workspace, the older admin its owner; names become unique per workspace; downgrading keeps all."""
    store = sqlite_store
    users = [f"INSERT INTO users (name, password_hash, is_admin, failed_sign_ins, created_at) "
             f"VALUES ('{name}', 'x', {admin}, 0, '2024-01-02 03:04:05')" for name, admin in (("bea", 0), ("ann", 1),
                                                                                               ("cid", 1))]
    _file_at(store, "0013", "INSERT INTO drafts (token, dataset_id, definition, context, revision, created_at, "
                            "updated_at) SELECT 'abcdefghijklmnopqrstuv', id, '{}', '{}', 3, '2024-01-02 03:04:05',"
                            " '2024-01-02 03:04:05' FROM datasets", *users)

    [run] = storage.list_runs(store)  # opening the studio upgrades the file to head
    assert current_revision(storage.get_engine(store.url)) == HEAD
    [workspace] = storage.list_workspaces(store)
    assert (workspace.id, workspace.name) == (storage.DEFAULT_WORKSPACE_ID, "Default")
    assert [(user.name, role) for user, role in storage.list_members(store, workspace.id)] == [("ann", "owner")]
    pipeline = storage.get_pipeline(store, "legacy")
    [dataset] = storage.list_datasets(store, workspace_id=workspace.id)
    draft = storage.get_draft(store, "abcdefghijklmnopqrstuv")
    assert {run.workspace_id, pipeline.workspace_id, dataset.workspace_id, draft.workspace_id} == {workspace.id}
    assert (run.seed, dataset.name, draft.revision, draft.dataset_id) == (7, "old data", 3, dataset.id)
    assert [r.id for r in storage.list_runs(store, workspace_id=workspace.id)] == [run.id]

    other = storage.create_workspace(store, name="Team B", owner_id=None)
    assert storage.list_runs(store, workspace_id=other.id) == []
    assert storage.list_pipelines(store, workspace_id=other.id) == []
    theirs = storage.save_pipeline_version(store, name="legacy", definition={}, workspace_id=other.id)
    assert theirs.pipeline_id != pipeline.id  # the same name in another workspace is another pipeline
    assert storage.get_pipeline(store, "legacy").id == pipeline.id
    storage.delete_pipeline(store, theirs.pipeline_id)

    storage.reset_engines()
    engine = make_engine(store.url)
    _downgrade(engine, "0013")
    with engine.connect() as connection:
        assert "workspace_id" not in {c["name"] for c in inspect(connection).get_columns("runs")}
        assert connection.execute(text("SELECT name FROM pipelines")).scalars().all() == ["legacy"]
        assert connection.execute(text("SELECT revision FROM drafts")).scalars().all() == [3]
        assert connection.execute(text("SELECT seed FROM runs")).scalars().all() == [7]
    engine.dispose()


def test_the_first_admin_made_after_0014_owns_the_default_workspace(store: Store) -> None:
    """With no accounts before the migration the local user owned the default workspace; the first administrator
    created later takes it over, and a second one does not."""
    first = storage.add_user(store, name="ann", password_hash="x", is_admin=True)
    second = storage.add_user(store, name="bob", password_hash="x", is_admin=True)
    assert storage.adopt_default_workspace(store, first.id) is True
    assert storage.adopt_default_workspace(store, second.id) is False
    assert storage.role_of(store, user_id=first.id, workspace_id=storage.DEFAULT_WORKSPACE_ID) == "owner"
    assert storage.role_of(store, user_id=second.id, workspace_id=storage.DEFAULT_WORKSPACE_ID) is None


def test_0015_gives_runs_submitted_by_an_account_their_account_and_leaves_the_rest_to_the_local_user(
        sqlite_store: Store) -> None:
    """Issue 19 point 5: a run recorded as ``user:ann`` before owners were ids counts against ann's limits; the old
    dataset and a tab's run stay the local user's; the account has no limits of its own; downgrading keeps all."""
    store = sqlite_store
    _file_at(store, "0014",
             "INSERT INTO users (name, password_hash, is_admin, failed_sign_ins, created_at) "
             "VALUES ('ann', 'x', 0, 0, '2024-01-02 03:04:05')",
             "UPDATE runs SET owner = 'user:ann', status = 'queued'",
             "INSERT INTO runs (dataset_id, status, owner, leaderboard, summary, library_versions, created_at, "
             "workspace_id) SELECT id, 'queued', 'draft:abc', '[]', '{}', '{}', '2024-01-02 03:04:05', 1 FROM datasets")

    ann = storage.get_user_by_name(store, "ann")
    assert (ann.max_jobs, ann.max_storage_bytes) == (None, None)
    runs = {run.owner: run for run in storage.list_runs(store)}
    assert (runs["user:ann"].owner_id, runs["draft:abc"].owner_id) == (ann.id, None)
    assert storage.count_active_runs(store, None, owner_id=ann.id) == 1
    assert storage.count_active_runs(store, "draft:abc") == 1
    assert storage.list_datasets(store)[0].owner_id is None
    assert storage.storage_used(store, None) == 123  # the old dataset's Parquet file, the local user's

    storage.reset_engines()
    engine = make_engine(store.url)
    _downgrade(engine, "0014")
    with engine.connect() as connection:
        assert "owner_id" not in {c["name"] for c in inspect(connection).get_columns("runs")}
        assert "max_jobs" not in {c["name"] for c in inspect(connection).get_columns("users")}
        assert sorted(connection.execute(text("SELECT owner FROM runs")).scalars().all()) == ["draft:abc", "user:ann"]
    engine.dispose()


def test_0018_lets_an_account_be_a_single_sign_on_identity_and_back(sqlite_store: Store) -> None:
    """Issue 19 point 1: built-in accounts keep their rows; one identity is one account; downgrading removes the
    accounts that only ever signed in through single sign-on (they have no password to sign in with)."""
    store = sqlite_store
    _file_at(store, "0017", "INSERT INTO users (name, password_hash, is_admin, failed_sign_ins, created_at) "
                            "VALUES ('ann', 'x', 1, 0, '2024-01-02 03:04:05')")
    ann = storage.get_user_by_name(store, "ann")
    assert (ann.oidc_issuer, ann.oidc_subject, ann.password_hash) == (None, None, "x")
    carol = storage.add_identity_user(store, issuer="https://id.example.com", subject="7", name="carol@example.com")
    assert storage.add_identity_user(store, issuer="https://id.example.com", subject="7", name="other").id == carol.id

    storage.reset_engines()
    engine = make_engine(store.url)
    _downgrade(engine, "0017")
    with engine.connect() as connection:
        assert "oidc_subject" not in {c["name"] for c in inspect(connection).get_columns("users")}
        assert connection.execute(text("SELECT name FROM users")).scalars().all() == ["ann"]
    engine.dispose()


def test_0020_keeps_recorded_services_with_an_empty_metrics_secret_and_back(sqlite_store: Store) -> None:
    """Issue 19: services recorded before 0020 were started without a metrics secret; they keep an empty one."""
    store = sqlite_store
    _file_at(store, "0019", "INSERT INTO scoring_services (pipeline_id, version, stage, pid, host, port, started_by,"
                            " started_at) SELECT id, 1, 'production', 4242, '127.0.0.1', 8123, 'ann',"
                            " '2024-01-02 03:07:00' FROM pipelines")
    [old] = storage.list_running_services(store)
    assert (old.pid, old.port, old.metrics_secret) == (4242, 8123, "")
    new = storage.record_service(store, pipeline_id=old.pipeline_id, version=1, stage="production", pid=4343,
                                 host="127.0.0.1", port=8124, started_by="ann", metrics_secret="psm_x")
    assert storage.get_service(store, new.id).metrics_secret == "psm_x"

    storage.reset_engines()
    engine = make_engine(store.url)
    _downgrade(engine, "0019")
    with engine.connect() as connection:
        assert "metrics_secret" not in {c["name"] for c in inspect(connection).get_columns("scoring_services")}
        assert connection.execute(text("SELECT pid FROM scoring_services ORDER BY id")).scalars().all() == [4242, 4343]
    engine.dispose()

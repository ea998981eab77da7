"""The registry's use cases with real fits: register, stages, rollback, history and the model a stage serves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import storage
from pipeline_core.definition.spec import load_spec
from pipeline_core.io.samples import load_sample
from pipeline_core.jobs.runners import ThreadJobRunner
from studio import datasets, models, pipelines, registry, scoring, training
from studio.errors import StorageError
from studio.roles import Actor
from studio.settings import Settings
from tests.application.test_use_cases import iris_spec
from tests.pipeline_core.test_jobs import assert_done_with_model

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

@pytest.fixture
def runner(studio) -> Iterator[ThreadJobRunner]:
    threads = training.start_runner(Settings(PIPELINE_STUDIO_JOBS="threads"))
    yield threads
    threads.close()


@pytest.fixture
def iris() -> datasets.Dataset:
    return datasets.load_sample_dataset(LOCAL, "iris")


def train(store, runner, iris, *, saved_as: str | None = None, c: float = 1.0) -> int:
    """A finished run on iris, trained from a saved version of ``saved_as`` when given (else unsaved)."""
    spec = iris_spec(datasets.load_table(LOCAL, iris))
    spec = load_spec({**spec.to_dict(), "models": [{"kind": "logistic_regression", "params": {"C": c}}]})
    version_id = pipelines.save_version(LOCAL, spec, name=saved_as).id if saved_as else None
    run_id = training.submit_training(LOCAL, runner, spec, iris.id, pipeline_version_id=version_id)
    assert_done_with_model(store, run_id)
    return run_id


def test_an_unsaved_run_registers_under_a_named_pipeline_with_its_lineage(store, runner, iris):
    run_id = train(store, runner, iris)
    with pytest.raises(StorageError, match=f"Run #{run_id} was not trained from a saved pipeline: name the pipeline"):
        registry.register_model(LOCAL, run_id, by="cli")

    version = registry.register_model(LOCAL, run_id, pipeline_name="iris flowers", by="session:a",
                                      note="  first   model ")
    assert (version.pipeline, version.version, version.stage, version.run_id) == ("iris flowers", 1, "none", run_id)
    assert (version.created_by, version.note, version.definition_version) == ("session:a", "first model", 1)
    assert (version.dataset_id, version.dataset_name) == (iris.id, iris.name)
    run = storage.get_run(store, run_id)
    assert run.pipeline_version_id is not None  # the saved definition is the one the run was trained from
    assert version.data_sha256 == iris.sha256  # the stored data's identity, as the Data page shows it
    assert version.metrics.metric == "accuracy" and version.metrics.task == "classification"
    assert version.metrics.cv["accuracy"] == run.leaderboard[0]["metrics"]["accuracy"]
    label, value = version.metrics.main()
    assert label == "Accuracy" and 0.5 < value <= 1.0
    assert version.model_label == "Logistic regression"
    [listed] = registry.list_model_versions(LOCAL, "iris flowers")
    assert listed == version
    assert [(m.from_stage, m.to_stage, m.by) for m in registry.stage_history(LOCAL, "iris flowers")] == [
        (None, "none", "session:a")]


def test_a_saved_run_registers_under_its_own_pipeline_only_and_only_once(store, runner, iris):
    run_id = train(store, runner, iris, saved_as="iris")
    with pytest.raises(StorageError, match="trained from pipeline 'iris' \\(version 1\\), so its model registers under"
                                           " 'iris', not 'other'"):
        registry.register_model(LOCAL, run_id, pipeline_name="other", by="cli")
    assert registry.register_model(LOCAL, run_id, by="cli").pipeline == "iris"
    with pytest.raises(StorageError, match=f"This model of run {run_id} is already version 1 of the pipeline"):
        registry.register_model(LOCAL, run_id, pipeline_name="iris", by="cli")
    assert [v.pipeline for v in registry.registrations_of(LOCAL, run_id)] == ["iris"]
    assert storage.get_pipeline(store, "other") is None


def test_runs_not_done_or_without_a_model_are_refused_in_one_line(store, iris):
    queued = storage.create_run(store, dataset_id=iris.id)
    with pytest.raises(StorageError, match=f"Run #{queued.id} is queued, not done"):
        registry.register_model(LOCAL, queued.id, pipeline_name="iris", by="cli")
    empty = storage.create_run(store, dataset_id=iris.id)
    storage.finish_run(store, empty.id, status="done")
    with pytest.raises(StorageError, match=f"Run #{empty.id} finished without a saved model"):
        registry.register_model(LOCAL, empty.id, pipeline_name="iris", by="cli")
    with pytest.raises(StorageError, match="Run #999 does not exist"):
        registry.register_model(LOCAL, 999, pipeline_name="iris", by="cli")
    with pytest.raises(StorageError, match="Say who is acting"):
        registry.register_model(LOCAL, queued.id, pipeline_name="iris", by=" ")
    assert storage.get_pipeline(store, "iris") is None


def test_promote_roll_back_and_score_with_the_model_a_stage_holds(store, runner, iris):
    first = registry.register_model(LOCAL, train(store, runner, iris, saved_as="iris"), by="cli")
    second = registry.register_model(LOCAL, train(store, runner, iris, saved_as="iris", c=0.05), by="cli")
    assert (first.version, second.version, second.definition_version) == (1, 2, 2)
    with pytest.raises(StorageError, match="Pipeline 'iris' has no model in production; promote"):
        registry.production_model(LOCAL, "iris")

    registry.set_stage(LOCAL, "iris", 1, "production", by="session:a", why="baseline")
    registry.set_stage(LOCAL, "iris", 2, "Staging", by="session:a", why="candidate")
    moves = registry.set_stage(LOCAL, "iris", 2, "production", by="session:b", why="better on new data")
    assert [(m.version, m.from_stage, m.to_stage) for m in moves] == [(1, "production", "archived"),
                                                                      (2, "staging", "production")]
    serving = registry.production_model(LOCAL, "iris")
    assert serving.version.version == 2 and serving.version.artifact_id == second.artifact_id
    rows = load_sample("iris").drop(columns="target").head(20)
    expected = scoring.score_frame(models.load_stored_model(LOCAL, second.artifact_id), rows).frame
    assert scoring.score_frame(serving.model, rows).frame.equals(expected)
    with pytest.raises(StorageError, match="Pipeline 'iris' has no model in staging"):  # 2 left staging
        registry.production_model(LOCAL, "iris", "staging")
    back = registry.rollback(LOCAL, "iris", by="session:b", why="complaints")
    assert back.version == 1 and registry.model_in_stage(LOCAL, "iris").version == 1
    history = registry.stage_history(LOCAL, "iris")
    assert (history[0].version, history[0].to_stage, history[0].rollback, history[0].why) == (
        1, "production", True, "rollback: complaints")
    assert {v.version: v.stage for v in registry.list_model_versions(LOCAL, "iris")} == {1: "production", 2: "archived"}
    assert [v.version for v in registry.production_versions(LOCAL)] == [1]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: registry.list_model_versions(LOCAL, "nope"), "There is no pipeline named 'nope'"),
    (lambda: registry.production_model(LOCAL, "iris", "live"), "Unknown stage 'live': use one of none, staging"),
    (lambda: registry.set_stage(LOCAL, "iris", 1, "production", by="cli", why=""), "Say why the stage changes"),
    (lambda: registry.rollback(LOCAL, "iris", by="cli", why="x"), "No version is in production"),
])
def test_bad_requests_get_one_line_reasons(store, call, message):
    storage.save_pipeline_version(store, name="iris", definition={})
    with pytest.raises(StorageError, match=message) as refused:
        call()
    assert "\n" not in str(refused.value)

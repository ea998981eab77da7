"""The application layer's use cases, called as the pages, the CLI and the service call them.

Real SQLite files, real Parquet and model files, real fits on the in-process thread runner.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import storage
from pipeline_core.artifacts.export import dump_model, load_bundle, load_model
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition.spec import EvaluationPlan, PipelineSpec, TuningPlan, load_spec
from pipeline_core.errors import DataError, ModelError
from pipeline_core.io.samples import load_sample
from pipeline_core.jobs.runners import ThreadJobRunner
from studio import datasets, limits, models, pipelines, runs, scoring, training, workspace
from studio.errors import StorageError
from studio.roles import Actor
from studio.settings import Settings, SettingsError, load_settings
from tests.pipeline_core.test_jobs import assert_done_with_model

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

@pytest.fixture
def runner(studio) -> Iterator[ThreadJobRunner]:
    threads = training.start_runner(Settings(PIPELINE_STUDIO_JOBS="threads"))
    yield threads
    threads.close()


def iris_spec(frame: pd.DataFrame) -> PipelineSpec:
    spec = PipelineSpec(name="iris", target="target", models=[{"kind": "logistic_regression"}],
                        evaluation={"cv_folds": 3, "holdout": 0.2})
    return spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})


@pytest.fixture
def iris() -> datasets.Dataset:
    return datasets.load_sample_dataset(LOCAL, "iris")


@pytest.fixture
def finished(store, runner, iris) -> int:
    spec = iris_spec(datasets.load_table(LOCAL, iris))
    run_id = training.submit_training(LOCAL, runner, spec, iris.id)
    assert_done_with_model(store, run_id)
    return run_id


# ---- settings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("variable", "value", "reason"), [
    ("PIPELINE_STUDIO_MAX_JOBS", "two", "valid integer"),
    ("PIPELINE_STUDIO_MAX_JOBS", "0", "greater than 0"),
    ("PIPELINE_STUDIO_JOBS", "gpu", "'dask' or 'threads'"),
    ("PIPELINE_STUDIO_MEMORY_BUDGET_MB", "-1", "greater than 0"),
    ("PIPELINE_STUDIO_MAX_TUNING_MINUTES", "600", "less than or equal to 120"),
    ("PIPELINE_STUDIO_MAX_JOBS_PER_USER", "0", "greater than 0"),
])
def test_a_bad_environment_value_is_refused_in_one_line_naming_the_variable(monkeypatch, variable, value, reason):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    message = str(refused.value)
    assert message.startswith(f"{variable}='{value}'") and reason in message and "\n" not in message


def test_an_empty_variable_means_the_default(monkeypatch):
    monkeypatch.setenv("PIPELINE_STUDIO_MAX_JOBS", "")
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "")
    loaded = load_settings()
    assert loaded.max_jobs == 1 and loaded.scheduler_address is None and loaded.jobs == "dask"


def test_the_app_names_a_bad_setting_instead_of_failing(studio, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PIPELINE_STUDIO_JOBS", "gpu")
    at = AppTest.from_file(str(Path(__file__).parents[2] / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "PIPELINE_STUDIO_JOBS='gpu' is not usable: Input should be 'dask' or 'threads'."]


class RecordingRunner:
    """Keeps what it was handed instead of training: the tests below are about what reaches the job."""

    max_jobs = 1

    def __init__(self) -> None:
        self.specs: list[PipelineSpec] = []

    def submit(self, job_id: int, spec_json: str, data_path: str, reporter: object) -> None:
        self.specs.append(load_spec(spec_json))

    def live_jobs(self) -> set[int]:
        return set()

    def healthy(self) -> bool:
        return True

    def close(self) -> None:
        pass


def test_the_server_maximum_lowers_a_definitions_tuning_time_limit(studio, iris, monkeypatch):
    spec = iris_spec(datasets.load_table(LOCAL, iris))
    long = spec.model_copy(update={"tuning": TuningPlan(method="optuna", n_trials=10_000, timeout_seconds=7_200)})
    runner = RecordingRunner()
    training.submit_training(LOCAL, runner, long, iris.id)
    monkeypatch.setenv("PIPELINE_STUDIO_MAX_TUNING_MINUTES", "2")
    training.submit_training(LOCAL, runner, long, iris.id)
    training.submit_training(LOCAL, runner, spec.model_copy(update={"tuning": TuningPlan(timeout_seconds=30)}), iris.id)
    assert [s.tuning.timeout_seconds for s in runner.specs] == [3_600, 120, 30]  # default maximum: 60 min
    assert long.tuning.timeout_seconds == 7_200  # the caller's definition is left as it was


def test_a_submitter_at_the_servers_job_cap_is_refused_in_one_line(studio, iris, monkeypatch):
    monkeypatch.setenv("PIPELINE_STUDIO_MAX_JOBS_PER_USER", "2")
    spec, runner = iris_spec(datasets.load_table(LOCAL, iris)), RecordingRunner()
    for _ in range(2):
        training.submit_training(LOCAL, runner, spec, iris.id, owner="cli:alice")
    with pytest.raises(storage.JobLimitError, match=r"^you have 2 jobs queued or running, the limit is 2; wait") \
            as refused:
        training.submit_training(LOCAL, runner, spec, iris.id, owner="cli:alice")
    assert "\n" not in str(refused.value) and isinstance(refused.value, StorageError)
    assert (limits.usage(LOCAL, "cli:alice").jobs, len(runner.specs)) == (2, 2)  # nothing recorded or handed over
    training.submit_training(LOCAL, runner, spec, iris.id, owner="cli:bob")
    training.cancel(LOCAL, runs.list_runs(LOCAL)[-1].id)  # the oldest of alice's
    again = training.submit_training(LOCAL, runner, spec, iris.id, owner="cli:alice")
    assert runs.get_run(LOCAL, again).owner == "cli:alice"


def test_a_pipeline_is_not_queued_on_a_dataset_that_lacks_its_target_or_columns(studio, iris):
    """Issue 15 point 13: "Train this version" with another file active used to queue a run that failed later."""
    runner = RecordingRunner()
    cars = PipelineSpec(target="mpg", data={"file_name": "cars.json"},
                        columns={"select": ["weight", "sepal width (cm)"]})
    with pytest.raises(DataError, match=r"^'iris' has no column 'mpg', 'weight', which this pipeline needs\. "
                                        r"It was built on 'cars\.json'\."):
        training.submit_training(LOCAL, runner, cars, iris.id)
    assert runs.list_runs(LOCAL) == [] and runner.specs == []
    renamed = PipelineSpec(target="species", columns={"rename": {"target": "species"}},
                           models=[{"kind": "logistic_regression"}])
    training.submit_training(LOCAL, runner, renamed, iris.id)  # the target under its new name is found
    assert len(runner.specs) == 1


# ---- datasets ---------------------------------------------------------------------------------------------


def test_an_upload_is_stored_once_and_other_reading_options_make_another_table(studio):
    data = b"id;city\n1;Oslo\n2;Bergen\n"
    first = datasets.ingest_upload(LOCAL, data, "cities.csv")
    again = datasets.ingest_upload(LOCAL, data, "cities.csv")
    semicolon = datasets.ingest_upload(LOCAL, data, "cities.csv", datasets.UploadOptions(delimiter=";"))
    assert first.dataset.id == again.dataset.id != semicolon.dataset.id
    assert list(datasets.load_table(LOCAL, semicolon.dataset).columns) == ["id", "city"]


def test_the_memory_budget_comes_from_the_settings(studio, monkeypatch):
    monkeypatch.setenv("PIPELINE_STUDIO_MEMORY_BUDGET_MB", "0.01")
    big = ("x,y\n" + "1,abc\n" * 20_000).encode()
    with pytest.raises(DataError, match="budget"):
        datasets.ingest_upload(LOCAL, big, "big.csv")
    with pytest.raises(DataError, match="budget"):
        datasets.read_upload(big, "big.csv")  # a file to score on the Predict page
    assert datasets.list_datasets(LOCAL) == []


def test_a_preview_is_the_head_of_the_stored_table(studio):
    frame = pd.DataFrame({"n": range(5_000), "text": [f"row {i}" for i in range(5_000)]})
    dataset = datasets.save_table(LOCAL, frame, name="t", file_name="t.csv", fmt="csv", sha256="1" * 64)
    pd.testing.assert_frame_equal(datasets.preview_rows(LOCAL, dataset), frame.head(datasets.PREVIEW_ROWS))
    assert len(datasets.preview_rows(LOCAL, dataset, 7)) == 7


def test_a_merge_without_matching_keys_stores_nothing(studio):
    left = datasets.save_table(LOCAL, pd.DataFrame({"k": [1, 2], "a": [3, 4]}), name="l", file_name="l", fmt="csv",
                               sha256="2" * 64)
    right = datasets.save_table(LOCAL, pd.DataFrame({"k": [8, 9], "b": [5, 6]}), name="r", file_name="r", fmt="csv",
                                sha256="3" * 64)
    with pytest.raises(DataError, match="no key value is in both"):
        datasets.merge_datasets(LOCAL, left, right, keys=["k"], mapping={}, how="inner", name="m")
    assert len(datasets.list_datasets(LOCAL)) == 2


# ---- pipelines ---------------------------------------------------------------------------------------------


def test_saving_links_the_run_trained_from_that_very_definition(finished):
    run = runs.get_run(LOCAL, finished)
    frame = datasets.load_table(LOCAL, run.dataset_id)
    edited = iris_spec(frame).model_copy(update={"evaluation": EvaluationPlan(cv_folds=4, holdout=0.2)})
    unrelated = pipelines.save_version(LOCAL, edited, name="edited", trained_run_id=finished)
    assert runs.get_run(LOCAL, finished).pipeline_version_id is None
    version = pipelines.save_version(LOCAL, iris_spec(frame), name="  iris  ", trained_run_id=finished)
    assert runs.get_run(LOCAL, finished).pipeline_version_id == version.id != unrelated.id
    assert pipelines.saved_version_id(LOCAL, iris_spec(frame), version.pipeline_id, version.version) == version.id
    assert pipelines.saved_version_id(LOCAL, edited, version.pipeline_id, version.version) is None


def test_a_pipeline_needs_a_name(studio):
    with pytest.raises(StorageError, match="name"):
        pipelines.save_version(LOCAL, PipelineSpec(), name="   ")


def test_an_export_imports_back_and_a_single_definition_never_merges_into_a_history(studio):
    spec = PipelineSpec(name="churn", target="y")
    saved = pipelines.save_version(LOCAL, spec, name="churn")
    history = pipelines.export_history(LOCAL, saved.pipeline_id)
    imported = pipelines.import_file(LOCAL, history.encode(), "churn_history.json")
    assert imported.name != "churn" and len(pipelines.list_versions(LOCAL, imported.id)) == 1
    single = pipelines.import_file(LOCAL, spec.to_json().encode(), "churn.json")
    assert single.name not in {"churn", imported.name}


def test_quality_rules_are_versioned_diffed_and_exported_with_the_pipeline(studio):
    """Issue 15 point 2: a rule is part of the saved definition, so a changed bound is a new version whose diff
    names it, and the exported history brings the rules back."""
    first = pipelines.save_version(
        LOCAL, PipelineSpec(target="y", rules=[{"kind": "range", "column": "age", "max": 100}]), name="ages")
    second = pipelines.save_version(
        LOCAL, PipelineSpec(target="y", rules=[{"kind": "range", "column": "age", "max": 120}]), name="ages")
    assert pipelines.diff(first, second)[0] == "rule 1.max: 100.0 → 120.0"
    imported = pipelines.import_file(LOCAL, pipelines.export_history(LOCAL, first.pipeline_id).encode(), "ages.json")
    latest = pipelines.version_spec(pipelines.list_versions(LOCAL, imported.id)[-1])
    assert [r.describe() for r in latest.rules] == ["In range [-∞, 120]"]


@pytest.mark.parametrize(("data", "reason"), [
    (b"{not json", "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "nested far too deeply"),
    (b" " * (pipelines.MAX_IMPORT_BYTES + 1), "the limit is"),
    (json.dumps({"format": "pipeline-studio/pipeline", "versions": [{"definition": {"models": 7}}]}).encode(),
     "models"),
])
def test_a_bad_pipeline_file_is_refused_and_nothing_is_stored(studio, data, reason):
    with pytest.raises((StorageError, DataError, Exception), match=reason):
        pipelines.import_file(LOCAL, data, "bad.json")
    assert pipelines.list_pipelines(LOCAL) == []


# ---- training and runs -------------------------------------------------------------------------------------


def test_a_rerun_trains_the_saved_version_again_as_a_new_run(store, runner, finished):
    run = runs.get_run(LOCAL, finished)
    spec = iris_spec(datasets.load_table(LOCAL, run.dataset_id))
    version = pipelines.save_version(LOCAL, spec, name="iris", trained_run_id=finished)
    again = training.rerun(LOCAL, runner, runs.get_run(LOCAL, finished),
                           fallback=PipelineSpec())  # the saved version wins
    assert again != finished
    rerun = assert_done_with_model(store, again)
    assert (rerun.dataset_id, rerun.pipeline_version_id) == (run.dataset_id, version.id)


def test_training_on_a_deleted_dataset_says_so(store, runner, iris):
    spec = iris_spec(datasets.load_table(LOCAL, iris))
    storage.delete_dataset(store, iris.id)
    with pytest.raises(StorageError, match="no longer exists"):
        training.submit_training(LOCAL, runner, spec, iris.id)
    assert runs.list_runs(LOCAL) == []


def test_run_inputs_rebuild_what_a_run_trained_on_or_say_what_is_gone(store, finished):
    inputs = runs.run_inputs(LOCAL, finished)
    assert inputs.spec.target == "target" and len(inputs.frame) == 150
    assert inputs.model.metadata["model"] == "logistic_regression"
    storage.delete_dataset(store, runs.get_run(LOCAL, finished).dataset_id)
    with pytest.raises(StorageError, match="dataset was deleted"):
        runs.run_inputs(LOCAL, finished)


# ---- models --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["skops", "joblib", "onnx", "python", "bundle", "mlflow"])
def test_a_model_exports_in_every_format(finished, fmt):
    artifact = models.run_artifact(LOCAL, finished)
    data = models.export_model(LOCAL, artifact, fmt)
    if fmt == "skops":
        assert load_model(data, "skops").metadata["model"] == "logistic_regression"
    elif fmt == "bundle":
        bundle = load_bundle(data)
        assert bundle.metadata["model"] == "logistic_regression" and bundle.reference.rows == 150
    elif fmt == "mlflow":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert {"MLmodel", "artifacts/model.skops", "requirements.txt"} <= set(archive.namelist())
    elif fmt == "python":
        script = data.decode()
        assert "LogisticRegression" in script and "pipeline_core" not in script
    else:
        assert len(data) > 1000


def test_a_bundle_export_needs_the_training_dataset(store, finished):
    artifact = models.run_artifact(LOCAL, finished)
    storage.delete_dataset(store, runs.get_run(LOCAL, finished).dataset_id)
    for fmt in ("bundle", "mlflow"):
        with pytest.raises(StorageError, match="MLflow export needs the data the model was trained on.*deleted"):
            models.export_model(LOCAL, artifact, fmt)


def test_the_onnx_plan_says_when_the_graph_cannot_be_checked(store, finished):
    artifact = models.run_artifact(LOCAL, finished)
    storage.delete_dataset(store, runs.get_run(LOCAL, finished).dataset_id)
    plan = models.onnx_plan(LOCAL, artifact)
    assert not plan.checked and plan.blocked == []
    assert '"sepal_length_cm": [[0.0]]' in plan.inputs  # a typical value instead of training rows
    assert len(models.export_model(LOCAL, artifact, "onnx")) > 1000  # offered, with the page's warning


def test_the_onnx_plan_describes_the_graph_inputs_before_the_export(finished):
    plan = models.onnx_plan(LOCAL, models.run_artifact(LOCAL, finished))
    assert plan.blocked == []
    assert "| `sepal_length_cm` | sepal length (cm) | `tensor(double)` [rows, 1] |" in plan.inputs
    assert '"sepal_length_cm": [' in plan.inputs  # an example feed, from the training rows
    assert plan.checked


def test_an_imported_model_is_checked_then_offered(finished):
    stored = models.run_artifact(LOCAL, finished)
    loaded = models.load_stored_model(LOCAL, stored)
    data = dump_model(loaded.pipeline, "skops", {**loaded.metadata, "model": "shared by a colleague"})
    artifact = models.import_model_file(LOCAL, data, "my model.skops")
    assert artifact.id != stored.id and artifact.model_name == "shared by a colleague"
    assert set(models.model_choices(LOCAL)) == {stored.id, artifact.id}
    assert models.import_model_file(LOCAL, data, "again.skops").id == artifact.id  # the same bytes are stored once
    with pytest.raises(ModelError):
        models.import_model_file(LOCAL, b"PK\x03\x04 not a model", "x.skops")
    frame = load_sample("iris")
    assert models.load_stored_model(LOCAL, artifact.id).pipeline.predict(frame.drop(columns="target")).shape == (150,)


# ---- scoring -------------------------------------------------------------------------------------------------


def test_scoring_a_new_table_and_its_drift_from_the_training_data(finished):
    model = models.load_stored_model(LOCAL, models.run_artifact(LOCAL, finished))
    training_rows = datasets.load_table(LOCAL, runs.get_run(LOCAL, finished).dataset_id)
    new = training_rows.drop(columns="target").sample(40, random_state=3).reset_index(drop=True)
    scored = scoring.score_frame(model, new)
    assert len(scored.frame) == 40 and set(scored.frame["prediction"]) <= set(training_rows["target"])
    columns = scoring.drift_columns(model.metadata, training_rows)
    assert "target" not in [c.raw for c in columns] and len(columns) == 4
    shifted = new.assign(**{columns[0].raw: new[columns[0].raw] * 10})
    report = scoring.drift_from_training(training_rows, shifted, columns)
    assert list(report.loc[report["drifted"], "column"]) == [columns[0].name]


def test_the_store_comes_from_the_settings_and_is_reused(studio: Path, tmp_path: Path, monkeypatch) -> None:
    """Storage reads no environment: the application opens the store the settings name, once per URL and home."""
    assert workspace.current_store() == storage.Store.at(studio)
    other = tmp_path / "elsewhere" / "team.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{other}")
    store = workspace.current_store()
    assert (store.url, store.home) == (f"sqlite:///{other}", studio)
    dataset = datasets.load_sample_dataset(LOCAL, "iris")
    assert other.is_file() and not (studio / "studio.db").exists()
    assert storage.get_dataset(store, dataset.id) == dataset


def test_a_runs_models_are_named_as_its_leaderboard_names_them(finished, store):
    run = runs.get_run(LOCAL, finished)
    assert runs.best_model_label(run) == "Logistic regression"
    assert runs.model_label(run, "logistic_regression") == "Logistic regression"
    assert runs.model_label(run, "random_forest") is None
    assert runs.best_model_label(storage.create_run(store, dataset_id=None)) == ""

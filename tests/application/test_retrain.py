"""Issue 17 point 4: retrain a registered version on its training data plus the newly labelled logged rows (or a
file) as a background job; the model is registered as a challenger in staging with its lineage.

Real SQLite studio, real training through the thread job runner (the same job function the Dask workers run), and
the real ``python -m studio retrain`` command in a subprocess.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pandas as pd
import pytest

import storage
from pipeline_core.io.samples import load_sample
from pipeline_core.jobs.runners import ThreadJobRunner
from studio import registry, retrain
from studio.errors import DataError, StorageError
from studio.roles import Actor
from tests.application.test_registry_cli import cli

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

DEADLINE = 300.0  # seconds for a small fit on a loaded 2-core machine; polled, never timed
FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


def log_requests(store, rows: pd.DataFrame, *, request_id: str, with_inputs: bool, version: int = 1,
                 source: str = "service") -> None:
    """Log ``rows`` as one request scored by ``version`` of 'iris' (inputs kept or sampled out)."""
    pipeline_id = storage.get_pipeline(store, "iris").id
    logged = [{"logged_at": datetime.now(UTC), "request_id": request_id, "row_id": i,
               "inputs": dict(zip(FEATURES, map(float, row), strict=True)) if with_inputs else None,
               "prediction": "setosa", "latency_ms": 3.0} for i, row in enumerate(rows[FEATURES].to_numpy())]
    storage.append_predictions(store, logged, source=source, pipeline_id=pipeline_id, model_version=version,
                               model_sha256="ab")


def finished(job: retrain.RetrainJob) -> retrain.RetrainJob:
    deadline = time.monotonic() + DEADLINE
    while job.active:
        assert time.monotonic() < deadline, f"the retrain is still {job.status} after {DEADLINE:.0f} s"
        time.sleep(0.2)
        job = retrain.get_retrain(LOCAL, job.id)
    return job


@pytest.fixture
def labelled(store, iris_studio) -> pd.DataFrame:
    """30 new iris rows logged by version 1: request r1 (20 rows, inputs kept) and r2 (10 rows, inputs sampled out),
    also scored by version 2 in shadow; outcomes for r1 rows 0-14, r2 rows 0-4 and one id the log never saw."""
    rows = load_sample("iris").sample(30, random_state=5).reset_index(drop=True)
    log_requests(store, rows.iloc[:20], request_id="r1", with_inputs=True)
    log_requests(store, rows.iloc[:20], request_id="r1", with_inputs=True, version=2, source=storage.SHADOW_SOURCE)
    log_requests(store, rows.iloc[20:], request_id="r2", with_inputs=False)
    outcomes = [("r1", i, rows["target"][i]) for i in range(15)] + [("r2", i, rows["target"][20 + i])
                                                                    for i in range(5)]
    assert storage.save_ground_truth(store, [*outcomes, ("nowhere", 0, "setosa")]).matched == 20
    return rows


@pytest.fixture
def runner():
    runner = ThreadJobRunner(max_jobs=1)
    yield runner
    runner.close()


def test_labelled_logged_rows_are_added_and_the_model_becomes_a_staging_challenger(store, labelled, runner):
    assert retrain.pending_rows(LOCAL, "iris") == retrain.RetrainRows(version=1, added_rows=15, without_inputs=5,
                                                               received_after=None)
    job = finished(retrain.retrain(LOCAL, runner, "iris", by="session:alice", owner="session:alice"))
    assert (job.status, job.from_version, job.source) == ("done", 1, "log")
    assert (job.base_rows, job.added_rows, job.without_inputs) == (150, 15, 5)
    assert job.version == 3, job.error

    run = storage.get_run(store, job.run_id)
    trained_on = storage.load_frame(store, run.dataset_id)
    assert len(trained_on) == 165  # 150 training rows of version 1 + 15 labelled logged rows with inputs
    expected = labelled.iloc[:15].reset_index(drop=True)
    pd.testing.assert_frame_equal(trained_on.iloc[150:].reset_index(drop=True), expected, check_dtype=True)

    version = next(v for v in registry.list_model_versions(LOCAL, "iris") if v.version == 3)
    assert (version.stage, version.run_id, version.created_by) == ("staging", job.run_id, "session:alice")
    assert version.note.startswith("retrain of version 1 on the 150 training rows of version 1 plus 15 labelled")
    assert "5 more labelled row(s) left out" in version.note
    assert retrain.lineage(LOCAL, "iris", 3) == job
    assert registry.production_model(LOCAL, "iris", "staging").version.version == 3  # what serve --shadow staging picks
    assert job.sentence().endswith("registered as version 3 (staging).")


def test_a_retrain_of_a_retrain_adds_only_outcomes_that_arrived_after_it(store, labelled, runner):
    first = finished(retrain.retrain(LOCAL, runner, "iris", by="cli"))
    with pytest.raises(DataError, match="no logged row of this pipeline has a true outcome since version 3 was "
                                        "trained"):
        retrain.retrain(LOCAL, runner, "iris", version=first.version, by="cli")
    storage.save_ground_truth(store, [("r1", i, labelled["target"][i]) for i in range(15, 20)])
    assert retrain.pending_rows(LOCAL, "iris", first.version).added_rows == 5
    second = finished(retrain.retrain(LOCAL, runner, "iris", version=first.version, by="cli"))
    assert (second.from_version, second.base_rows, second.added_rows, second.version) == (3, 165, 5, 4)


def test_a_picked_file_is_trained_on_alone(store, iris_studio, runner, tmp_path):
    path = tmp_path / "fresh.csv"
    load_sample("iris").sample(90, random_state=1).to_csv(path, index=False)
    job = finished(retrain.retrain(LOCAL, runner, "iris", version=2, data=path.read_bytes(), file_name=path.name,
                   by="cli"))
    assert (job.source, job.base_rows, job.added_rows, job.version) == ("file", 90, 0, 3)
    assert storage.get_dataset(store, storage.get_run(store, job.run_id).dataset_id).n_rows == 90
    assert retrain.lineage(LOCAL, "iris", 3).rows() == "90 rows of 'fresh.csv'"


def test_bad_input_is_refused_in_one_line_before_any_run_is_queued(store, iris_studio, runner, tmp_path):
    with pytest.raises(DataError, match="^no logged row of this pipeline has a true outcome, so there is nothing"):
        retrain.retrain(LOCAL, runner, "iris", by="cli")
    no_target = tmp_path / "no target.csv"
    load_sample("iris").drop(columns="target").to_csv(no_target, index=False)
    with pytest.raises(DataError, match="'no target.csv' has no column 'target', which this pipeline needs"):
        retrain.retrain(LOCAL, runner, "iris", data=no_target.read_bytes(), file_name=no_target.name, by="cli")
    with pytest.raises(StorageError, match="Version 9 is not registered"):
        retrain.retrain(LOCAL, runner, "iris", version=9, by="cli")
    assert len(storage.list_runs(store)) == 2  # the fixture's two trainings only
    assert retrain.retrains(LOCAL, "iris") == []


def test_sampled_out_inputs_alone_are_named_as_the_reason(store, iris_studio, runner):
    rows = load_sample("iris").head(4)
    log_requests(store, rows, request_id="q", with_inputs=False)
    storage.save_ground_truth(store, [("q", i, "setosa") for i in range(4)])
    with pytest.raises(DataError, match="4 labelled row\\(s\\) have no logged inputs \\(only a sample of inputs is "
                                        "logged: PIPELINE_STUDIO_LOG_INPUT_SAMPLE\\)"):
        retrain.retrain(LOCAL, runner, "iris", by="cli")


def test_the_cli_waits_for_the_job_and_names_the_challenger(store, labelled, tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_STUDIO_JOBS", "threads")
    done = cli("studio", "retrain", "--pipeline", "iris")
    assert done.returncode == 0, done.stderr
    assert "retraining version 1 of 'iris' on the 150 training rows of version 1 plus 15 labelled logged row(s) " \
           "(5 more labelled row(s) left out" in done.stdout
    assert done.stdout.strip().splitlines()[-1].endswith("registered as version 3 (staging).")
    assert registry.model_in_stage(LOCAL, "iris", "staging").version == 3


def test_the_cli_refuses_bad_input_with_exit_code_2_and_one_line(store, iris_studio, tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_STUDIO_JOBS", "threads")
    nothing = cli("studio", "retrain", "--pipeline", "iris")
    assert nothing.returncode == 2
    assert nothing.stderr.strip().splitlines() == [
        "error: no logged row of this pipeline has a true outcome, so there is nothing new to retrain on; upload "
        "outcomes first, or retrain on a file"]
    no_target = tmp_path / "rows.csv"
    load_sample("iris").drop(columns="target").to_csv(no_target, index=False)
    missing = cli("studio", "retrain", "--pipeline", "iris", "--data", no_target)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines()[-1].startswith("error: 'rows.csv' has no column 'target'")
    unknown = cli("studio", "retrain", "--pipeline", "nope")
    assert unknown.returncode == 2 and "There is no pipeline named 'nope'" in unknown.stderr


def test_a_retrain_whose_job_died_before_registering_is_registered_when_next_read(store, iris_studio):
    from storage import retrains as records
    from tests.pages.test_compare_page import fast_spec, train_now

    model = storage.get_model_version(store, storage.get_pipeline(store, "iris").id, 1)
    run = storage.get_run(store, model.run_id)
    spec = fast_spec(seed=1).model_copy(update={"name": "iris"})
    finished = train_now(store, run.dataset_id, spec, pipeline_version_id=run.pipeline_version_id)  # no registration
    row = records.create_retrain(store, pipeline_id=model.pipeline_id, from_version=1, run_id=finished.id,
                                 dataset_id=run.dataset_id, source="log", base_rows=150, created_by="session:bob")
    fresh = retrain.get_retrain(LOCAL, row.id)  # just finished: the job may still be registering it
    assert fresh.active and fresh.version is None and fresh.sentence().endswith("trained, registering…")
    late = retrain.get_retrain(LOCAL, row.id, grace_seconds=0)  # long enough: the job is gone, so it registers
    assert (late.active, late.version) == (False, 3)
    assert registry.model_in_stage(LOCAL, "iris", "staging").created_by == "session:bob"
    assert retrain.get_retrain(LOCAL, row.id, grace_seconds=0).version == 3  # once
    assert len(registry.list_model_versions(LOCAL, "iris")) == 3

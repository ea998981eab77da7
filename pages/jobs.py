"""Submitting training jobs from a page: one runner per server, state in storage.

The page returns at once; the job writes progress and results to the run row, so a
page change, a closed tab or a refresh loses nothing: any session can reopen the run.

The runner is chosen from the environment when the server first needs it:

* default: a Dask ``LocalCluster`` in its own process, one 1-thread worker process per core;
* ``DASK_SCHEDULER_ADDRESS=tcp://host:8786``: that existing cluster instead (its workers
  must run this project's code and reach the same database and studio home);
* ``PIPELINE_STUDIO_JOBS=threads``: a thread pool in the server process (no cluster; the
  folds of a run then run one after another).

``PIPELINE_STUDIO_MAX_JOBS`` (default 1) runs that many jobs at once per server; the others
wait queued.
"""

from __future__ import annotations

import os

import streamlit as st

import storage
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.jobs.runners import JobRunner, create_runner
from pipeline_core.training.provenance import library_versions
from storage.files import resolve
from storage.reporter import RunReporter, cancel_run, mark_lost_runs

MAX_JOBS_ENV = "PIPELINE_STUDIO_MAX_JOBS"
JOBS_ENV = "PIPELINE_STUDIO_JOBS"
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


@st.cache_resource(show_spinner="Starting the training workers…", validate=lambda runner: runner.healthy(),
                   on_release=lambda runner: runner.close())
def job_runner() -> JobRunner:
    """Shared by every session of this server: it holds no user data, only workers or a cluster client.

    Runs left active by a previous server are closed as failed, saying the app stopped while they
    were in progress, unless the runner's workers still hold them (an external cluster keeps running
    jobs across app restarts).
    A runner whose cluster died is replaced, and the runs it held are closed the same way.
    """
    runner = create_runner(os.environ.get(JOBS_ENV) or "dask", max_jobs=int(os.environ.get(MAX_JOBS_ENV) or 1),
                           scheduler=os.environ.get(SCHEDULER_ENV) or None)
    mark_lost_runs(runner.live_jobs())
    return runner


def submit_training(spec: PipelineSpec, dataset_id: int, *, pipeline_version_id: int | None = None) -> int:
    """Record a queued run and hand it to the runner; returns the run id at once."""
    runner = job_runner()
    dataset = storage.get_dataset(dataset_id)
    if dataset is None:
        raise storage.StorageError(f"Dataset {dataset_id} no longer exists; load it again on the Data page.")
    run = storage.create_run(dataset_id=dataset_id, pipeline_version_id=pipeline_version_id,
                             seed=spec.evaluation.seed, library_versions=library_versions())
    data_path = str(resolve(dataset.parquet_path))
    try:
        runner.submit(run.id, spec.to_json(), data_path, RunReporter(run.id, storage.database_url()))
    except Exception as e:
        storage.finish_run(run.id, status="failed", error=f"the job could not be handed to the workers: {e}")
        raise
    return run.id


def cancel(run_id: int) -> None:
    cancel_run(run_id)


def queue_position(run_id: int) -> int:
    """How many queued runs were submitted before this one (0 when it is next or running)."""
    queued = storage.list_runs(status="queued")
    return sum(1 for run in queued if run.id < run_id)


if __name__ == "__main__":  # opened by its address as the first run of a server: not a page
    from pages import common

    common.run_inside_app()

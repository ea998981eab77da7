"""Training as a job that runs outside the page.

A Streamlit page reruns on every click and a browser refresh starts a new session, so
training must not live inside a page run. A job gets the definition as JSON, the data as
a path to content-addressed Parquet (data reaches workers by reference), and a *reporter*
that records progress and results wherever the caller keeps them (the app passes
``storage.reporter.RunReporter``). The core stays free of UI and database code.

Two runners execute jobs, both behind :class:`JobRunner`: :class:`DaskJobRunner
<pipeline_core.jobs.dask_cluster.DaskJobRunner>` (the default: jobs run on a Dask cluster and
their CV folds fan out over its workers) and :class:`ThreadJobRunner` (a thread pool in
the server process, the fallback; folds then run one after another). Both run
:func:`pipeline_core.jobs.job.run_training`.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from pipeline_core.errors import StudioError
from pipeline_core.jobs.job import Reporter, run_training

RUNNERS = ("dask", "threads")


class JobRunner(Protocol):
    """Runs training jobs away from the page; one per server, shared by every session."""

    max_jobs: int

    def submit(self, job_id: int, spec_json: str, data_path: str, reporter: Reporter) -> None:
        """Queue the job and return at once; ``job_id`` is the caller's id for it (the run id)."""
        ...

    def live_jobs(self) -> set[int]:
        """Ids of the jobs this runner's workers still hold, queued or running."""
        ...

    def healthy(self) -> bool:
        """False once the runner can no longer run jobs (its cluster died): the app then makes a new one."""
        ...

    def close(self) -> None: ...


class ThreadJobRunner:
    """The fallback runner: a small thread pool in the server process.

    Jobs end with the server and their folds run one after another, but nothing else has
    to start: useful for page tests and machines where a Dask cluster cannot run.
    ``max_jobs`` caps concurrent trainings; later submissions wait in the pool's queue.
    """

    def __init__(self, max_jobs: int = 1):
        self.max_jobs = max_jobs
        self._pool = ThreadPoolExecutor(max_workers=max_jobs, thread_name_prefix="studio-job")
        self._futures: dict[int, Future] = {}

    def submit(self, job_id: int, spec_json: str, data_path: str, reporter: Reporter) -> None:
        self._futures = {k: f for k, f in self._futures.items() if not f.done()}
        self._futures[job_id] = self._pool.submit(run_training, spec_json, data_path, reporter)

    def live_jobs(self) -> set[int]:
        return {job_id for job_id, future in self._futures.items() if not future.done()}

    def healthy(self) -> bool:
        return True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def create_runner(kind: str = "dask", *, max_jobs: int = 1, scheduler: str | None = None) -> JobRunner:
    """The runner ``kind`` names: ``dask`` (an existing cluster at ``scheduler``, else a local
    cluster started in its own process and sized to the machine) or ``threads``."""
    if kind not in RUNNERS:
        raise StudioError(f"unknown job runner '{kind}'; choose one of {', '.join(RUNNERS)}")
    if max_jobs < 1:
        raise StudioError(f"at least one job must be able to run at a time; got a limit of {max_jobs}")
    if kind == "threads":
        return ThreadJobRunner(max_jobs)
    from pipeline_core.jobs.dask_cluster import DaskJobRunner

    return DaskJobRunner.connect(scheduler, max_jobs=max_jobs) if scheduler else DaskJobRunner.start_local(max_jobs)

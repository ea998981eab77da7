"""Training jobs on a Dask cluster, and the launcher that starts a local cluster in its own process.

Why its own process: inside ``streamlit run`` the app script is not an importable
``__main__``, so a process-based ``LocalCluster`` cannot spawn its workers there (the
"bootstrapping phase" error, with spawn and forkserver alike). The launcher is this module
run as ``python -m pipeline_core.jobs.dask_cluster --workers N --threads 1 --address-file PATH``:
it spawns workers normally, writes the scheduler address to the file, and exits when its
parent process is gone; the parent also terminates it at exit. The app connects by address,
exactly as it does to an external cluster (``DASK_SCHEDULER_ADDRESS``).

A job is one Dask task (:func:`run_on_cluster`) that gets the data as a Parquet path and
trains with joblib's Dask backend, so its CV folds run as tasks on every worker.
:class:`DaskJobRunner` sends at most ``max_jobs`` of a server's jobs to the cluster at a
time; the rest wait in its queue, in order.
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
from distributed import Client, Future, LocalCluster, fire_and_forget, worker_client
from joblib._dask import DaskDistributedBackend  # joblib exports the class under no public name

from pipeline_core.errors import StudioError

if TYPE_CHECKING:  # the launcher and its workers start without the training stack
    from pipeline_core.jobs.job import Reporter

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 60
PARENT_POLL_SECONDS = 1.0
JOB_KEY_PREFIX = "pipeline-studio-job-"
_JOB_KEY = re.compile(rf"^{JOB_KEY_PREFIX}(\d+)-")


def machine_workers() -> int:
    """One worker per core this process may use (containers often allow fewer than the host has)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# ---- the launcher (runs in its own process) ----------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Start a LocalCluster, publish its address, and keep it up while the parent process lives."""
    parser = argparse.ArgumentParser(prog="python -m pipeline_core.jobs.dask_cluster", description=main.__doc__)
    parser.add_argument("--workers", type=int, default=machine_workers())
    parser.add_argument("--threads", type=int, default=1, help="threads per worker process")
    parser.add_argument("--address-file", type=Path, required=True, help="where to write the scheduler address")
    args = parser.parse_args(argv)
    parent, stop = os.getppid(), threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with LocalCluster(n_workers=args.workers, threads_per_worker=args.threads, processes=True,
                      host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster:
        _write_atomically(args.address_file, cluster.scheduler_address)
        _warm_up(cluster)
        while not stop.wait(PARENT_POLL_SECONDS) and os.getppid() == parent:
            pass
    return 0


def _warm_up(cluster: LocalCluster) -> None:
    """Import the training stack on every worker now, while the app starts, not when the first job arrives."""
    with Client(cluster, set_as_default=False) as client:
        for worker in client.scheduler_info()["workers"]:
            fire_and_forget(client.submit(import_training_stack, workers=[worker], pure=False))


def import_training_stack() -> None:
    """What a worker needs before its first fold; importing it takes seconds, so workers do it up front."""
    import pipeline_core.artifacts.export  # noqa: F401
    import pipeline_core.training.train  # noqa: F401


def _write_atomically(path: Path, text: str) -> None:
    """The parent polls for the file, so it must never see it half written."""
    temp = path.with_name(f".{path.name}.part")
    temp.write_text(text)
    temp.replace(path)


class ClusterProcess:
    """A launcher process and the address of its scheduler; ``close()`` stops both, idempotently."""

    def __init__(self, process: subprocess.Popen, address: str):
        self.process, self.address = process, address

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self, timeout: float = 15) -> None:
        if not self.alive():
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_cluster_process(workers: int | None = None, threads: int = 1,
                          timeout: float = START_TIMEOUT_SECONDS) -> ClusterProcess:
    """Start the launcher and wait for its scheduler address; it is terminated when this process exits.

    It runs in a new session, so a Ctrl+C meant for the app does not hit the workers
    mid-task; it still ends with the app (``atexit`` here, the parent watch there).
    """
    address_file = Path(tempfile.mkdtemp(prefix="studio-dask-")) / "scheduler-address"
    command = [sys.executable, "-m", "pipeline_core.jobs.dask_cluster", "--workers", str(workers or machine_workers()),
               "--threads", str(threads), "--address-file", str(address_file)]
    path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    env = {"DASK_LOGGING__DISTRIBUTED": "warning", **os.environ, "PYTHONPATH": path}
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
    cluster = ClusterProcess(process, "")
    atexit.register(cluster.close)
    cluster.address = _wait_for_address(cluster, address_file, timeout)
    return cluster


def _wait_for_address(cluster: ClusterProcess, address_file: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while not address_file.exists():
        if not cluster.alive():
            raise StudioError(f"the Dask cluster exited while starting (code {cluster.process.returncode}); "
                              "see the server log, or set PIPELINE_STUDIO_JOBS=threads to train in-process")
        if time.monotonic() > deadline:
            cluster.close()
            raise StudioError(f"the Dask cluster did not start within {timeout:.0f} s; "
                              "set PIPELINE_STUDIO_JOBS=threads to train in-process")
        time.sleep(0.1)
    return address_file.read_text().strip()


# ---- jobs on the cluster ---------------------------------------------------------------------------------


def run_on_cluster(spec_json: str, data_path: str, reporter: Reporter) -> str:
    """The Dask task of one job: train, with the CV folds spread over every worker of the cluster.

    The task secedes from its worker's thread pool for its whole life (``worker_client``), so
    the job's coordination holds no worker thread: with 1-thread workers, every worker still
    runs folds. Training runs in a plain thread of its own because joblib's Dask backend
    secedes a *worker* thread while it collects results and does not rejoin when a fold
    raises (a failing model), so its next secede would fail. joblib sends the training
    frame to the workers once per model (it scatters large arguments), not once per fold.
    """
    with worker_client() as client, ThreadPoolExecutor(1, thread_name_prefix="studio-job") as pool:
        return pool.submit(_train_with_folds_on, client, spec_json, data_path, reporter).result()


def _train_with_folds_on(client: Client, spec_json: str, data_path: str, reporter: Reporter) -> str:
    from pipeline_core.jobs.job import run_training

    with _on_cluster(client):
        return run_training(spec_json, data_path, reporter)


class _FoldBackend(DaskDistributedBackend):
    """joblib's Dask backend, except that joblib calls nested inside a task run in that task's thread.

    The stock backend runs every task under ``parallel_config(backend="dask")``, so a fold's
    inner parallel work (a forest's trees, a column transformer's columns) went back to the
    cluster as tiny tasks while the fold waited for them: a job on two workers was slower
    than on one. A worker has one thread, so its fold now computes everything itself.
    """

    async def _to_func_args(self, func: Any) -> tuple[_InTaskThread, list]:
        batch, tasks = await super()._to_func_args(func)
        return _InTaskThread(repr(batch)), tasks


class _InTaskThread:
    """Runs a batch of joblib calls on a worker, as joblib's Dask ``Batch`` does, but sequentially nested."""

    def __init__(self, name: str):
        self.name = name  # the task key starts with it, e.g. "batch_of__fit_and_score_1_calls"

    def __call__(self, tasks: list) -> list:
        with joblib.parallel_config(backend="sequential"):
            return [func(*args, **kwargs) for func, args, kwargs in tasks]

    def __repr__(self) -> str:
        return self.name


def _on_cluster(client: Client) -> AbstractContextManager[None]:
    """joblib calls made in this thread (train's CV folds among them) run as tasks on ``client``'s cluster."""
    return joblib.parallel_config(backend=_FoldBackend(client=client), n_jobs=-1)


@contextmanager
def folds_on(address: str) -> Iterator[None]:
    """Inside this block, CV folds trained in this process run on the Dask scheduler at ``address``.

    For callers that train in their own process (the CLI ``--scheduler`` option).
    """
    with Client(address, set_as_default=False) as client, _on_cluster(client):
        yield


@dataclass
class _Job:
    job_id: int
    spec_json: str
    data_path: str
    reporter: Reporter
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def key(self) -> str:
        """The Dask key; the job id leads, so a restarted server can tell which runs the scheduler still holds."""
        return f"{JOB_KEY_PREFIX}{self.job_id}-{self.token}"


class DaskJobRunner:
    """Hands jobs to a Dask cluster; the object the app caches per server (a ``Client`` itself cannot be).

    At most ``max_jobs`` jobs are on the cluster at once; later ones wait here, first in
    first out, and go out as earlier ones end. So the limit is per server even when several
    servers share one external cluster, and the order is the order of submission (which the
    Train page's queue position assumes). Jobs on the cluster are fire-and-forget: they keep
    running when the page, the session or this client goes away.
    """

    def __init__(self, client: Client, *, max_jobs: int = 1, cluster: ClusterProcess | None = None):
        self.client, self.max_jobs, self.cluster = client, max_jobs, cluster
        self._waiting: deque[_Job] = deque()
        self._running: dict[Future, _Job] = {}
        self._lock = threading.RLock()

    @classmethod
    def connect(cls, address: str, *, max_jobs: int = 1) -> DaskJobRunner:
        """Use an existing cluster; its workers must be able to import ``pipeline_core``."""
        return cls(Client(address, set_as_default=False), max_jobs=max_jobs)

    @classmethod
    def start_local(cls, max_jobs: int = 1, workers: int | None = None) -> DaskJobRunner:
        """Start a cluster sized to the machine (a 1-thread worker process per core) in its own process."""
        cluster = start_cluster_process(workers)
        try:
            return cls(Client(cluster.address, set_as_default=False), max_jobs=max_jobs, cluster=cluster)
        except BaseException:
            cluster.close()
            raise

    def submit(self, job_id: int, spec_json: str, data_path: str, reporter: Reporter) -> None:
        with self._lock:
            self._waiting.append(_Job(job_id, spec_json, data_path, reporter))
            self._dispatch()

    def _dispatch(self) -> None:
        with self._lock:
            while self._waiting and len(self._running) < self.max_jobs:
                job = self._waiting.popleft()
                future = self.client.submit(run_on_cluster, job.spec_json, job.data_path, job.reporter,
                                            key=job.key, pure=False)
                fire_and_forget(future)
                self._running[future] = job
                future.add_done_callback(self._ended)

    def _ended(self, future: Future) -> None:
        """Free the job's slot and send the next waiting job.

        A job that erred on the cluster (say its workers kept dying) is recorded as failed; one
        cancelled because this client closed is left alone, as it may still run there.
        """
        with self._lock:
            job = self._running.pop(future)
        if future.status == "error":
            job.reporter.fail(f"the job failed on the Dask cluster ({future.exception()!r}); start it again")
        if self.client.status == "running":
            self._dispatch()

    def live_jobs(self) -> set[int]:
        """Jobs waiting here or held by the scheduler, whichever server submitted them."""
        keys = self.client.run_on_scheduler(lambda dask_scheduler: [str(key) for key in dask_scheduler.tasks])
        with self._lock:
            waiting = {job.job_id for job in self._waiting}
        return waiting | {int(match.group(1)) for key in keys if (match := _JOB_KEY.match(key))}

    def healthy(self) -> bool:
        return self.client.status == "running" and (self.cluster is None or self.cluster.alive())

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


if __name__ == "__main__":
    sys.exit(main())

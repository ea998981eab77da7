"""A job reporter that writes a run's progress and results to storage.

It is a small picklable object (the :class:`~storage.store.Store` and a run id), so a job can
carry it to another thread or to a Dask worker process, and every call it makes names that store:
a worker reaches the run's database and file store without touching its environment, and one
worker can serve several studios. Cancel is a finished status set by the UI: the job sees it at
its next check (after each progress report, at most once a second) and stops.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel

from storage import repository as repo
from storage.errors import StorageError
from storage.models import FINISHED_STATUSES, ArtifactRole, RunStatus, lost_run_message
from storage.store import Store

REPORT_EVERY_SECONDS = 0.5
CHECK_EVERY_SECONDS = 1.0


class RunReporter:
    """Reports one run's progress and results to ``store``, from whichever process runs the job."""

    def __init__(self, store: Store, run_id: int):
        self.store = store
        self.run_id = run_id
        self._last_report = 0.0
        self._last_check = 0.0
        self._last_step: tuple[Any, Any] = (None, None)
        self._status = RunStatus.QUEUED.value

    def _seen(self, status: str) -> None:
        self._status, self._last_check = status, time.monotonic()

    def start(self) -> None:
        try:
            self._seen(repo.start_run(self.store, self.run_id).status)
        except StorageError:  # closed (cancelled, failed by a restart, deleted) while it waited in the queue
            run = repo.get_run(self.store, self.run_id)
            self._seen(run.status if run else RunStatus.CANCELLED.value)

    def progress(self, event: BaseModel) -> None:
        """Store the core's ``ProgressEvent`` (typed as a plain pydantic model: this layer does not import the core).

        Reports come at most every :data:`REPORT_EVERY_SECONDS`, except the ones that move the run to
        another model or phase, so the page never misses which model is training.
        """
        data = event.model_dump(mode="json")
        fraction, step = float(data["fraction"]), (data.get("phase"), data.get("model_index"))
        now = time.monotonic()
        if now - self._last_report < REPORT_EVERY_SECONDS and fraction < 1.0 and step == self._last_step:
            return
        self._last_report, self._last_step = now, step
        run = repo.update_run_progress(self.store, self.run_id, fraction=max(0.0, min(1.0, fraction)),
                                       message=str(data.get("message", "")), event=data)
        self._seen(run.status)

    def cancelled(self) -> bool:
        """True once the run was closed elsewhere (cancelled by the user, failed by a restart, deleted)."""
        if time.monotonic() - self._last_check >= CHECK_EVERY_SECONDS:
            run = repo.get_run(self.store, self.run_id)
            self._seen(run.status if run else RunStatus.CANCELLED.value)
        return self._status in FINISHED_STATUSES

    def finish(self, leaderboard: Sequence[BaseModel], model: bytes, model_name: str, summary: BaseModel,
               holdout_model: bytes | None = None) -> None:
        """Store the model and close the run as done; models that failed are named in ``failed_model``.

        ``holdout_model``, when the saved model was refitted on every row, is the model the hold-out rows scored:
        stored beside it (role ``holdout``) for the hold-out charts and audits.

        ``leaderboard`` and ``summary`` are the core's ``LeaderboardRow`` and ``RunSummary``, typed as plain
        pydantic models because this layer does not import the core; the repository stores them as JSON.
        """
        rows = [row.model_dump(mode="json") for row in leaderboard]
        failed = ", ".join(row["model"] for row in rows if row.get("error")) or None
        kept = kept_after_stop(summary)
        try:
            repo.save_model_artifact(self.store, run_id=self.run_id, data=model, fmt="skops",
                                     model_name=model_name)
            if holdout_model is not None:
                repo.save_model_artifact(self.store, run_id=self.run_id, data=holdout_model, fmt="skops",
                                         model_name=model_name, role=ArtifactRole.HOLDOUT.value)
            repo.finish_run(self.store, self.run_id, status=RunStatus.DONE.value, leaderboard=rows,
                            summary=summary, failed_model=failed, after_cancel=kept)
        except StorageError:
            if not self._finished_elsewhere():
                raise

    def fail(self, error: str, *, status: str = "failed", failed_model: str | None = None) -> None:
        try:
            repo.finish_run(self.store, self.run_id, status=status, error=error, failed_model=failed_model)
        except StorageError:
            if not self._finished_elsewhere():
                raise

    def _finished_elsewhere(self) -> bool:
        """True when the run was closed outside the job (cancelled, failed by a restart): its late word is dropped."""
        run = repo.get_run(self.store, self.run_id)
        return run is None or run.status in FINISHED_STATUSES


def kept_after_stop(summary: BaseModel) -> bool:
    """Whether the job kept a model although the user cancelled its run: an autopilot search stops at a cancel and
    keeps the best model found so far (its summary's ``autopilot.stopped`` says ``cancelled``), so that run ends
    done rather than cancelled. Any other job's late "done" after a cancel is still dropped."""
    autopilot = summary.model_dump(mode="json").get("autopilot") or {}
    return autopilot.get("stopped") == RunStatus.CANCELLED.value


def cancel_run(store: Store, run_id: int) -> None:
    """Mark a run cancelled; its job stops at its next check (a queued one as soon as it gets a slot)."""
    run = repo.get_run(store, run_id)
    if run is not None and run.status in (RunStatus.QUEUED.value, RunStatus.RUNNING.value):
        repo.finish_run(store, run_id, status=RunStatus.CANCELLED.value, error="cancelled by the user")


def mark_lost_runs(store: Store, live: Iterable[int] = ()) -> list[int]:
    """At server start, close as failed the active runs whose job no longer exists; return their ids.

    Their error (:func:`~storage.models.lost_run_message`) tells the user the app stopped while the run was
    in progress, so it did not finish, or, for a run still queued, before it started, so it never ran; and
    that they can start it again.

    ``live`` are the runs the job runner still holds. A local runner starts empty, so every
    run left queued or running by the previous server is closed; an external Dask cluster
    may still be running another (or an earlier) server's jobs, which are left alone and
    record their own results.
    """
    keep = set(live)
    lost = [(run.id, status) for status in (RunStatus.QUEUED, RunStatus.RUNNING)
            for run in repo.list_runs(store, status=status.value) if run.id not in keep]
    for run_id, status in lost:
        try:
            repo.finish_run(store, run_id, status=RunStatus.FAILED.value, error=lost_run_message(status))
        except StorageError:  # it finished in the meantime
            continue
    return [run_id for run_id, _ in lost]

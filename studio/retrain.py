"""Retrain (issue 17 point 4): re-run a registered version's definition on more rows, as a background job, and
register the result as a challenger.

The rows are the version's own training data plus the prediction log's *newly labelled* rows (served rows whose
true outcome has arrived: their logged inputs, the outcome as the target), or a file the user picks instead.
"Newly" is exact: when the version is itself a retrain, its training data already holds the outcomes received up
to that retrain (``labels_through``), so only later ones are added. Rows whose inputs the log did not keep (only a
sample is kept, ``PIPELINE_STUDIO_LOG_INPUT_SAMPLE``) cannot be trained on; they are counted, not hidden.

The job is an ordinary training run (progress on the run, the page may be left), submitted through
:func:`studio.training.submit_training` with a :class:`RetrainReporter`: when the run finishes, the reporter, in
whichever process ran it, registers the model under the same pipeline and puts it in ``staging``, where the
Monitor page and ``serve --shadow staging`` pick challengers. The lineage (from which version, on which rows) is a
``retrains`` row, read back as :class:`RetrainJob`. Should the job's process die between saving the model and
registering it, reading the retrain a minute later (the page, the CLI) registers it, so it never stays
"registering" for ever nor blocks the next retrain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import storage
from pipeline_core.definition.spec import PipelineSpec, load_spec
from pipeline_core.errors import DataError
from pipeline_core.io.frames import append_records, stored_table_sha256
from pipeline_core.jobs.runners import JobRunner
from pipeline_core.training.results import RunSummary
from storage import RunStatus, StorageError, Store
from storage import retrains as records
from storage.models import Retrain
from storage.reporter import RunReporter
from studio import registry, training
from studio.datasets import load_table, read_upload, save_table
from studio.roles import Action, Actor, require
from studio.workspace import current_store

Source = Literal["log", "file"]
STAGING = storage.ModelStage.STAGING.value
REGISTER_GRACE_SECONDS = 60.0  # a run done this long without its model registered: its job died; register it here


@dataclass(frozen=True)
class RetrainRows:
    """What a retrain of ``version`` would add now: labelled logged rows with inputs, and those without."""

    version: int
    added_rows: int
    without_inputs: int
    received_after: datetime | None  # outcomes up to this time are already in the version's training data


@dataclass(frozen=True)
class RetrainJob:
    """One retrain: its lineage (from which version, on which rows), its run's progress and the version it became."""

    id: int
    pipeline: str
    from_version: int
    run_id: int | None
    status: str  # the run's: queued, running, done, failed, cancelled
    progress: float
    message: str
    source: Source
    base_rows: int
    added_rows: int
    without_inputs: int
    file_name: str | None
    version: int | None  # the registry version (in staging) the retrained model became
    error: str | None
    created_at: datetime
    created_by: str

    @property
    def active(self) -> bool:
        """Still going: training, or trained and being registered (the run is done a moment before that)."""
        registering = self.status == RunStatus.DONE.value and self.version is None and self.error is None
        return registering or self.status in (RunStatus.QUEUED.value, RunStatus.RUNNING.value)

    def rows(self) -> str:
        """On which rows, in a sentence fragment: what the lineage says and the Monitor page shows."""
        if self.source == "file":
            return f"{self.base_rows:,} rows of '{self.file_name}'"
        text = f"the {self.base_rows:,} training rows of version {self.from_version} plus {self.added_rows:,} " \
               "labelled logged row(s)"
        if self.without_inputs:
            text += (f" ({self.without_inputs:,} more labelled row(s) left out: the log kept no inputs for them, as "
                     "only a sample of inputs is logged)")
        return text

    def sentence(self) -> str:
        head = f"Retrain of version {self.from_version} on {self.rows()}"
        if self.version is not None:
            return f"{head}: registered as version {self.version} (staging)."
        if self.status == RunStatus.DONE.value:
            return f"{head}: trained, registering…" if self.active else \
                f"{head}: trained, but not registered: {self.error}."
        if self.active:
            return f"{head}: {self.status}, {self.progress:.0%}{' · ' + self.message if self.message else ''}."
        return f"{head}: {self.status}{': ' + self.error if self.error else ''}."


# ---- reading --------------------------------------------------------------------------------------------------


def _job(row: Retrain, pipeline: str, store: Store, *, grace_seconds: float | None = None) -> RetrainJob:
    """The retrain with its run; one whose run finished over ``grace_seconds`` ago without its model registered
    (the job's process died in between) is registered now, so it never reads as "registering" for ever."""
    run = storage.get_run(store, row.run_id) if row.run_id is not None else None
    if grace_seconds is not None and _unregistered(row, run, grace_seconds):
        register_retrained(store, row.id, by=row.created_by)
        row = records.get_retrain(store, row.id) or row
    error = row.error or (run.error if run is not None and run.status != RunStatus.DONE.value else None)
    return RetrainJob(id=row.id, pipeline=pipeline, from_version=row.from_version, run_id=row.run_id,
                      status=run.status if run is not None else RunStatus.FAILED.value,
                      progress=run.progress if run is not None else 0.0,
                      message=run.progress_message if run is not None else "", source=row.source,  # type: ignore[arg-type]
                      base_rows=row.base_rows, added_rows=row.added_rows, without_inputs=row.without_inputs,
                      file_name=row.file_name, version=row.version, error=error, created_at=row.created_at,
                      created_by=row.created_by)


def _unregistered(row: Retrain, run: storage.Run | None, grace_seconds: float) -> bool:
    if run is None or run.status != RunStatus.DONE.value or row.version is not None or row.error is not None:
        return False
    return run.finished_at is None or (datetime.now(UTC) - run.finished_at).total_seconds() >= grace_seconds


def retrains(actor: Actor, pipeline: str | int, *, grace_seconds: float = REGISTER_GRACE_SECONDS) -> list[RetrainJob]:
    """The pipeline's retrains, newest first, each with its run's status and progress."""
    row = registry.get_pipeline(actor, pipeline)
    store = current_store()
    return [_job(r, row.name, store, grace_seconds=grace_seconds) for r in records.list_retrains(store, row.id)]


def get_retrain(actor: Actor, retrain_id: int, *, grace_seconds: float = REGISTER_GRACE_SECONDS) -> RetrainJob:
    store = current_store()
    row = records.get_retrain(store, retrain_id)
    if row is None:
        raise StorageError(f"Retrain #{retrain_id} does not exist (its pipeline may have been deleted).")
    return _job(row, registry.get_pipeline(actor, row.pipeline_id).name, store, grace_seconds=grace_seconds)


def lineage(actor: Actor, pipeline: str | int, version: int) -> RetrainJob | None:
    """The retrain that produced ``version``, when it came from one."""
    row = registry.get_pipeline(actor, pipeline)
    store = current_store()
    found = records.retrain_of_version(store, row.id, int(version))
    return _job(found, row.name, store) if found is not None else None


def _source_version(actor: Actor, pipeline: str | int, version: int | None) -> registry.ModelVersion:
    """The version to retrain: ``version``, else production, else the newest registered one."""
    versions = registry.list_model_versions(actor, pipeline)
    if not versions:
        raise StorageError("This pipeline has no registered model to retrain; register one on the Models page first.")
    if version is None:
        return next((v for v in versions if v.stage == registry.PRODUCTION), versions[0])
    found = next((v for v in versions if v.version == version), None)
    if found is None:
        raise StorageError(f"Version {version} is not registered under this pipeline.")
    return found


def pending_rows(actor: Actor, pipeline: str | int, version: int | None = None) -> RetrainRows:
    """How many labelled logged rows a retrain of ``version`` (default: production) would add now, and how many
    labelled rows it would have to leave out for want of logged inputs."""
    source = _source_version(actor, pipeline, version)
    store = current_store()
    after = _labels_in(store, source)
    added, without = records.count_labelled_rows(store, source.pipeline_id, received_after=after)
    return RetrainRows(version=source.version, added_rows=added, without_inputs=without, received_after=after)


def _labels_in(store: Store, version: registry.ModelVersion) -> datetime | None:
    """Outcomes received up to this time are in ``version``'s training data already (it was a retrain on them)."""
    made_by = records.retrain_of_version(store, version.pipeline_id, version.version)
    return made_by.labels_through if made_by is not None and made_by.source == "log" else None


# ---- starting -------------------------------------------------------------------------------------------------


def retrain(actor: Actor, runner: JobRunner, pipeline_name: str | int, *, version: int | None = None,
            data: bytes | None = None,
            file_name: str | None = None, by: str, owner: str | None = None) -> RetrainJob:
    """Start retraining ``version`` (default: production) of the pipeline as a background job; returns at once.

    Without ``data`` it trains on the version's training data plus the newly labelled logged rows, and refuses
    in one line when there are none; with ``data`` (a file's bytes, named ``file_name``) on that file alone,
    refused in one line when it lacks the target or a column the definition selects. ``owner`` counts the run
    against a submitter's job cap, as Train does.
    """
    require(current_store(), actor, Action.TRAIN)
    training.check_job_limit(actor, owner)  # before its rows are stored as a dataset
    source = _source_version(actor, pipeline_name, version)
    store = current_store()
    model = storage.get_model_version(store, source.pipeline_id, source.version)
    spec = load_spec(storage.get_version_by_id(store, model.pipeline_version_id).definition)
    if data is not None:
        dataset, rows = _file_rows(actor, spec, data, file_name or "file", source)
    else:
        dataset, rows = _logged_rows(actor, store, spec, source)
    made: list[int] = []

    def reporter(job_store: Store, run_id: int) -> RetrainReporter:
        row = records.create_retrain(job_store, pipeline_id=source.pipeline_id, from_version=source.version,
                                     run_id=run_id, dataset_id=dataset.id, created_by=by, **rows)
        made.append(row.id)
        return RetrainReporter(job_store, run_id, retrain_id=row.id, by=by)

    training.submit_training(actor, runner, spec, dataset.id, pipeline_version_id=model.pipeline_version_id,
                             owner=owner,
                             reporter=reporter)
    return get_retrain(actor, made[0])


def _file_rows(actor: Actor, spec: PipelineSpec, data: bytes, file_name: str,
               source: registry.ModelVersion) -> tuple[storage.Dataset, dict]:
    frame = read_upload(data, file_name).frame
    training.check_columns(spec, {str(c) for c in frame.columns}, file_name,
                           advice="Pick a file with the same columns as the version's training data.")
    stem = file_name.rsplit(".", 1)[0] or file_name
    dataset = save_table(actor, frame, name=f"{stem} (retrain of {source.pipeline} v{source.version})",
                         file_name=file_name,
                         fmt="retrain", sha256=stored_table_sha256(frame))
    return dataset, {"source": "file", "base_rows": len(frame), "file_name": file_name}


def _logged_rows(actor: Actor, store: Store, spec: PipelineSpec,
                 source: registry.ModelVersion) -> tuple[storage.Dataset, dict]:
    if source.dataset_id is None:
        raise StorageError(f"Version {source.version}'s training data was deleted, so it cannot be retrained on it "
                           "plus the logged rows; retrain it on a file instead.")
    after = _labels_in(store, source)
    labelled = records.labelled_rows(store, source.pipeline_id, received_after=after)
    usable = [r for r in labelled if r.inputs is not None]
    if not usable:
        since = f" since version {source.version} was trained" if after is not None else ""
        lacking = (f"; {len(labelled):,} labelled row(s) have no logged inputs (only a sample of inputs is logged: "
                   "PIPELINE_STUDIO_LOG_INPUT_SAMPLE)") if labelled else ""
        raise DataError(f"no logged row of this pipeline has a true outcome{since}{lacking}, so there is nothing new "
                        "to retrain on; upload outcomes first, or retrain on a file")
    target = training.raw_target(spec)
    base = load_table(actor, source.dataset_id)
    combined = append_records(base, [{**r.inputs, target: r.outcome} for r in usable])
    dataset = save_table(actor, combined,
                         name=f"{source.pipeline} v{source.version} + {len(usable):,} labelled logged rows",
                         file_name=f"retrain of {source.dataset_name or 'training data'}", fmt="retrain",
                         sha256=stored_table_sha256(combined))
    return dataset, {"source": "log", "base_rows": len(base), "added_rows": len(usable),
                     "without_inputs": len(labelled) - len(usable),
                     "labels_through": max(r.received_at for r in labelled)}


# ---- finishing (in the job's process) -------------------------------------------------------------------------


class RetrainReporter(RunReporter):
    """The run's reporter, which also registers the finished model as a challenger (stage ``staging``).

    It runs wherever the job runs (a Dask worker process or a thread) and names its store, as
    :class:`~storage.reporter.RunReporter` does, so registration reaches the right studio whatever that process's
    environment says.
    """

    def __init__(self, store: Store, run_id: int, *, retrain_id: int, by: str):
        super().__init__(store, run_id)
        self.retrain_id, self.by = retrain_id, by

    def finish(self, leaderboard: Sequence, model: bytes, model_name: str, summary: RunSummary,
               holdout_model: bytes | None = None) -> None:
        super().finish(leaderboard, model, model_name, summary, holdout_model)
        register_retrained(self.store, self.retrain_id, by=self.by)


def register_retrained(store: Store, retrain_id: int, *, by: str) -> int | None:
    """Register the retrain's finished model under its pipeline, in staging, with its lineage in the note; returns
    the version (None, with the reason kept on the retrain, when it could not be registered)."""
    row = records.get_retrain(store, retrain_id)
    run = storage.get_run(store, row.run_id) if row is not None and row.run_id is not None else None
    if row is None or run is None or run.status != RunStatus.DONE.value:
        return None
    already = [m for m in storage.registered_versions_of_run(store, run.id) if m.pipeline_id == row.pipeline_id]
    if already:  # registered by an earlier attempt that stopped before recording it
        records.finish_retrain(store, retrain_id, version=already[0].version)
        return already[0].version
    job = _job(row, "", store)
    try:
        artifact = storage.list_model_artifacts(store, run_id=run.id)[0]
        dataset = storage.get_dataset(store, run.dataset_id) if run.dataset_id is not None else None
        note = f"retrain of version {row.from_version} on {job.rows()}"
        model = storage.register_model_version(
            store, pipeline_id=row.pipeline_id, artifact_id=artifact.id, pipeline_version_id=run.pipeline_version_id,
            data_sha256=dataset.sha256 if dataset else None,
            metrics=registry.registered_metrics(run, artifact.model_name).model_dump(mode="json"), created_by=by,
            note=note)
        storage.set_model_stage(store, row.pipeline_id, model.version, STAGING, by=by,
                                reason=f"challenger: {note}")
    except (StorageError, IndexError) as e:
        records.finish_retrain(store, retrain_id, error=str(e) or "the run saved no model")
        return None
    records.finish_retrain(store, retrain_id, version=model.version)
    return model.version

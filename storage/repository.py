"""Repository functions: one short transaction per user action, detached rows out.

Conventions every function here follows, so callers can rely on them:

* The :class:`~storage.store.Store` comes first, then the subject (an id or a row); everything else is
  keyword-only. The store is an argument rather than a process-wide setting so a worker, a test or a
  tool can reach any studio without changing its environment.
* ``get_*`` returns ``None`` when nothing matches; actions on something missing raise :class:`StorageError`.
* Returned rows are detached copies: read any attribute after the call, mutate them freely,
  nothing is written back. Writes go through these functions only.
* Files are written under a temporary name, the row is committed, then the file is renamed
  into place; a crash at any point leaves no row without its file once :func:`init_db` has run.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import pandas as pd
import pyarrow.parquet as pq
from pydantic import BaseModel
from sqlalchemy import update
from sqlmodel import Session, col, select

from storage import files, limits
from storage.db import lock_key, read, write
from storage.errors import StorageError
from storage.models import (
    ACTIVE_STATUSES,
    CLOSING_STATUSES,
    DEFAULT_WORKSPACE_ID,
    FINISHED_STATUSES,
    ArtifactRole,
    Dataset,
    ModelArtifact,
    Pipeline,
    PipelineVersion,
    RegisteredModel,
    Run,
    RunStatus,
    lost_run_message,
    utcnow,
)
from storage.store import Store

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MODEL_FORMAT = re.compile(r"^[a-z0-9]{1,16}$")
MAX_NAME_LENGTH = 200
MAX_MESSAGE_LENGTH = 2000
T = TypeVar("T")


# ----------------------------------------------------------------------------- helpers


def canonical_json(definition: Mapping[str, Any]) -> str:
    """The canonical text of a definition; its sha256 is the definition hash (same as pipeline_core's)."""
    if not isinstance(definition, Mapping):
        raise StorageError(f"A pipeline definition must be a JSON object (a dict), not {type(definition).__name__}.")
    try:
        return json.dumps(definition, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise StorageError(
            f"The pipeline definition is not plain JSON data ({e}); use only dicts, lists, text, numbers, "
            "true/false and null, and no NaN or infinity."
        ) from e


def definition_sha256(definition: Mapping[str, Any]) -> str:
    """sha256 of :func:`canonical_json`: equal definitions hash equally whatever their key order.

    The core's ``PipelineSpec.content_hash`` is the same hash (this layer may not import it);
    ``tests/application/test_contracts.py`` holds the two equal.
    """
    return files.sha256_bytes(canonical_json(definition).encode())


def to_json_data(value: Any) -> Any:
    """Plain JSON data from results that may hold numpy scalars or NaN (stored as null).

    Not ``pipeline_core.json_data.jsonable``: storage must not import the core (the layers test checks
    it), and the store needs more than the core does: the database's JSON columns refuse NaN, so it
    becomes null here, and a value no JSON type can hold is refused with a message, not stored as text.
    """
    if isinstance(value, Mapping):
        return {str(k): to_json_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_data(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise StorageError(f"Cannot store a {type(value).__name__} in run results; convert it to a number or text.")


def clean_name(name: str, what: str) -> str:
    """Trimmed, non-empty, bounded: names are looked up exactly, so stray spaces would make near-duplicates."""
    cleaned = name.strip() if isinstance(name, str) else ""
    if not cleaned:
        raise StorageError(f"The {what} name is empty; give it a name.")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise StorageError(f"The {what} name is {len(cleaned)} characters long; keep it under {MAX_NAME_LENGTH}.")
    return cleaned


def _require(session: Session, model: type[Any], row_id: int, what: str) -> Any:
    row = session.get(model, row_id)
    if row is None:
        raise StorageError(f"{what} {row_id} does not exist (it may have been deleted).")
    return row


def _delete_files(store: Store, relpaths: Sequence[str], work: Callable[[Session, dict[str, files.PendingTrash]], T],
                  label: str) -> T:
    """Run the write ``work(session, trash)``; files (of ``label``) are moved aside before commit, removed after."""
    trash = {path: files.pending_trash(store.home, path, label) for path in relpaths}
    try:
        result = write(store, lambda session: work(session, trash))
    except BaseException:
        for item in trash.values():
            item.restore()
        raise
    for item in trash.values():
        item.purge()
    return result


# ----------------------------------------------------------------------------- datasets


def _write_parquet(frame: pd.DataFrame, path: Any, name: str) -> None:
    try:
        frame.to_parquet(path, index=None)
    except (ValueError, TypeError) as e:
        raise StorageError(
            f"Dataset '{name}' could not be stored as Parquet: {e}. Give every column a unique text name "
            "and make each column hold one kind of value (numbers, text or dates)."
        ) from e


def _find_dataset(session: Session, workspace_id: int, sha256: str) -> Dataset | None:
    return session.exec(select(Dataset).where(Dataset.workspace_id == workspace_id, Dataset.sha256 == sha256)).first()


def _store_dataset(store: Store, session: Session, staged: files.StagedFile, fields: dict[str, Any],
                   max_owner_bytes: int | None) -> Dataset:
    """Insert the row, or repair an existing row whose file went missing; return the row to keep."""
    lock_key(session, staged.relpath)
    row = _find_dataset(session, fields["workspace_id"], fields["sha256"])
    if row is not None and files.matches(store.home, row.parquet_path, row.parquet_sha256):
        return row
    if row is None and max_owner_bytes is not None:
        limits.check_storage(session, owner_id=fields["owner_id"], limit=max_owner_bytes, sha256=staged.sha256,
                             size=staged.size, what=f"dataset '{fields['name']}'")
    row = row or Dataset(**fields)
    row.parquet_path, row.parquet_sha256, row.parquet_size = staged.relpath, staged.sha256, staged.size
    session.add(row)
    session.flush()
    return row


def save_dataset(store: Store, *, name: str, file_name: str, fmt: str, frame: pd.DataFrame, sha256: str,
                 workspace_id: int = DEFAULT_WORKSPACE_ID, owner_id: int | None = None,
                 max_owner_bytes: int | None = None) -> Dataset:
    """Store an uploaded table once, keyed by the sha256 of the uploaded bytes.

    Uploading the same bytes again to the same workspace returns the existing row (whatever name it was given)
    without writing anything; another workspace gets its own row over the same stored file. A new row is
    ``owner_id``'s (``None``: the local user); with ``max_owner_bytes``, one whose Parquet file would take the
    owner's files past it is refused with :class:`~storage.errors.StorageLimitError` in the transaction that
    would insert it (the file is measured once written, and discarded).
    """
    name = clean_name(name, "dataset")
    if not _SHA256.match(sha256 or ""):
        raise StorageError("The dataset's sha256 must be the 64-character hex digest of the uploaded file.")
    existing = read(store, lambda session: _find_dataset(session, workspace_id, sha256))
    if existing is not None and files.matches(store.home, existing.parquet_path, existing.parquet_sha256):
        return existing
    staged = files.stage(store.home, files.DATASETS, f"{sha256}.parquet",
                         lambda path: _write_parquet(frame, path, name), f"dataset '{name}'")
    fields = {
        "name": name, "file_name": file_name, "format": fmt, "sha256": sha256, "workspace_id": workspace_id,
        "owner_id": owner_id, "n_rows": int(frame.shape[0]), "n_columns": int(frame.shape[1]),
        "columns": [{"name": str(c), "dtype": str(t)} for c, t in frame.dtypes.items()],
    }  # fmt: skip
    try:
        row = write(store, lambda session: _store_dataset(store, session, staged, fields, max_owner_bytes),
                    retry_conflicts=True)
    except BaseException:
        files.discard(staged)
        raise
    if row.parquet_sha256 == staged.sha256:
        files.publish(staged)
    else:
        files.discard(staged)
    return row


def get_dataset(store: Store, dataset_id: int) -> Dataset | None:
    return read(store, lambda session: session.get(Dataset, dataset_id))




def list_datasets(store: Store, *, workspace_id: int | None = None) -> list[Dataset]:
    """Newest first; only those of ``workspace_id`` when given."""
    query = select(Dataset)
    if workspace_id is not None:
        query = query.where(Dataset.workspace_id == workspace_id)
    return read(store, lambda s: list(s.exec(query.order_by(col(Dataset.created_at).desc(), col(Dataset.id).desc()))))


def load_frame(store: Store, dataset: Dataset | int) -> pd.DataFrame:
    """The stored table, after checking the Parquet file still has the hash recorded at save time."""
    dataset_id = dataset.id if isinstance(dataset, Dataset) else dataset
    row = get_dataset(store, dataset_id)  # re-read: the recorded file hash may have been repaired since
    if row is None:
        raise StorageError(f"Dataset {dataset_id} does not exist (it may have been deleted).")
    data = files.read_verified(store.home, row.parquet_path, row.parquet_sha256, f"dataset '{row.name}'")
    return pd.read_parquet(io.BytesIO(data))


def load_rows(store: Store, dataset: Dataset | int, limit: int) -> pd.DataFrame:
    """The first ``limit`` rows of the stored table (verified like :func:`load_frame`), parsing only those."""
    dataset_id = dataset.id if isinstance(dataset, Dataset) else dataset
    row = get_dataset(store, dataset_id)
    if row is None:
        raise StorageError(f"Dataset {dataset_id} does not exist (it may have been deleted).")
    data = files.read_verified(store.home, row.parquet_path, row.parquet_sha256, f"dataset '{row.name}'")
    table = pq.ParquetFile(io.BytesIO(data))
    batch = next(table.iter_batches(batch_size=max(limit, 1)), None)
    if batch is None:
        return table.schema_arrow.empty_table().to_pandas()
    return batch.to_pandas().head(limit)


def delete_dataset(store: Store, dataset_id: int) -> None:
    """Delete the row and its Parquet file; runs on it are kept, with ``dataset_id`` set to ``None``."""
    row = get_dataset(store, dataset_id)
    if row is None:
        raise StorageError(f"Dataset {dataset_id} does not exist (it may have been deleted).")

    def work(session: Session, trash: dict[str, files.PendingTrash]) -> None:
        lock_key(session, row.parquet_path)
        current = _require(session, Dataset, dataset_id, "Dataset")
        session.execute(update(Run).where(col(Run.dataset_id) == dataset_id).values(dataset_id=None))
        session.delete(current)
        session.flush()
        shared = select(Dataset.id).where(Dataset.parquet_path == row.parquet_path)  # another workspace's copy
        if session.exec(shared).first() is None:
            trash[row.parquet_path].move_aside()

    _delete_files(store, [row.parquet_path], work, f"dataset '{row.name}'")


# ----------------------------------------------------------------------------- pipelines


def _latest(session: Session, pipeline_id: int) -> PipelineVersion | None:
    query = select(PipelineVersion).where(PipelineVersion.pipeline_id == pipeline_id)
    return session.exec(query.order_by(col(PipelineVersion.version).desc()).limit(1)).first()


def _append_version(session: Session, workspace_id: int, name: str, definition: dict[str, Any], digest: str,
                    note: str) -> PipelineVersion:
    query = select(Pipeline).where(Pipeline.workspace_id == workspace_id, Pipeline.name == name).with_for_update()
    pipeline = session.exec(query).first()
    if pipeline is None:
        pipeline = Pipeline(name=name, workspace_id=workspace_id)
        session.add(pipeline)
        session.flush()
    latest = _latest(session, pipeline.id)
    if latest is not None and latest.definition_sha256 == digest:
        return latest
    number = latest.version + 1 if latest else 1
    version = PipelineVersion(
        pipeline_id=pipeline.id, version=number, definition=definition, definition_sha256=digest, note=note
    )
    session.add(version)
    session.flush()
    return version


def save_pipeline_version(store: Store, *, name: str, definition: Mapping[str, Any], note: str = "",
                          workspace_id: int = DEFAULT_WORKSPACE_ID) -> PipelineVersion:
    """Save ``definition`` as the next version of pipeline ``name`` of ``workspace_id``, creating the pipeline if new.

    Saving a definition identical to the *latest* version returns that version instead of
    adding a duplicate (so a "Save" click without edits is harmless). Going back to an older
    definition does create a new version, because that return is itself part of the history.
    """
    name = clean_name(name, "pipeline")
    canonical = canonical_json(definition)
    digest = files.sha256_bytes(canonical.encode())
    stored = json.loads(canonical)
    return write(store, lambda session: _append_version(session, workspace_id, name, stored, digest, note),
                 retry_conflicts=True)


def get_pipeline(store: Store, key: int | str, *, workspace_id: int = DEFAULT_WORKSPACE_ID) -> Pipeline | None:
    """Look a pipeline up by id (int), or by name (str) within ``workspace_id`` (names are unique per workspace)."""
    if isinstance(key, str):
        query = select(Pipeline).where(Pipeline.workspace_id == workspace_id, Pipeline.name == key.strip())
        return read(store, lambda session: session.exec(query).first())
    return read(store, lambda session: session.get(Pipeline, key))


def list_pipelines(store: Store, *, workspace_id: int | None = None) -> list[Pipeline]:
    """Alphabetical by name; only those of ``workspace_id`` when given."""
    query = select(Pipeline)
    if workspace_id is not None:
        query = query.where(Pipeline.workspace_id == workspace_id)
    return read(store, lambda session: list(session.exec(query.order_by(col(Pipeline.name)))))


def list_versions(store: Store, pipeline_id: int) -> list[PipelineVersion]:
    """Oldest (version 1) first; empty for an unknown pipeline."""
    query = select(PipelineVersion).where(PipelineVersion.pipeline_id == pipeline_id)
    return read(store, lambda session: list(session.exec(query.order_by(col(PipelineVersion.version)))))


def get_version(store: Store, pipeline_id: int, *, version: int | None = None) -> PipelineVersion | None:
    """Version ``version`` of a pipeline, or its latest version when ``version`` is ``None``."""
    if version is None:
        return read(store, lambda session: _latest(session, pipeline_id))
    query = select(PipelineVersion).where(
        PipelineVersion.pipeline_id == pipeline_id, PipelineVersion.version == version
    )
    return read(store, lambda session: session.exec(query).first())


def get_version_by_id(store: Store, version_id: int) -> PipelineVersion | None:
    """The version a run points at (``Run.pipeline_version_id``)."""
    return read(store, lambda session: session.get(PipelineVersion, version_id))


def delete_pipeline(store: Store, pipeline_id: int) -> None:
    """Delete a pipeline and all its versions.

    Its runs, their leaderboards and model files are kept as history: they are detached
    (``pipeline_version_id`` set to ``None``) rather than deleted, so a result that was
    exported or deployed can still be traced to its run.
    """

    def work(session: Session) -> None:
        pipeline = _require(session, Pipeline, pipeline_id, "Pipeline")
        version_ids = select(PipelineVersion.id).where(PipelineVersion.pipeline_id == pipeline_id)
        session.execute(
            update(Run).where(col(Run.pipeline_version_id).in_(version_ids)).values(pipeline_version_id=None)
        )
        for version in session.exec(select(PipelineVersion).where(PipelineVersion.pipeline_id == pipeline_id)):
            session.delete(version)
        session.flush()
        session.delete(pipeline)

    write(store, work)


# ----------------------------------------------------------------------------- runs


def create_run(
    store: Store,
    *,
    dataset_id: int | None,
    pipeline_version_id: int | None = None,
    seed: int | None = None,
    library_versions: Mapping[str, str] | None = None,
    owner: str | None = None,
    owner_id: int | None = None,
    max_active: int | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> Run:
    """Record a queued run; ``pipeline_version_id`` is ``None`` for ad-hoc (CLI) runs.

    ``owner`` names the submitter (a browser tab's draft, a CLI or service caller, ``user:<name>``) and
    ``owner_id`` its account (``None``: the local user). With ``max_active``, a user who already has that many
    queued or running runs (an account: all of its; the local user: those of ``owner``) is refused with
    :class:`JobLimitError`: the count and the insert share one write transaction, so on SQLite (writes
    serialised) two submissions at once cannot both slip under the cap.
    """

    def work(session: Session) -> Run:
        if dataset_id is not None:
            _require(session, Dataset, dataset_id, "Dataset")
        if pipeline_version_id is not None:
            _require(session, PipelineVersion, pipeline_version_id, "Pipeline version")
        if max_active is not None and (owner is not None or owner_id is not None):
            limits.check_jobs(session, owner=owner, owner_id=owner_id, limit=max_active)
        run = Run(
            dataset_id=dataset_id,
            pipeline_version_id=pipeline_version_id,
            seed=seed,
            library_versions=to_json_data(dict(library_versions or {})),
            owner=owner,
            owner_id=owner_id,
            workspace_id=workspace_id,
        )
        session.add(run)
        session.flush()
        return run

    return write(store, work)


def check_job_limit(store: Store, owner: str | None, max_active: int, *, owner_id: int | None = None) -> None:
    """Raise :class:`JobLimitError` when the user is at the cap now: a cheap early answer, before a caller
    starts workers; :func:`create_run` checks again when it records the run."""
    read(store, lambda session: limits.check_jobs(session, owner=owner, owner_id=owner_id, limit=max_active))


def count_active_runs(store: Store, owner: str | None, *, owner_id: int | None = None) -> int:
    """Queued plus running runs of the account ``owner_id``, else of the submitter ``owner``: what the job cap
    counts."""
    return read(store, lambda session: limits.active_jobs(session, owner=owner, owner_id=owner_id))


def storage_used(store: Store, owner_id: int | None) -> int:
    """Bytes of the distinct files the user's datasets and runs are stored in (see :mod:`storage.limits`)."""
    return read(store, lambda session: limits.storage_used(session, owner_id))


def _mark_running(run: Run) -> None:
    if run.status == RunStatus.QUEUED:
        run.status = RunStatus.RUNNING.value
        run.started_at = run.started_at or utcnow()


def start_run(store: Store, run_id: int) -> Run:
    """Mark a queued run as running; a no-op for a run already running."""

    def work(session: Session) -> Run:
        run = _require(session, Run, run_id, "Run")
        if run.status in FINISHED_STATUSES:
            raise StorageError(f"Run {run_id} already finished ({run.status}); start a new run instead.")
        _mark_running(run)
        return run

    return write(store, work)


def _plain(value: Mapping[str, Any] | BaseModel) -> Any:
    """JSON data from a dict or a pydantic model (the core's typed results; this layer does not import them)."""
    return to_json_data(value.model_dump(mode="json") if isinstance(value, BaseModel) else value)


def update_run_progress(
    store: Store, run_id: int, *, fraction: float, message: str = "", event: Mapping[str, Any] | BaseModel | None = None
) -> Run:
    """Record how far a run got; a queued run becomes running.

    ``event`` is the core's ``ProgressEvent`` (which model, which phase), kept whole so the page reads
    the running model from it rather than from ``message``. A run that has already finished (for
    example cancelled from the UI) is returned unchanged, so a background job can check ``status``
    after reporting to learn it should stop.
    """
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0.0 <= fraction <= 1.0:
        raise StorageError(f"Run progress must be a fraction between 0 and 1, got {fraction!r}.")
    event_data = _plain(event) if event is not None else None
    if event_data is not None and not isinstance(event_data, dict):
        raise StorageError(f"A progress event must be a JSON object; got {type(event_data).__name__}.")

    def work(session: Session) -> Run:
        run = _require(session, Run, run_id, "Run")
        if run.status in FINISHED_STATUSES:
            return run
        _mark_running(run)
        run.progress, run.progress_message = float(fraction), str(message)[:MAX_MESSAGE_LENGTH]
        run.progress_event, run.progress_updated_at = event_data, utcnow()
        return run

    return write(store, work)


def _check_leaderboard(leaderboard: Sequence[Mapping[str, Any] | BaseModel]) -> list[dict[str, Any]]:
    rows = [_plain(row) for row in leaderboard]
    for index, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("model"), str):
            raise StorageError(f"Leaderboard row {index} must be a dict with a 'model' name.")
        if not isinstance(row.get("metrics", {}), dict):
            raise StorageError(f"Leaderboard row {index} ('{row['model']}'): 'metrics' must be a dict.")
    return rows


def finish_run(
    store: Store,
    run_id: int,
    *,
    status: str,
    leaderboard: Sequence[Mapping[str, Any] | BaseModel] | None = None,
    error: str | None = None,
    failed_model: str | None = None,
    summary: Mapping[str, Any] | BaseModel | None = None,
    after_cancel: bool = False,
) -> Run:
    """Close a run as done, failed or cancelled, with its results.

    ``leaderboard`` rows and ``summary`` come as the core's pydantic models (validated when they were
    made) or as plain dicts; either way they are stored as plain JSON.

    A run can be finished once; finishing it again raises, so a late "done" from a
    background job cannot overwrite a user's "cancelled". The exception is ``after_cancel``: a job whose cancel
    means "stop and keep the best so far" (the autopilot's) closes its cancelled run as done with that model.
    """
    if status not in CLOSING_STATUSES:
        allowed = ", ".join(sorted(CLOSING_STATUSES))
        raise StorageError(f"A run can only finish as one of {allowed}; got {status!r}.")
    rows = _check_leaderboard(leaderboard or [])
    summary_data = _plain(summary if summary is not None else {})
    if not isinstance(summary_data, dict):
        raise StorageError(f"A run summary must be a JSON object; got {type(summary_data).__name__}.")

    def work(session: Session) -> Run:
        run = _require(session, Run, run_id, "Run")
        reopened = after_cancel and status == RunStatus.DONE and run.status == RunStatus.CANCELLED
        if run.status in FINISHED_STATUSES and not reopened:
            raise StorageError(f"Run {run_id} already finished ({run.status}); it cannot be finished again.")
        run.status, run.error, run.failed_model = str(status), error, failed_model
        run.leaderboard, run.summary, run.finished_at = rows, summary_data, utcnow()
        if status == RunStatus.DONE:
            run.progress, run.progress_updated_at = 1.0, run.finished_at
        return run

    return write(store, work)


def get_run(store: Store, run_id: int) -> Run | None:
    return read(store, lambda session: session.get(Run, run_id))


def list_runs(
    store: Store, *, pipeline_id: int | None = None, dataset_id: int | None = None, status: str | None = None,
    workspace_id: int | None = None,
) -> list[Run]:
    """Runs, newest first, optionally only those of one workspace, pipeline (any version), dataset or status."""
    query = select(Run)
    if workspace_id is not None:
        query = query.where(Run.workspace_id == workspace_id)
    if pipeline_id is not None:
        query = query.join(PipelineVersion, col(Run.pipeline_version_id) == PipelineVersion.id)
        query = query.where(PipelineVersion.pipeline_id == pipeline_id)
    if dataset_id is not None:
        query = query.where(Run.dataset_id == dataset_id)
    if status is not None:
        query = query.where(Run.status == status)
    query = query.order_by(col(Run.created_at).desc(), col(Run.id).desc())
    return read(store, lambda session: list(session.exec(query)))


def _metric_value(row: Mapping[str, Any], metric: str) -> float | None:
    """A leaderboard row's value for ``metric``: ``{"mean": x, "std": s}`` or a bare number."""
    value = row.get("metrics", {}).get(metric)
    if isinstance(value, Mapping):
        value = value.get("mean")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def run_score(run: Run, *, metric: str, greater_is_better: bool = True) -> float | None:
    """The best value of ``metric`` across a run's leaderboard (``None`` if no model reported it)."""
    values = [v for row in run.leaderboard if (v := _metric_value(row, metric)) is not None]
    if not values:
        return None
    return max(values) if greater_is_better else min(values)


def best_run(store: Store, pipeline_id: int, *, metric: str, greater_is_better: bool = True) -> Run | None:
    """The finished (``done``) run of any version of the pipeline with the best ``metric``.

    The metric direction is the caller's knowledge: storage may not import the core, whose
    ``pipeline_core.definition.metrics.greater_is_better`` owns it (``studio.runs.best_run`` passes it);
    for losses such as RMSE pass ``greater_is_better=False``. Ties go to the newest run.
    """
    scored = []
    for run in list_runs(store, pipeline_id=pipeline_id, status=RunStatus.DONE.value):
        score = run_score(run, metric=metric, greater_is_better=greater_is_better)
        if score is not None:
            scored.append((score if greater_is_better else -score, run))
    if not scored:
        return None
    return max(scored, key=lambda pair: pair[0])[1]


def mark_interrupted_runs(store: Store) -> int:
    """At server start, close as failed the runs a previous process left queued or running; return how many.

    Their error is :func:`~storage.models.lost_run_message` of their status: a running run stopped and did not
    finish, a queued one never started; either can be started again.
    """

    def work(session: Session) -> int:
        closed = 0
        for status in ACTIVE_STATUSES:
            statement = (
                update(Run)
                .where(col(Run.status) == status.value)
                .values(status=RunStatus.FAILED.value, error=lost_run_message(status), finished_at=utcnow())
            )
            closed += int(session.execute(statement).rowcount or 0)
        return closed

    return write(store, work)


def link_run_to_version(store: Store, run_id: int, *, pipeline_version_id: int) -> Run:
    """Attach a run made before its pipeline was saved to the version saved from the same definition.

    Only an unlinked run is changed, so a run never moves from one version to another.
    """

    def work(session: Session) -> Run:
        run = _require(session, Run, run_id, "Run")
        _require(session, PipelineVersion, pipeline_version_id, "Pipeline version")
        if run.pipeline_version_id is None:
            run.pipeline_version_id = pipeline_version_id
        return run

    return write(store, work)


def delete_run(store: Store, run_id: int) -> None:
    """Delete a run, its artifact rows and any model file no other artifact uses.

    A run whose model is registered is refused: the registry is the record of what was (or is) deployed.
    """
    registered = read(store, lambda s: s.exec(select(RegisteredModel).where(RegisteredModel.run_id == run_id)).first())
    if registered is not None:
        raise StorageError(f"Run {run_id}'s model is version {registered.version} in the model registry, so the run "
                           "is kept as its lineage; archive the version instead of deleting the run.")
    artifacts = list_model_artifacts(store, run_id=run_id, role=None)
    paths = sorted({a.path for a in artifacts})

    def work(session: Session, trash: dict[str, files.PendingTrash]) -> None:
        for path in paths:
            lock_key(session, path)
        run = _require(session, Run, run_id, "Run")
        for artifact in session.exec(select(ModelArtifact).where(ModelArtifact.run_id == run_id)):
            session.delete(artifact)
        session.delete(run)
        session.flush()
        for path in paths:
            if session.exec(select(ModelArtifact.id).where(ModelArtifact.path == path)).first() is None:
                trash[path].move_aside()

    _delete_files(store, paths, work, f"run {run_id}")


# ----------------------------------------------------------------------------- model artifacts


def save_model_artifact(store: Store, *, run_id: int, data: bytes, fmt: str, model_name: str = "",
                        role: str = ArtifactRole.MODEL.value) -> ModelArtifact:
    """Store a fitted model's bytes as ``<home>/models/<sha256>.<fmt>`` and record it for ``run_id``.

    Identical bytes share one file. ``fmt`` is the file extension (``skops``, ``onnx``, ``joblib``...);
    ``role`` says what the model is for (:class:`ArtifactRole`).
    """
    staged = _stage_model(store, data, fmt, f"a model of run {run_id}")

    def work(session: Session) -> ModelArtifact:
        lock_key(session, staged.relpath)
        _require(session, Run, run_id, "Run")
        artifact = ModelArtifact(
            run_id=run_id,
            model_name=model_name,
            format=fmt,
            path=staged.relpath,
            size=staged.size,
            sha256=staged.sha256,
            role=ArtifactRole(role).value,
        )
        session.add(artifact)
        session.flush()
        return artifact

    artifact = _write_staged(store, staged, work)
    files.publish(staged)
    return artifact


def _stage_model(store: Store, data: bytes, fmt: str, what: str) -> files.StagedFile:
    """Check a model file's format and bytes, and write it to a temporary name under ``models/``."""
    if not _MODEL_FORMAT.match(fmt or ""):
        raise StorageError(f"Model format {fmt!r} is not a simple file extension such as 'skops' or 'onnx'.")
    if not isinstance(data, bytes | bytearray) or not data:
        raise StorageError(f"Storing {what} needs the file's content as non-empty bytes.")
    return files.stage_bytes(store.home, files.MODELS, f"{files.sha256_bytes(bytes(data))}.{fmt}", bytes(data), what)


def _write_staged(store: Store, staged: files.StagedFile, work: Callable[[Session], ModelArtifact]) -> ModelArtifact:
    """Commit the rows; on any failure the staged file goes too, so no orphan file is left."""
    try:
        return write(store, work)
    except BaseException:
        files.discard(staged)
        raise


def save_imported_model(store: Store, *, data: bytes, fmt: str, model_name: str, source_name: str,
                        workspace_id: int = DEFAULT_WORKSPACE_ID, owner_id: int | None = None,
                        max_owner_bytes: int | None = None) -> ModelArtifact:
    """Store a model file made elsewhere, under a finished run of its own in ``workspace_id`` owned by ``owner_id``
    (refused past ``max_owner_bytes``, as :func:`save_dataset`); the caller has validated it.

    The run has no dataset and one leaderboard row labelled with ``source_name`` (no metrics),
    so the pages that list runs and models show it. Run, artifact row and file appear together
    or not at all. Importing bytes that the workspace already holds returns the artifact that holds them.
    """
    staged = _stage_model(store, data, fmt, f"the imported model '{source_name}'")
    name = str(model_name)[:MAX_NAME_LENGTH]
    label = f"Imported: {' '.join(str(source_name).split())}"[:MAX_NAME_LENGTH]

    def work(session: Session) -> ModelArtifact:
        lock_key(session, staged.relpath)
        query = (select(ModelArtifact).join(Run, col(Run.id) == col(ModelArtifact.run_id))
                 .where(ModelArtifact.sha256 == staged.sha256, ModelArtifact.format == fmt,
                        ModelArtifact.role == ArtifactRole.MODEL.value, Run.workspace_id == workspace_id))
        existing = session.exec(query.order_by(col(ModelArtifact.id))).first()
        if existing is not None and files.matches(store.home, existing.path, existing.sha256):
            return existing
        if max_owner_bytes is not None:
            limits.check_storage(session, owner_id=owner_id, limit=max_owner_bytes, sha256=staged.sha256,
                                 size=staged.size, what=f"the model '{source_name}'")
        now = utcnow()
        run = Run(status=RunStatus.DONE.value, leaderboard=[{"model": name, "label": label, "metrics": {}}],
                  progress=1.0, progress_updated_at=now, started_at=now, finished_at=now, workspace_id=workspace_id,
                  owner_id=owner_id)
        session.add(run)
        session.flush()
        artifact = ModelArtifact(run_id=run.id, model_name=name, format=fmt, path=staged.relpath,
                                 size=staged.size, sha256=staged.sha256)
        session.add(artifact)
        session.flush()
        return artifact

    artifact = _write_staged(store, staged, work)
    if artifact.path == staged.relpath and not files.matches(store.home, artifact.path, artifact.sha256):
        files.publish(staged)
    else:
        files.discard(staged)
    return artifact


def get_model_artifact(store: Store, artifact_id: int) -> ModelArtifact | None:
    return read(store, lambda session: session.get(ModelArtifact, artifact_id))


def list_model_artifacts(store: Store, *, run_id: int,
                         role: str | None = ArtifactRole.MODEL.value) -> list[ModelArtifact]:
    """A run's artifacts of ``role`` (default: the models it saves and serves; ``None``: every one), in the order
    they were saved."""
    query = select(ModelArtifact).where(ModelArtifact.run_id == run_id).order_by(col(ModelArtifact.id))
    if role is not None:
        query = query.where(ModelArtifact.role == ArtifactRole(role).value)
    return read(store, lambda session: list(session.exec(query)))


def load_model_bytes(store: Store, artifact: ModelArtifact | int) -> bytes:
    """The model file's bytes, only if they still match the recorded sha256 (else :class:`StorageError`)."""
    row = artifact if isinstance(artifact, ModelArtifact) else get_model_artifact(store, artifact)
    if row is None:
        raise StorageError(f"Model artifact {artifact} does not exist (it may have been deleted).")
    label = f"model '{row.model_name or row.id}' of run {row.run_id}"
    return files.read_verified(store.home, row.path, row.sha256, label)

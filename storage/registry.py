"""The model registry: numbered model versions per pipeline, their stages, and every stage change.

Rules callers can rely on (``docs/storage.md`` conventions apply: store first, short transactions, detached rows):

* Versions are numbered 1, 2, … per pipeline in the order they were registered; a run's model is registered
  under a pipeline at most once.
* A pipeline has at most one ``production`` version. Promoting another version to production demotes the
  current one to ``archived`` in the same transaction (archived, not staging: it was replaced, and staging
  should hold only candidates someone still means to promote). The database enforces it too, with a partial
  unique index, so two promotions racing each other cannot both commit; on PostgreSQL the loser retries and
  finds the winner's row.
* Every change of stage, registration included, is a :class:`~storage.models.StageChange` row (who, when, why,
  from, to). :func:`rollback_production` reads them: production goes back to the version that was production
  just before the current one, which is recorded as one more change (so rolling back twice returns to where
  it started, like an undo of the last switch).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, col, select

from storage.db import read, write
from storage.errors import StorageError
from storage.models import (
    ModelArtifact,
    ModelStage,
    Pipeline,
    PipelineVersion,
    RegisteredModel,
    Run,
    RunStatus,
    StageChange,
)
from storage.repository import MAX_MESSAGE_LENGTH, _require, to_json_data
from storage.store import Store

STAGES = tuple(stage.value for stage in ModelStage)


def check_stage(stage: str) -> str:
    """``stage`` when it is one of :data:`STAGES`, else a one-line :class:`StorageError` listing them."""
    if stage not in STAGES:
        raise StorageError(f"Unknown stage {stage!r}: use one of {', '.join(STAGES)}.")
    return stage


def _reason(reason: str) -> str:
    cleaned = " ".join(str(reason or "").split())
    if not cleaned:
        raise StorageError("Say why the stage changes: the registry keeps the reason for whoever looks later.")
    return cleaned[:MAX_MESSAGE_LENGTH]


def _lock_pipeline(session: Session, pipeline_id: int) -> Pipeline:
    """The pipeline row, locked on PostgreSQL so registry writes of one pipeline queue (SQLite's BEGIN IMMEDIATE
    already serialises every writer)."""
    pipeline = session.exec(select(Pipeline).where(Pipeline.id == pipeline_id).with_for_update()).first()
    if pipeline is None:
        raise StorageError(f"Pipeline {pipeline_id} does not exist (it may have been deleted).")
    return pipeline


def _record(session: Session, model: RegisteredModel, to_stage: str, *, from_stage: str | None, by: str,
            reason: str, rollback: bool = False) -> StageChange:
    change = StageChange(pipeline_id=model.pipeline_id, registered_model_id=model.id, version=model.version,
                         from_stage=from_stage, to_stage=to_stage, changed_by=by, reason=reason, rollback=rollback)
    session.add(change)
    return change


def _in_stage(session: Session, pipeline_id: int, stage: str) -> list[RegisteredModel]:
    query = select(RegisteredModel).where(RegisteredModel.pipeline_id == pipeline_id, RegisteredModel.stage == stage)
    return list(session.exec(query.order_by(col(RegisteredModel.version).desc())))


def register_model_version(
    store: Store,
    *,
    pipeline_id: int,
    artifact_id: int,
    pipeline_version_id: int,
    data_sha256: str | None,
    metrics: Mapping[str, Any],
    created_by: str,
    note: str = "",
) -> RegisteredModel:
    """Register a finished run's saved model as the pipeline's next model version (stage ``none``).

    The artifact's run must be done and the definition version must belong to the pipeline; the same model
    cannot be registered twice under one pipeline (the message names the version it already is).
    """
    metrics_data = to_json_data(dict(metrics))

    def work(session: Session) -> RegisteredModel:
        _lock_pipeline(session, pipeline_id)
        artifact = _require(session, ModelArtifact, artifact_id, "Model artifact")
        run = _require(session, Run, artifact.run_id, "Run")
        if run.status != RunStatus.DONE:
            raise StorageError(f"Run {run.id} is {run.status}, not done: only a finished run's model can be "
                               "registered.")
        definition = _require(session, PipelineVersion, pipeline_version_id, "Pipeline version")
        if definition.pipeline_id != pipeline_id:
            raise StorageError(f"Pipeline version {pipeline_version_id} belongs to another pipeline.")
        query = select(RegisteredModel).where(RegisteredModel.pipeline_id == pipeline_id,
                                              RegisteredModel.artifact_id == artifact_id)
        existing = session.exec(query).first()
        if existing is not None:
            raise StorageError(f"This model of run {run.id} is already version {existing.version} of the pipeline.")
        latest = session.exec(select(RegisteredModel.version).where(RegisteredModel.pipeline_id == pipeline_id)
                              .order_by(col(RegisteredModel.version).desc()).limit(1)).first()
        model = RegisteredModel(
            pipeline_id=pipeline_id, version=(latest or 0) + 1, artifact_id=artifact_id, run_id=run.id,
            pipeline_version_id=pipeline_version_id, data_sha256=data_sha256, metrics=metrics_data,
            stage=ModelStage.NONE.value, created_by=str(created_by), note=str(note or "")[:MAX_MESSAGE_LENGTH],
        )
        session.add(model)
        session.flush()
        _record(session, model, model.stage, from_stage=None, by=model.created_by, reason=model.note or "registered")
        return model

    return write(store, work, retry_conflicts=True)


def list_model_versions(store: Store, pipeline_id: int) -> list[RegisteredModel]:
    """The pipeline's registered versions, newest first (empty for an unknown pipeline)."""
    query = select(RegisteredModel).where(RegisteredModel.pipeline_id == pipeline_id)
    return read(store, lambda session: list(session.exec(query.order_by(col(RegisteredModel.version).desc()))))


def get_model_version(store: Store, pipeline_id: int, version: int) -> RegisteredModel | None:
    query = select(RegisteredModel).where(RegisteredModel.pipeline_id == pipeline_id,
                                          RegisteredModel.version == version)
    return read(store, lambda session: session.exec(query).first())


def model_in_stage(store: Store, pipeline_id: int, stage: str) -> RegisteredModel | None:
    """The pipeline's version in ``stage``: the one production version, else the newest in that stage."""
    check_stage(stage)
    return read(store, lambda session: next(iter(_in_stage(session, pipeline_id, stage)), None))


def registered_versions_of_run(store: Store, run_id: int) -> list[RegisteredModel]:
    """Where a run's models are registered (a run may be registered under several pipelines)."""
    query = select(RegisteredModel).where(RegisteredModel.run_id == run_id).order_by(col(RegisteredModel.id))
    return read(store, lambda session: list(session.exec(query)))


def _move(session: Session, model: RegisteredModel, stage: str, *, by: str, reason: str,
          rollback: bool = False) -> list[StageChange]:
    """Put ``model`` in ``stage``; into production, the current production version is archived first."""
    changes = []
    if stage == ModelStage.PRODUCTION:
        for current in _in_stage(session, model.pipeline_id, ModelStage.PRODUCTION.value):
            if current.id != model.id:
                changes.append(_record(session, current, ModelStage.ARCHIVED.value, from_stage=current.stage,
                                       by=by, reason=f"replaced by version {model.version}: {reason}",
                                       rollback=rollback))
                current.stage = ModelStage.ARCHIVED.value
                session.add(current)
        session.flush()  # the old production row leaves the partial unique index before the new one enters it
    changes.append(_record(session, model, stage, from_stage=model.stage, by=by, reason=reason, rollback=rollback))
    model.stage = stage
    session.add(model)
    session.flush()
    return changes


def set_model_stage(store: Store, pipeline_id: int, version: int, stage: str, *, by: str,
                    reason: str) -> list[StageChange]:
    """Move version ``version`` to ``stage`` in one transaction; returns the changes made (oldest first).

    Into ``production`` the current production version is archived in the same transaction. Moving a version to
    the stage it is already in is refused, so the history only holds real changes.
    """
    check_stage(stage)
    why = _reason(reason)

    def work(session: Session) -> list[StageChange]:
        _lock_pipeline(session, pipeline_id)
        model = session.exec(select(RegisteredModel).where(RegisteredModel.pipeline_id == pipeline_id,
                                                           RegisteredModel.version == version)).first()
        if model is None:
            raise StorageError(f"Model version {version} is not registered under this pipeline.")
        if model.stage == stage:
            raise StorageError(f"Model version {version} is already in {stage}.")
        return _move(session, model, stage, by=str(by), reason=why)

    return write(store, work, retry_conflicts=True)


def _previous_production(session: Session, current: RegisteredModel) -> RegisteredModel | None:
    """The version that was production just before ``current`` last became production."""
    query = select(StageChange).where(StageChange.pipeline_id == current.pipeline_id,
                                      StageChange.to_stage == ModelStage.PRODUCTION.value)
    promotions = list(session.exec(query.order_by(col(StageChange.id).desc())))
    seen_current = False
    for change in promotions:
        if change.registered_model_id == current.id:
            seen_current = True
        elif seen_current:
            return session.get(RegisteredModel, change.registered_model_id)
    return None


def rollback_target(store: Store, pipeline_id: int) -> RegisteredModel | None:
    """The version :func:`rollback_production` would put back now (``None`` when it would refuse)."""

    def work(session: Session) -> RegisteredModel | None:
        current = next(iter(_in_stage(session, pipeline_id, ModelStage.PRODUCTION.value)), None)
        return _previous_production(session, current) if current is not None else None

    return read(store, work)


def rollback_production(store: Store, pipeline_id: int, *, by: str, reason: str) -> RegisteredModel:
    """Put back into production the version that was production before the current one; returns it.

    The current production version is archived; both moves are recorded as one rollback. Refused with a
    plain message when there is no production version, or none was production before it.
    """
    why = _reason(reason)

    def work(session: Session) -> RegisteredModel:
        _lock_pipeline(session, pipeline_id)
        [current] = _in_stage(session, pipeline_id, ModelStage.PRODUCTION.value) or [None]
        if current is None:
            raise StorageError("No version is in production, so there is nothing to roll back.")
        previous = _previous_production(session, current)
        if previous is None:
            raise StorageError(f"Version {current.version} is the first version ever in production; there is no "
                               "earlier production version to go back to.")
        _move(session, previous, ModelStage.PRODUCTION.value, by=str(by), reason=f"rollback: {why}", rollback=True)
        return previous

    return write(store, work, retry_conflicts=True)


def list_stage_changes(store: Store, pipeline_id: int) -> list[StageChange]:
    """Every stage change of the pipeline's registry, newest first."""
    query = select(StageChange).where(StageChange.pipeline_id == pipeline_id)
    return read(store, lambda session: list(session.exec(query.order_by(col(StageChange.id).desc()))))

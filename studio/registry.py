"""The model registry's use cases: register a run's model under its pipeline, move versions between stages,
roll production back, read the history, and load the model a stage holds for scoring.

The Models page, the Train and Compare pages' "Register this model", the Predict page and ``python -m studio``
call these, so a rule (what may be registered, which version a stage serves) is written once. ``by`` names who
acted: a page passes its browser session's owner token (the one its training runs record), the CLI ``"cli"``.
Stage rules (one production, the old one archived, rollback) are storage's: see :mod:`storage.registry`.

A registry belongs to its pipeline's workspace. Every use case takes the :class:`~studio.roles.Actor`: reading and
loading a model to score take a viewer, registering and moving versions between other stages an editor, and anything
that changes what production holds (promote, archive the production version, roll back) an owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

import storage
from pipeline_core.artifacts.export import LoadedModel
from pipeline_core.definition import metrics as mt
from pipeline_core.definition.spec import load_spec
from pipeline_core.training.results import leaderboard_rows, run_summary
from storage import ModelStage, Pipeline, RegisteredModel, Run, StageChange, StorageError
from storage.registry import check_stage
from studio import pipelines
from studio.audit_log import EventKind, record
from studio.models import load_stored_model, run_artifact
from studio.roles import Action, Actor, NotFound, require
from studio.workspace import current_store

STAGES: tuple[str, ...] = storage.STAGES
PRODUCTION = ModelStage.PRODUCTION.value


class RegisteredMetrics(BaseModel):
    """What a version scored when it was registered: its cross-validated means and spreads and the hold-out."""

    model_config = ConfigDict(frozen=True)

    task: str | None = None
    metric: str | None = None  # the metric that ranked the run's models
    cv: dict[str, float | None] = Field(default_factory=dict)
    cv_std: dict[str, float | None] = Field(default_factory=dict)
    holdout: dict[str, float | None] = Field(default_factory=dict)

    def main(self) -> tuple[str, float] | None:
        """The ranking metric as people read it (losses positive), with its label; hold-out when CV is missing."""
        if self.metric is None:
            return None
        value = self.cv.get(self.metric)
        value = self.holdout.get(self.metric) if value is None else value
        if value is None:
            return None
        return mt.LABELS.get(self.metric, self.metric).replace(" (negated)", ""), mt.shown_value(self.metric, value)


@dataclass(frozen=True)
class ModelVersion:
    """One registered version with its lineage: which run, dataset, model file and definition version made it."""

    pipeline: str
    pipeline_id: int
    version: int
    stage: str
    model_name: str
    model_label: str
    artifact_id: int
    artifact_sha256: str
    run_id: int
    dataset_id: int | None
    dataset_name: str | None
    definition_version: int | None
    data_sha256: str | None
    metrics: RegisteredMetrics
    created_at: datetime
    created_by: str
    note: str


@dataclass(frozen=True)
class StageMove:
    """One entry of a registry's history: version ``version`` went from ``from_stage`` to ``to_stage``.

    ``from_stage`` is ``None`` when the entry is the registration itself.
    """

    version: int
    from_stage: str | None
    to_stage: str
    by: str
    why: str
    at: datetime
    rollback: bool


@dataclass(frozen=True)
class StageModel:
    """The model a stage holds, loaded and checked, with the registry entry it came from."""

    model: LoadedModel
    version: ModelVersion


# ---- reading --------------------------------------------------------------------------------------------------


def get_pipeline(actor: Actor, pipeline: str | int, action: Action = Action.READ) -> Pipeline:
    """A pipeline of the actor's workspace by name or id, once ``action`` is allowed; a one-line error naming it
    when there is none (or it is another workspace's: the same words)."""
    store = current_store()
    require(store, actor, action)
    row = storage.get_pipeline(store, pipeline, workspace_id=actor.workspace_id)
    if row is None or row.workspace_id != actor.workspace_id:
        what = f"named '{pipeline}'" if isinstance(pipeline, str) else str(pipeline)
        raise NotFound(f"There is no pipeline {what} in this workspace; save one on the Pipelines page first.")
    return row


def _version(row: RegisteredModel, pipeline: Pipeline) -> ModelVersion:
    store = current_store()
    artifact = storage.get_model_artifact(store, row.artifact_id)
    run = storage.get_run(store, row.run_id)
    dataset = storage.get_dataset(store, run.dataset_id) if run is not None and run.dataset_id is not None else None
    definition = storage.get_version_by_id(store, row.pipeline_version_id)
    label = next((r.label for r in leaderboard_rows(run) if r.model == artifact.model_name and r.label), None)
    return ModelVersion(
        pipeline=pipeline.name, pipeline_id=pipeline.id, version=row.version, stage=row.stage,
        model_name=artifact.model_name, model_label=label or artifact.model_name or "model",
        artifact_id=artifact.id, artifact_sha256=artifact.sha256, run_id=row.run_id,
        dataset_id=dataset.id if dataset else None, dataset_name=dataset.name if dataset else None,
        definition_version=definition.version if definition else None, data_sha256=row.data_sha256,
        metrics=RegisteredMetrics.model_validate(row.metrics), created_at=row.created_at,
        created_by=row.created_by, note=row.note,
    )


def list_model_versions(actor: Actor, pipeline: str | int) -> list[ModelVersion]:
    """The pipeline's registered versions, newest first, with metrics, data hash, definition version and lineage."""
    row = get_pipeline(actor, pipeline)
    return [_version(model, row) for model in storage.list_model_versions(current_store(), row.id)]


def model_version(actor: Actor, pipeline: str | int, version: int) -> ModelVersion:
    """Version ``version`` of the pipeline's registry; a one-line error naming the versions there are."""
    row = get_pipeline(actor, pipeline)
    model = storage.get_model_version(current_store(), row.id, int(version))
    if model is None:
        known = ", ".join(str(m.version) for m in reversed(storage.list_model_versions(current_store(), row.id)))
        raise StorageError(f"Pipeline '{row.name}' has no model version {version}; "
                           + (f"its versions are {known}." if known else "no model of it is registered yet."))
    return _version(model, row)


def _move(change: StageChange) -> StageMove:
    return StageMove(version=change.version, from_stage=change.from_stage, to_stage=change.to_stage,
                     by=change.changed_by, why=change.reason, at=change.changed_at, rollback=change.rollback)


def stage_history(actor: Actor, pipeline: str | int) -> list[StageMove]:
    """Every registration and stage change of the pipeline's registry, newest first."""
    return [_move(change) for change in storage.list_stage_changes(current_store(), get_pipeline(actor, pipeline).id)]


def model_in_stage(actor: Actor, pipeline: str | int, stage: str = PRODUCTION) -> ModelVersion | None:
    """The version ``stage`` holds (the one production version; else the newest in that stage), if any."""
    row = get_pipeline(actor, pipeline)
    model = storage.model_in_stage(current_store(), row.id, _stage(stage))
    return _version(model, row) if model is not None else None


def production_versions(actor: Actor) -> list[ModelVersion]:
    """Each of the workspace's pipelines' production version, for those that have one (alphabetical by pipeline)."""
    store = current_store()
    require(store, actor, Action.READ)
    found = (model_in_stage(actor, p.id) for p in storage.list_pipelines(store, workspace_id=actor.workspace_id))
    return [version for version in found if version is not None]


def production_model(actor: Actor, pipeline_name: str, stage: str = PRODUCTION) -> StageModel:
    """The model pipeline ``pipeline_name``'s ``stage`` holds, loaded (and checked) for scoring."""
    require(current_store(), actor, Action.SCORE)
    version = model_in_stage(actor, pipeline_name, stage)
    if version is None:
        raise StorageError(f"Pipeline '{pipeline_name}' has no model in {stage}; promote a registered version "
                           "on the Models page or with 'python -m studio models promote'.")
    return StageModel(model=load_stored_model(actor, version.artifact_id), version=version)


# ---- registering ----------------------------------------------------------------------------------------------


def _who(by: str) -> str:
    cleaned = " ".join(str(by or "").split())
    if not cleaned:
        raise StorageError("Say who is acting (a session or 'cli'): the registry records it.")
    return cleaned


def _stage(stage: str) -> str:
    return check_stage(str(stage).strip().lower())


def _finished_run(actor: Actor, run_id: int) -> tuple[Run, storage.ModelArtifact]:
    run = storage.get_run(current_store(), run_id)
    if run is None or run.workspace_id != actor.workspace_id:
        raise NotFound(f"Run #{run_id} does not exist in this workspace (it may have been deleted).")
    if run.status != storage.RunStatus.DONE:
        raise StorageError(f"Run #{run_id} is {run.status}, not done: only a finished run's model can be registered.")
    artifact = run_artifact(actor, run_id)
    if artifact is None:
        raise StorageError(f"Run #{run_id} finished without a saved model, so there is nothing to register.")
    return run, artifact


def _definition_version(actor: Actor, run: Run, artifact: storage.ModelArtifact, pipeline_name: str | None) -> int:
    """The saved definition version the run was trained from; an unlinked run's is saved under ``pipeline_name``."""
    if run.pipeline_version_id is not None:
        version = storage.get_version_by_id(current_store(), run.pipeline_version_id)
        linked = storage.get_pipeline(current_store(), version.pipeline_id)
        if pipeline_name and pipeline_name.strip() != linked.name:
            raise StorageError(f"Run #{run.id} was trained from pipeline '{linked.name}' (version {version.version}),"
                               f" so its model registers under '{linked.name}', not '{pipeline_name.strip()}'.")
        return version.id
    if not (pipeline_name or "").strip():
        raise StorageError(f"Run #{run.id} was not trained from a saved pipeline: name the pipeline to register "
                           "its model under (its definition is saved there as a new version).")
    definition = load_stored_model(actor, artifact).metadata.get("definition")
    if not definition:
        raise StorageError(f"Run #{run.id}'s model does not record the definition it was trained from, so it "
                           "cannot be registered under a pipeline; retrain it from the Train page.")
    saved = pipelines.save_version(actor, load_spec(definition), name=pipeline_name, trained_run_id=run.id,
                                   note=f"saved to register the model of run #{run.id}")
    return saved.id


def registered_metrics(run: Run, model_name: str) -> RegisteredMetrics:
    """What a run's model scored, as its registry entry keeps it (CV means and spreads, hold-out)."""
    summary = run_summary(run)
    row = next((r for r in leaderboard_rows(run) if r.model == model_name), None)
    return RegisteredMetrics(task=summary.task, metric=summary.metric, holdout=summary.holdout,
                             cv=row.metrics if row else {}, cv_std=row.metrics_std if row else {})


def register_model(actor: Actor, run_id: int, *, pipeline_name: str | None = None, by: str,
                   note: str = "") -> ModelVersion:
    """Register a finished run's saved model as its pipeline's next model version (stage ``none``).

    A run trained from a saved pipeline version registers under that pipeline (``pipeline_name`` may repeat it);
    a run that was never saved needs ``pipeline_name``, and its definition, read from the model itself, is
    saved there first as a version, which the run is linked to. A run not done, without a model, or already
    registered under the pipeline is refused in one line.
    """
    who = _who(by)
    require(current_store(), actor, Action.SAVE)
    run, artifact = _finished_run(actor, run_id)
    definition_id = _definition_version(actor, run, artifact, pipeline_name)
    pipeline_id = storage.get_version_by_id(current_store(), definition_id).pipeline_id
    summary = run_summary(run)
    dataset = storage.get_dataset(current_store(), run.dataset_id) if run.dataset_id is not None else None
    data_sha = dataset.sha256 if dataset else summary.provenance.data_sha256 or summary.provenance.frame_sha256
    model = storage.register_model_version(
        current_store(), pipeline_id=pipeline_id, artifact_id=artifact.id, pipeline_version_id=definition_id,
        data_sha256=data_sha, metrics=registered_metrics(run, artifact.model_name).model_dump(mode="json"),
        created_by=who, note=" ".join(note.split()),
    )
    registered = _version(model, get_pipeline(actor, pipeline_id))
    record(current_store(), actor, EventKind.SAVE, f"pipeline '{registered.pipeline}' version {registered.version}",
           f"registered run #{run_id}'s model ({registered.model_label})")
    return registered


def registrations_of(actor: Actor, run_id: int) -> list[ModelVersion]:
    """Where a run's model is registered already (a page offers "Register" only when it is not)."""
    found = storage.registered_versions_of_run(current_store(), run_id)
    return [_version(model, get_pipeline(actor, model.pipeline_id)) for model in found]


def registrable_runs(actor: Actor) -> list[Run]:
    """The workspace's finished runs with a saved model, newest first: what the Models page offers to register."""
    store = current_store()
    require(store, actor, Action.READ)
    return [run for run in storage.list_runs(store, status=storage.RunStatus.DONE.value,
                                             workspace_id=actor.workspace_id)
            if run_artifact(actor, run.id) is not None]


def linked_pipeline(actor: Actor, run: Run) -> str | None:
    """The name of the pipeline a run was trained from, when it was trained from a saved version."""
    require(current_store(), actor, Action.READ)
    if run.pipeline_version_id is None or run.workspace_id != actor.workspace_id:
        return None
    version = storage.get_version_by_id(current_store(), run.pipeline_version_id)
    pipeline = storage.get_pipeline(current_store(), version.pipeline_id) if version else None
    return pipeline.name if pipeline else None


# ---- stages ---------------------------------------------------------------------------------------------------


def set_stage(actor: Actor, pipeline: str | int, version: int, stage: str, *, by: str, why: str) -> list[StageMove]:
    """Move a version to ``stage`` (into production, the old production version is archived in the same step).

    Into production, or the production version out of it, takes an owner; other moves an editor."""
    row = get_pipeline(actor, pipeline)
    current = storage.get_model_version(current_store(), row.id, int(version))
    production = _stage(stage) == PRODUCTION or (current is not None and current.stage == PRODUCTION)
    require(current_store(), actor, Action.PROMOTE if production else Action.SAVE)
    changes = storage.set_model_stage(current_store(), row.id, int(version), _stage(stage), by=_who(by), reason=why)
    moves = [_move(change) for change in changes]
    record(current_store(), actor, EventKind.STAGE_CHANGE, f"pipeline '{row.name}'",
           "; ".join(f"version {m.version}: {m.from_stage or '-'} -> {m.to_stage}" for m in moves) + f" ({why})")
    return moves


def rollback(actor: Actor, pipeline: str | int, *, by: str, why: str) -> ModelVersion:
    """Put back in production the version that was production before the current one (owners); returns it."""
    row = get_pipeline(actor, pipeline, Action.PROMOTE)
    back = _version(storage.rollback_production(current_store(), row.id, by=_who(by), reason=why), row)
    record(current_store(), actor, EventKind.STAGE_CHANGE, f"pipeline '{row.name}'",
           f"rollback: version {back.version} is in production again ({why})")
    return back


def rollback_target(actor: Actor, pipeline: str | int) -> ModelVersion | None:
    """The version :func:`rollback` would put back in production now, so a page can name it before the click."""
    row = get_pipeline(actor, pipeline)
    model = storage.rollback_target(current_store(), row.id)
    return _version(model, row) if model is not None else None

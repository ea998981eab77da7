"""Pipelines: save a definition as a version, open, diff, export and import pipeline histories.

Each use case takes the :class:`~studio.roles.Actor`: saving and importing take an editor, deleting an owner,
reading a viewer; a pipeline of another workspace is "not found"."""

from __future__ import annotations

import json
from typing import Any

import storage
from pipeline_core.definition.spec import DataSource, PipelineSpec, load_spec
from pipeline_core.json_data import parse_json_document
from pipeline_core.training.results import run_summary
from storage import Pipeline, PipelineVersion, StorageError
from studio.audit_log import EventKind, record
from studio.roles import Action, Actor, NotFound, require
from studio.workspace import current_store

MAX_IMPORT_BYTES = 5 * 2**20


def save_version(actor: Actor, spec: PipelineSpec, *, name: str, note: str = "", trained_run_id: int | None = None,
                 dataset_id: int | None = None) -> PipelineVersion:
    """Save ``spec`` under ``name`` as the pipeline's next version (or its first).

    ``trained_run_id`` is the run trained in this session before saving: when it came from this very
    definition, the run (and its model) is linked to the version, so it can still be exported later.
    ``dataset_id`` is the data the pipeline is being built on: a definition that does not name its data
    yet is saved naming that dataset's file, format and hash, so a version always says what it was built on.
    """
    require(current_store(), actor, Action.SAVE)
    if not name.strip():
        raise StorageError("Give the pipeline a name before saving.")
    named = spec.model_copy(update={"name": name.strip(), "data": _data_source(actor, spec, dataset_id)})
    version = storage.save_pipeline_version(current_store(), name=named.name, definition=named.to_dict(),
                                            note=note.strip(), workspace_id=actor.workspace_id)
    if trained_run_id is not None:
        _link_trained_run(actor, trained_run_id, spec, version.id)
    record(current_store(), actor, EventKind.SAVE, f"pipeline '{named.name}'", f"version {version.version}")
    return version


def _data_source(actor: Actor, spec: PipelineSpec, dataset_id: int | None) -> DataSource:
    if spec.data.sha256 or dataset_id is None:
        return spec.data
    dataset = storage.get_dataset(current_store(), dataset_id)
    if dataset is None or dataset.workspace_id != actor.workspace_id:
        return spec.data
    return DataSource(file_name=dataset.file_name, sha256=dataset.sha256, format=dataset.format)


def _link_trained_run(actor: Actor, run_id: int, trained: PipelineSpec, version_id: int) -> None:
    run = storage.get_run(current_store(), run_id)
    if run is None or run.workspace_id != actor.workspace_id:
        return
    if run.pipeline_version_id is not None or run.status != storage.RunStatus.DONE:
        return
    if run_summary(run).provenance.definition_sha256 == trained.content_hash():
        storage.link_run_to_version(current_store(), run.id, pipeline_version_id=version_id)


def version_spec(version: PipelineVersion) -> PipelineSpec:
    """The definition a version holds, migrated to the current format (``SpecError`` if it cannot be)."""
    return load_spec(version.definition)


def saved_version_id(actor: Actor, spec: PipelineSpec, pipeline_id: int | None, number: int | None) -> int | None:
    """The id of version ``number`` of the pipeline when it holds exactly ``spec`` (so a run links to it)."""
    if pipeline_id is None or number is None:
        return None
    pipeline_of(actor, pipeline_id)
    version = storage.get_version(current_store(), pipeline_id, version=number)
    if version is None or version_spec(version).content_hash() != spec.content_hash():
        return None
    return version.id


def pipeline_of(actor: Actor, pipeline_id: int, action: Action = Action.READ) -> Pipeline:
    """The actor's workspace's pipeline ``pipeline_id``, once ``action`` is allowed; :class:`NotFound` for a pipeline
    that does not exist or is another workspace's (an id in an address reveals nothing)."""
    store = current_store()
    require(store, actor, action)
    row = storage.get_pipeline(store, pipeline_id)
    if row is None or row.workspace_id != actor.workspace_id:
        raise NotFound(f"pipeline {pipeline_id} was not found in this workspace (it may have been deleted)")
    return row


def export_history(actor: Actor, pipeline_id: int) -> str:
    """Every version of a pipeline as one JSON document another studio can import."""
    pipeline_of(actor, pipeline_id)
    return json.dumps(storage.export_pipeline(current_store(), pipeline_id), indent=2)


def import_file(actor: Actor, data: bytes, file_name: str) -> Pipeline:
    """Import a pipeline export (all its versions) or a single definition, checking every definition first.

    A single definition becomes a new pipeline under a free name: it never merges into an existing history.
    """
    require(current_store(), actor, Action.SAVE)
    document = _parse_json(data, file_name)
    if isinstance(document, dict) and "format" in document:
        for version in document.get("versions") or []:
            if isinstance(version, dict):
                load_spec(version.get("definition") or {})  # refuse definitions this app cannot open
        imported = storage.import_pipeline(current_store(), document, workspace_id=actor.workspace_id)
    else:
        spec = load_spec(document)
        version = storage.save_pipeline_version(current_store(), name=_free_name(actor, spec.name),
                                                definition=spec.to_dict(), note=f"imported from {file_name}",
                                                workspace_id=actor.workspace_id)
        imported = storage.get_pipeline(current_store(), version.pipeline_id)
    record(current_store(), actor, EventKind.SAVE, f"pipeline '{imported.name}'", f"imported from {file_name}")
    return imported


def _parse_json(data: bytes, file_name: str) -> Any:
    return parse_json_document(data, what=f"'{file_name}'", max_bytes=MAX_IMPORT_BYTES)


def _free_name(actor: Actor, name: str) -> str:
    taken = {p.name for p in storage.list_pipelines(current_store(), workspace_id=actor.workspace_id)}
    candidates = [name] + [f"{name} ({n})" for n in range(2, 1000)]
    return next(c for c in candidates if c not in taken)


def list_pipelines(actor: Actor) -> list[Pipeline]:
    """The actor's workspace's pipelines, by name."""
    store = current_store()
    require(store, actor, Action.READ)
    return storage.list_pipelines(store, workspace_id=actor.workspace_id)


def list_versions(actor: Actor, pipeline_id: int) -> list[PipelineVersion]:
    pipeline_of(actor, pipeline_id)
    return storage.list_versions(current_store(), pipeline_id)


def get_version(actor: Actor, version_id: int) -> PipelineVersion | None:
    """The version, or ``None`` when it does not exist or is another workspace's."""
    store = current_store()
    require(store, actor, Action.READ)
    version = storage.get_version_by_id(store, version_id)
    if version is None:
        return None
    pipeline = storage.get_pipeline(store, version.pipeline_id)
    return version if pipeline is not None and pipeline.workspace_id == actor.workspace_id else None


def diff(old: PipelineVersion, new: PipelineVersion) -> list[str]:
    """What changed between two versions, one plain line per change."""
    return storage.diff_versions(old, new)


def delete_pipeline(actor: Actor, pipeline_id: int) -> None:
    """Delete a pipeline and its versions (owners only); runs and models stay in the run history, detached."""
    pipeline = pipeline_of(actor, pipeline_id, Action.DELETE)
    storage.delete_pipeline(current_store(), pipeline_id)
    record(current_store(), actor, EventKind.DELETE, f"pipeline #{pipeline_id} '{pipeline.name}'",
           "with its versions and registry")

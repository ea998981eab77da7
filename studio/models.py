"""Model files: load a stored model, export it in another format, import a model file made elsewhere.

A model file belongs to its run's workspace: every use case takes the :class:`~studio.roles.Actor`, reading and
exporting take a viewer, importing an editor, and another workspace's model is "not found".

Stored models are always loaded as skops, whatever format their row claims: a pickle or joblib file
is refused before a byte of it is unpickled, and an uploaded model must hold only trusted types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

import pandas as pd

import storage
from pipeline_core.artifacts import codegen, export, mlflow_export
from pipeline_core.artifacts.export import LoadedModel
from pipeline_core.artifacts.predict import required_features
from pipeline_core.errors import DataError, ModelError
from storage import ModelArtifact, Run, RunStatus, StorageError
from studio.audit_log import EventKind, record
from studio.datasets import load_table, preview_rows
from studio.limits import check_can_store
from studio.roles import Action, Actor, NotFound, require
from studio.settings import settings
from studio.workspace import current_store, open_store

ExportFormat = Literal["skops", "joblib", "onnx", "python", "bundle", "mlflow"]
EXPORT_EXTENSIONS: dict[ExportFormat, str] = {"skops": "skops", "joblib": "joblib", "onnx": "onnx", "python": "py",
                                              "bundle": "zip", "mlflow": "mlflow.zip"}
MLFLOW_MISSING = mlflow_export.MISSING_MLFLOW
ONNX_CHECK_ROWS = 200

Loader = Callable[[ModelArtifact], LoadedModel]


def load_stored_model(actor: Actor, artifact: ModelArtifact | int) -> LoadedModel:
    """A stored model, checked (archive, trusted types, scikit-learn version) before anything is built."""
    row = get_artifact(actor, artifact if isinstance(artifact, int) else artifact.id)
    return export.load_model(storage.load_model_bytes(current_store(), row), "skops")


def loader(actor: Actor) -> Loader:
    """:func:`load_stored_model` for ``actor``, in the shape the ``load_model=`` parameters take."""
    return lambda artifact: load_stored_model(actor, artifact)


def _run_in_workspace(actor: Actor, run_id: int) -> None:
    store = current_store()
    require(store, actor, Action.READ)
    run = storage.get_run(store, run_id)
    if run is None or run.workspace_id != actor.workspace_id:
        raise NotFound(f"run #{run_id} was not found in this workspace (it may have been deleted)")


def get_artifact(actor: Actor, artifact_id: int) -> ModelArtifact:
    """A stored model's row; "not found" when it was deleted or is another workspace's."""
    row = storage.get_model_artifact(current_store(), artifact_id)
    if row is None:
        raise NotFound(f"model {artifact_id} was not found in this workspace (it may have been deleted)")
    _run_in_workspace(actor, row.run_id)
    return row


def run_artifact(actor: Actor, run_id: int) -> ModelArtifact | None:
    """The run's saved model (the best one, saved when the run finished), if any."""
    _run_in_workspace(actor, run_id)
    artifacts = storage.list_model_artifacts(current_store(), run_id=run_id)
    return artifacts[0] if artifacts else None


def holdout_artifact(actor: Actor, run_id: int) -> ModelArtifact | None:
    """The model the run's hold-out rows scored: kept apart when the saved model was refitted on every row
    (issue 20 point 4), else the saved model itself. Every hold-out chart, score and audit reads this one."""
    _run_in_workspace(actor, run_id)
    kept = storage.list_model_artifacts(current_store(), run_id=run_id, role=storage.ArtifactRole.HOLDOUT.value)
    return kept[0] if kept else run_artifact(actor, run_id)


def model_choices(actor: Actor) -> dict[int, tuple[Run, ModelArtifact]]:
    """Artifact id -> (run, artifact) for every finished run of the workspace with a saved model, newest first."""
    store = current_store()
    require(store, actor, Action.READ)
    runs = storage.list_runs(store, status=RunStatus.DONE.value, workspace_id=actor.workspace_id)
    return {artifact.id: (run, artifact) for run in runs
            for artifact in storage.list_model_artifacts(store, run_id=run.id)}


def export_model(actor: Actor, artifact: ModelArtifact, fmt: ExportFormat, load: Loader | None = None) -> bytes:
    """The model as a file in ``fmt``. An ONNX graph is first checked against the model's own predictions on
    a few of its training rows; a Python script retrains the winning configuration with plain scikit-learn;
    a bundle takes its example rows and drift reference from the whole training table, an MLflow model (a zip
    of its directory) its signature and input example."""
    artifact = get_artifact(actor, artifact.id)
    if fmt == artifact.format:
        return storage.load_model_bytes(current_store(), artifact)
    loaded = (load or loader(actor))(artifact)
    if fmt == "onnx":
        return export.to_onnx(loaded.pipeline, _training_rows(actor, artifact.run_id))
    if fmt == "python":
        return codegen.script_from_metadata(loaded.metadata).encode()
    if fmt == "bundle":
        return export.dump_bundle(loaded.pipeline, loaded.metadata, _training_table(actor, artifact))
    if fmt == "mlflow":
        return mlflow_export.dump_mlflow_zip(loaded.pipeline, loaded.metadata, _training_table(actor, artifact))
    return export.dump_model(loaded.pipeline, fmt, loaded.metadata)


@dataclass(frozen=True)
class OnnxPlan:
    """What an ONNX export of a model would be, known before anyone asks for the file."""

    blocked: list[str]  # one line per step that cannot convert: where it is, its class, why
    inputs: str  # Markdown: one graph input per column, its ONNX type, what a value means, an example feed
    checked: bool = True  # whether the export is checked against the model on its training rows (still here)


def onnx_plan(actor: Actor, artifact: ModelArtifact, load: Loader | None = None) -> OnnxPlan:
    """Which steps stop an ONNX export of ``artifact`` and, when none does, what the graph takes.

    Examples in the input description come from the run's training rows when the dataset is still there.
    """
    artifact = get_artifact(actor, artifact.id)
    pipeline = (load or loader(actor))(artifact).pipeline
    try:
        blocked = [f"{path} ({cls}): {why}" for path, cls, why in export.unconvertible_steps(pipeline)]
        if blocked:
            return OnnxPlan(blocked, "")
        rows = _training_rows(actor, artifact.run_id)
        try:
            inputs = export.onnx_inputs(pipeline, rows)
        except DataError:  # the stored rows no longer fit the model: describe without examples from them
            inputs = export.onnx_inputs(pipeline)
    except (AttributeError, TypeError, IndexError) as e:  # not a pipeline trained here (an imported file)
        raise ModelError("ONNX export needs a pipeline trained by Pipeline Studio (its first step prepares "
                         "columns)") from e
    return OnnxPlan([], export.describe_onnx_inputs(inputs), checked=rows is not None)


def _training_rows(actor: Actor, run_id: int | None) -> pd.DataFrame | None:
    run = storage.get_run(current_store(), run_id) if run_id is not None else None
    if run is None or run.dataset_id is None or storage.get_dataset(current_store(), run.dataset_id) is None:
        return None
    return preview_rows(actor, run.dataset_id, ONNX_CHECK_ROWS)


def mlflow_export_available() -> bool:
    """Whether the optional MLflow dependency is installed, so the MLflow export can be offered."""
    return mlflow_export.mlflow_available()


def _training_table(actor: Actor, artifact: ModelArtifact) -> pd.DataFrame:
    """The table the model's run trained on; a bundle or an MLflow model cannot be made without it."""
    run = storage.get_run(current_store(), artifact.run_id) if artifact.run_id is not None else None
    if run is None:
        raise StorageError("A bundle or MLflow export needs the data the model was trained on, and this model has "
                           "no training run here (it was imported); export it as skops instead.")
    if run.dataset_id is None or storage.get_dataset(current_store(), run.dataset_id) is None:
        raise StorageError("A bundle or MLflow export needs the data the model was trained on, and that dataset "
                           "was deleted; export it as skops instead.")
    return load_table(actor, run.dataset_id)


def import_model_file(actor: Actor, data: bytes, file_name: str) -> ModelArtifact:
    """Check an uploaded model (skops only, trusted types only, same scikit-learn, says which columns it
    reads) and store it in the actor's workspace under the name training gave it, else the file's name."""
    config = settings()
    store = open_store(config)
    require(store, actor, Action.UPLOAD)
    max_bytes = check_can_store(store, actor, config)
    loaded = export.load_model(data, "skops", name=file_name)
    required_features(loaded.pipeline, loaded.metadata)
    name = str(loaded.metadata.get("model") or PurePath(file_name).stem or "imported model")
    artifact = storage.save_imported_model(store, data=data, fmt="skops", model_name=name, source_name=file_name,
                                           workspace_id=actor.workspace_id, owner_id=actor.user_id,
                                           max_owner_bytes=max_bytes)
    record(store, actor, EventKind.UPLOAD, f"model file #{artifact.id} '{name}'", f"imported from {file_name}")
    return artifact

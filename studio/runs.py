"""Runs: list and open them, and rebuild what a finished run was trained on (for hold-out charts)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

import storage
from pipeline_core.artifacts.export import LoadedModel
from pipeline_core.definition.spec import PipelineSpec, load_spec
from pipeline_core.training.results import leaderboard_rows
from storage import Dataset, ModelArtifact, Run, StorageError
from storage import RunStatus as RunStatus  # re-exported: pages take run statuses from here, never from storage
from studio.datasets import load_table
from studio.models import holdout_artifact, load_stored_model
from studio.workspace import current_store


@dataclass(frozen=True)
class RunInputs:
    """A finished run's model, the definition it records and the table it was trained on."""

    model: LoadedModel
    spec: PipelineSpec
    frame: pd.DataFrame


def get_run(run_id: int) -> Run | None:
    return storage.get_run(current_store(), run_id)


def list_runs(*, pipeline_id: int | None = None, dataset_id: int | None = None,
              status: str | None = None) -> list[Run]:
    return storage.list_runs(current_store(), pipeline_id=pipeline_id, dataset_id=dataset_id, status=status)


def best_model_label(run: Run) -> str:
    """How people call the run's best model (its label, else its registry name); "" before any model scored."""
    rows = leaderboard_rows(run)
    return (rows[0].label or rows[0].model) if rows else ""


def model_label(run: Run, model_name: str) -> str | None:
    """The label the run's leaderboard gives ``model_name``, if it scored that model."""
    return next((row.label or row.model for row in leaderboard_rows(run) if row.model == model_name), None)


def run_inputs(run_id: int, *, load_model: Callable[[ModelArtifact], LoadedModel] = load_stored_model,
               load_frame: Callable[[Dataset], pd.DataFrame] = load_table) -> RunInputs:
    """The model the run's hold-out rows scored (``holdout_artifact``), its definition and training data; a plain
    error if any of them is gone.

    The loaders default to reading the store; a page passes its cached ones.
    """
    run = storage.get_run(current_store(), run_id)
    if run is None:
        raise StorageError(f"Run #{run_id} no longer exists.")
    artifact = holdout_artifact(run_id)  # never a model refitted on the hold-out rows
    if artifact is None:
        raise StorageError(f"Run #{run_id} has no saved model, so its hold-out charts cannot be drawn.")
    loaded = load_model(artifact)
    definition = loaded.metadata.get("definition")
    if not definition:
        raise StorageError(f"Run #{run_id}'s model does not record its definition; retrain to get charts.")
    dataset = storage.get_dataset(current_store(), run.dataset_id) if run.dataset_id is not None else None
    if dataset is None:
        raise StorageError(f"Run #{run_id}'s dataset was deleted, so its hold-out rows cannot be rebuilt.")
    return RunInputs(loaded, load_spec(definition), load_frame(dataset))

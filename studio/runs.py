"""Runs: list and open them, and rebuild what a finished run was trained on (for hold-out charts).

Reading takes a viewer of the actor's workspace (:class:`~studio.roles.Actor`); another workspace's run is
"not found"."""

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
from studio.models import holdout_artifact, loader
from studio.roles import Action, Actor, NotFound, require
from studio.workspace import current_store


@dataclass(frozen=True)
class RunInputs:
    """A finished run's model, the definition it records and the table it was trained on."""

    model: LoadedModel
    spec: PipelineSpec
    frame: pd.DataFrame


def get_run(actor: Actor, run_id: int) -> Run | None:
    """The run, or ``None`` when it does not exist or is another workspace's (``?run=`` in an address)."""
    store = current_store()
    require(store, actor, Action.READ)
    run = storage.get_run(store, run_id)
    return run if run is not None and run.workspace_id == actor.workspace_id else None


def run_of(actor: Actor, run_id: int) -> Run:
    """:func:`get_run`, or :class:`NotFound` in the words of a run that does not exist."""
    run = get_run(actor, run_id)
    if run is None:
        raise NotFound(f"run #{run_id} was not found in this workspace (it may have been deleted)")
    return run


def list_runs(actor: Actor, *, pipeline_id: int | None = None, dataset_id: int | None = None,
              status: str | None = None) -> list[Run]:
    """The actor's workspace's runs, newest first."""
    store = current_store()
    require(store, actor, Action.READ)
    return storage.list_runs(store, pipeline_id=pipeline_id, dataset_id=dataset_id, status=status,
                             workspace_id=actor.workspace_id)


def best_model_label(run: Run) -> str:
    """How people call the run's best model (its label, else its registry name); "" before any model scored."""
    rows = leaderboard_rows(run)
    return (rows[0].label or rows[0].model) if rows else ""


def model_label(run: Run, model_name: str) -> str | None:
    """The label the run's leaderboard gives ``model_name``, if it scored that model."""
    return next((row.label or row.model for row in leaderboard_rows(run) if row.model == model_name), None)


def run_inputs(actor: Actor, run_id: int, *,
               load_model: Callable[[ModelArtifact], LoadedModel] | None = None,
               load_frame: Callable[[Dataset], pd.DataFrame] | None = None) -> RunInputs:
    """The model the run's hold-out rows scored (``holdout_artifact``), its definition and training data; a plain
    error if any of them is gone.

    The loaders default to reading the store; a page passes its cached ones.
    """
    run = run_of(actor, run_id)
    artifact = holdout_artifact(actor, run_id)  # never a model refitted on the hold-out rows
    if artifact is None:
        raise StorageError(f"Run #{run_id} has no saved model, so its hold-out charts cannot be drawn.")
    loaded = (load_model or loader(actor))(artifact)
    definition = loaded.metadata.get("definition")
    if not definition:
        raise StorageError(f"Run #{run_id}'s model does not record its definition; retrain to get charts.")
    dataset = storage.get_dataset(current_store(), run.dataset_id) if run.dataset_id is not None else None
    if dataset is None:
        raise StorageError(f"Run #{run_id}'s dataset was deleted, so its hold-out rows cannot be rebuilt.")
    frame = load_frame(dataset) if load_frame is not None else load_table(actor, dataset)
    return RunInputs(loaded, load_spec(definition), frame)

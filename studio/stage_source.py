"""The model a registry stage holds, for a scoring service that follows promotions without a restart.

``python -m studio serve --pipeline NAME --stage production`` hands the service a :class:`StageSource`: the
service asks :meth:`StageSource.version` every few seconds (one indexed query for the stage's version number) and,
when a promotion or rollback moved it, :meth:`StageSource.load` loads the new version (file read and hash-checked)
with a prediction log that records its rows under that version. The swap itself is the core's
(:mod:`pipeline_core.serving.reload`): in-flight requests finish on the old model.
"""

from __future__ import annotations

from dataclasses import dataclass

import storage
from pipeline_core.serving.reload import Replacement
from pipeline_core.serving.schema import ModelIdentity, model_identity
from studio import prediction_log, registry
from studio.roles import Actor
from studio.settings import Settings, settings
from studio.workspace import open_store


@dataclass(frozen=True)
class StageSource:
    """A pipeline's stage, read from the store of ``config`` (the settings in force when the service started)."""

    actor: Actor
    pipeline: str
    stage: str
    config: Settings

    def version(self) -> str | None:
        """The stage's version now; None (keep serving) when the stage is empty or the pipeline was deleted."""
        store = open_store(self.config)
        row = storage.get_pipeline(store, self.pipeline, workspace_id=self.actor.workspace_id)
        model = storage.model_in_stage(store, row.id, self.stage) if row is not None else None
        return str(model.version) if model is not None else None

    def load(self) -> Replacement:
        staged = registry.production_model(self.actor, self.pipeline, self.stage)
        version = staged.version
        writer = prediction_log.start_writer(prediction_log.LogTarget(
            source="service", model_sha256=version.artifact_sha256, pipeline_id=version.pipeline_id,
            version=version.version), config=self.config)
        return Replacement(model=staged.model, identity=identity_of(staged), prediction_log=writer)


def identity_of(staged: registry.StageModel) -> ModelIdentity:
    """How a service names a registry model: the pipeline, the registry version, the model file's hash."""
    version = staged.version
    return model_identity(staged.model, sha256=version.artifact_sha256, name=version.pipeline,
                          version=str(version.version))


def following(actor: Actor, pipeline: str, stage: str) -> StageSource:
    """The source of a service started now: the settings are read once, as for the rest of the service."""
    return StageSource(actor=actor, pipeline=pipeline, stage=stage, config=settings())

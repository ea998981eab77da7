"""Fixtures for the hostile-input tests: a fresh studio per test, real files, a stored trained model.

``studio`` (``tests/conftest.py``) points ``PIPELINE_STUDIO_HOME`` at ``tmp_path`` (so a fresh SQLite
database and file store) and resets the storage engines around the test. ``trained`` stores a small iris model the
way a finished training run leaves it (a run, its skops artifact, its leaderboard), trained in
this process so the tests depend on neither the job runner nor a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import storage
from pipeline_core.artifacts.export import build_metadata, dump_model
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.io.samples import load_sample
from pipeline_core.training.train import train
from storage import Store
from tests.apptest import REPO, TIMEOUT, open_page, store_frame, texts  # noqa: F401 - shared helpers

HOSTILE = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(2)</script>"








def iris_rows(n: int = 30) -> pd.DataFrame:
    return load_sample("iris").drop(columns="target").sample(n, random_state=1).reset_index(drop=True)


@dataclass
class Trained:
    run: storage.Run
    artifact: storage.ModelArtifact
    skops: bytes


def train_and_store(store: Store, frame: pd.DataFrame, target: str, dataset_id: int | None) -> Trained:
    spec = PipelineSpec(target=target, models=[{"kind": "logistic_regression"}],
                        evaluation={"cv_folds": 3, "holdout": 0.25})
    spec = spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})
    result = train(spec, frame, n_jobs=1)
    data = dump_model(result.pipeline, "skops", build_metadata(result, frame))
    run = storage.create_run(store, dataset_id=dataset_id)
    artifact = storage.save_model_artifact(store, run_id=run.id, data=data, fmt="skops", model_name=result.best.model)
    storage.finish_run(store, run.id, status="done", leaderboard=result.leaderboard_records())
    return Trained(storage.get_run(store, run.id), artifact, data)


@pytest.fixture
def trained(store, studio: Path) -> Trained:
    frame = load_sample("iris")
    return train_and_store(store, frame, "target", store_frame(store, frame, "iris"))

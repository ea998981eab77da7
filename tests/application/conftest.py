"""Fixtures the application tests share: a studio holding a registered pipeline, and new rows to score."""

from __future__ import annotations

from pathlib import Path

import pytest

import storage
from pipeline_core.io.samples import load_sample
from studio import registry
from tests.apptest import store_frame
from tests.pages.test_compare_page import fast_spec, train_now


@pytest.fixture
def iris_studio(store, studio_home) -> dict[int, int]:
    """Pipeline 'iris' with two registered versions, version 1 in production; version -> artifact id."""
    dataset_id = store_frame(store, load_sample("iris"), "iris")
    artifacts = {}
    for seed in (1, 2):
        spec = fast_spec(seed=seed).model_copy(update={"name": "iris"})
        version = storage.save_pipeline_version(store, name="iris", definition=spec.to_dict())
        run = train_now(store, dataset_id, spec, pipeline_version_id=version.id)
        registered = registry.register_model(run.id, by="cli")
        artifacts[registered.version] = registered.artifact_id
    registry.set_stage("iris", 1, "production", by="cli", why="baseline")
    return artifacts


@pytest.fixture
def new_rows(tmp_path: Path) -> Path:
    path = tmp_path / "new rows.csv"
    load_sample("iris").drop(columns="target").sample(40, random_state=3).to_csv(path, index=False)
    return path

"""Fixtures the application tests share: a studio holding a registered pipeline, and new rows to score."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import storage
from pipeline_core.io.samples import load_sample
from studio import registry
from studio.roles import Actor
from tests.apptest import store_frame
from tests.pages.test_compare_page import fast_spec, train_now

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace


@pytest.fixture
def iris_studio(store, studio_home) -> dict[int, int]:
    """Pipeline 'iris' with two registered versions, version 1 in production; version -> artifact id."""
    dataset_id = store_frame(store, load_sample("iris"), "iris")
    artifacts = {}
    for seed in (1, 2):
        spec = fast_spec(seed=seed).model_copy(update={"name": "iris"})
        version = storage.save_pipeline_version(store, name="iris", definition=spec.to_dict())
        run = train_now(store, dataset_id, spec, pipeline_version_id=version.id)
        registered = registry.register_model(LOCAL, run.id, by="cli")
        artifacts[registered.version] = registered.artifact_id
    registry.set_stage(LOCAL, "iris", 1, "production", by="cli", why="baseline")
    return artifacts


@pytest.fixture
def new_rows(tmp_path: Path) -> Path:
    path = tmp_path / "new rows.csv"
    load_sample("iris").drop(columns="target").sample(40, random_state=3).to_csv(path, index=False)
    return path


def log_iris_traffic(store) -> str:
    """Two buckets of logged iris rows scored by version 1 of 'iris' (every one predicted 'setosa'), with their
    outcomes: 5 hours ago like training, 2 hours ago with petal length moved by 3 cm. Returns the pipeline name."""
    pipeline_id = storage.get_pipeline(store, "iris").id
    iris = load_sample("iris")
    now = datetime.now(UTC)
    for hours_ago, shift, request in ((5, 0.0, "steady"), (2, 3.0, "moved")):
        rows = iris.sample(80, random_state=hours_ago)
        inputs = rows.drop(columns="target")
        inputs["petal length (cm)"] += shift
        storage.append_predictions(store, [
            {"logged_at": now - timedelta(hours=hours_ago), "request_id": request, "row_id": i, "inputs": r,
             "prediction": "setosa", "latency_ms": 5.0} for i, r in enumerate(inputs.to_dict(orient="records"))],
            source="service", pipeline_id=pipeline_id, model_version=1, model_sha256="ab")
        storage.save_ground_truth(store, [(request, i, t) for i, t in enumerate(rows["target"])])
    return "iris"


@pytest.fixture
def watched(store, iris_studio) -> str:
    """Pipeline 'iris' with :func:`log_iris_traffic`'s two buckets of logged traffic."""
    return log_iris_traffic(store)

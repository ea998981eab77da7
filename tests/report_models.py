"""Registered models for the model report's tests: a classifier (tuned) and a regressor, really fitted on a small
customer table whose ``segment`` column has a hostile level, registered in a real studio.

The table is generated, so the rows are known: churn depends on tenure and on the ``segment``, and spend on
tenure and visits; ``region`` (never a feature) is the sensitive column the bias section groups by.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import storage
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition.spec import PipelineSpec
from storage import Store
from studio import registry
from studio.roles import Actor
from tests.apptest import store_frame
from tests.pages.test_compare_page import train_now

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

HOSTILE = "<script>alert(1)</script>"
CLASSIFIER, REGRESSOR = "churn <b>model</b>", "spend"
ROWS = 360


def customers(rows: int = ROWS, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows).astype(float)
    visits = rng.poisson(4, rows).astype(float)
    segment = rng.choice(["north", "south", HOSTILE], rows)
    region = rng.choice(["east", "west"], rows)
    risk = -2.0 + 0.04 * (36 - tenure) + 1.5 * (segment == HOSTILE) + rng.normal(0, 0.5, rows)
    churned = np.where(risk > -1.2, "yes", "no")
    spend = 20 + 1.5 * tenure + 4 * visits + rng.normal(0, 5, rows)
    return pd.DataFrame({"tenure": tenure, "visits": visits, "segment": segment, "region": region,
                         "churned": churned, "spend": spend})


def spec_for(name: str, target: str, frame: pd.DataFrame, models: list[dict], **tuning) -> PipelineSpec:
    spec = PipelineSpec(name=name, target=target, models=models, columns={"select": [
        c for c in frame.columns if c not in ("churned", "spend") or c == target]},
                        evaluation={"cv_folds": 3, "holdout": 0.25, "seed": 3},
                        tuning=tuning or {"method": "none"})
    steps = default_steps(infer_schema(frame[spec.columns.select], spec))
    steps.insert(1, {"kind": "drop_columns", "columns": ["region"]})  # sensitive, kept out of the features
    return PipelineSpec.model_validate({**spec.to_dict(), "steps": [
        s if isinstance(s, dict) else s.model_dump() for s in steps],
        "rules": [{"kind": "range", "column": "tenure", "min": 0, "max": 120},
                  {"kind": "allowed_values", "column": "segment", "values": ["north", "south", HOSTILE]}]})


def register(store: Store, name: str, spec: PipelineSpec, dataset_id: int) -> int:
    """Save ``spec`` as pipeline ``name``, train it for real, register the run's model; its version number."""
    version = storage.save_pipeline_version(store, name=name, definition=spec.to_dict())
    run = train_now(store, dataset_id, spec, pipeline_version_id=version.id)
    return registry.register_model(LOCAL, run.id, by="cli", note=f"report test {HOSTILE}").version


def register_both(store: Store) -> dict[str, int]:
    """The tuned classifier and the regressor, each registered as version 1 of its pipeline."""
    frame = customers()
    dataset_id = store_frame(store, frame, "customers")
    classifier = spec_for(CLASSIFIER, "churned", frame, [{"kind": "logistic_regression"}, {"kind": "decision_tree"}],
                       method="random", n_trials=3)
    regressor = spec_for(REGRESSOR, "spend", frame, [{"kind": "ridge"}, {"kind": "decision_tree"}])
    return {CLASSIFIER: register(store, CLASSIFIER, classifier, dataset_id),
            REGRESSOR: register(store, REGRESSOR, regressor, dataset_id)}

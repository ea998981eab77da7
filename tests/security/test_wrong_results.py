"""Issue 14 point 10: inputs that gave wrong results without a word. Each test failed before its fix."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_core.training.train import train
from tests.security.test_ml_guards import spec_for

# ---------------------------------------------------------------- column names


def test_columns_named_with_double_underscores_train_every_model():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"price__eur": rng.normal(size=150), "kind__code": rng.choice(["x", "y"], 150),
                          "price_.eur": rng.normal(size=150)})
    frame["y"] = np.where(frame["price__eur"] > 0, "p", "q")
    result = train(spec_for(frame, "y", ["logistic_regression", "random_forest"]), frame)
    assert all(row.error is None for row in result.leaderboard), [row.error for row in result.leaderboard]
    assert result.best.metrics[result.metric] > 0.8
    scored = result.pipeline.predict(frame.drop(columns="y"))
    assert list(frame.columns) == ["price__eur", "kind__code", "price_.eur", "y"]  # the data keeps its names
    assert len(scored) == len(frame)

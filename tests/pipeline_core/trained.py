"""A small real model trained the way the app trains one, for the tests of what leaves the app with it.

Its pipeline holds every transformer of this project a default pipeline can hold (the frame preparer,
date parts, outlier clipping), because those are what a model needs this package for outside the app.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition import steps as st
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.training.train import train
from tests.pipeline_core.frames import messy_frame

TARGET = "churned"


def churn_model(model: str = "logistic_regression", rules: list[dict] | None = None) -> tuple[Any, pd.DataFrame]:
    """(TrainResult, raw training frame) for ``messy_frame``'s churn target with the default steps + clipping,
    and the definition's quality ``rules`` (none by default)."""
    frame = messy_frame()
    spec = PipelineSpec.model_validate({"target": TARGET, "models": [{"kind": model}], "evaluation": {"cv_folds": 2},
                                        "rules": rules or []})
    steps = default_steps(infer_schema(frame, spec))
    spec = spec.model_copy(update={"steps": [*steps[:1], st.ClipOutliers(columns="numeric"), *steps[1:]]})
    return train(spec, frame), frame

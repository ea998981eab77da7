"""How a regression model sees its target: as it is, as log(1 + target), or Yeo-Johnson transformed.

A price or an amount is positive and right-skewed: a squared-error model fitted to it spends its splits on the
few dear rows, and one fitted to its log learns relative differences, which is how such targets vary. On the
Ames house prices (modeldata's copy, 5 hold-out splits) the log lifted histogram gradient boosting's R² from
0.918 to 0.922 (``benchmarks/bench_regression_defaults.py`` measures it on openintro's copy). The model step
becomes scikit-learn's ``TransformedTargetRegressor`` around the registry's model, so ``predict`` answers in the
target's own units everywhere the pipeline goes (skops, the bundle, MLflow, the service and the script, which
builds the same wrapper); tuning reaches the model's parameters through it (:func:`model_prefix`).

``"auto"`` is settled here, once, from the training target (:func:`resolve`); what it became is recorded on the
leaderboard row and in the saved model's metadata, so a refit or a regenerated script builds the same pipeline.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PowerTransformer

from pipeline_core.definition.registry import MODELS, TARGET_ENTRIES
from pipeline_core.definition.spec import ModelSpec
from pipeline_core.errors import DataError, SpecError

Chosen = Literal["none", "log", "yeo_johnson"]
SKEWED = 1.0  # a target's sample skewness above this counts as strongly right-skewed (Ames prices: 1.7)


def skewed_positive(y: pd.Series) -> bool:
    """Whether ``y`` has no negative value and a long right tail: what a log target is for."""
    values = pd.to_numeric(y, errors="coerce").dropna()
    return len(values) > 2 and bool(values.min() >= 0) and float(values.skew()) > SKEWED


def resolve(model: ModelSpec, task: str, y: pd.Series) -> tuple[ModelSpec, str | None]:
    """``model`` with a concrete ``target_transform`` for this training target, and a note saying what was chosen
    (``None`` when the target is used as it is). Refuses a log of negative values, naming the fix."""
    wanted = model.target_transform
    if task != "regression":
        if wanted not in ("auto", "none"):
            raise SpecError(f"models[{model.kind}].target_transform: '{wanted}' applies to regression only; "
                            f"this is {task}, so set it to 'auto' or 'none'")
        return model.model_copy(update={"target_transform": "none"}), None
    chosen: str = wanted
    if wanted == "auto":
        chosen = MODELS[model.kind].skewed_target if skewed_positive(y) else "none"
    if chosen == "log" and float(pd.to_numeric(y, errors="coerce").min()) <= -1:
        raise DataError(f"target '{y.name}' has values of -1 or below, so the model cannot be fitted to "
                        f"log(1 + target); choose 'yeo_johnson' or 'none' as {model.kind}'s target transform")
    note = None
    if chosen != "none":
        why = " because the target is positive and right-skewed" if wanted == "auto" else ""
        note = f"fitted to {TARGET_ENTRIES[chosen].label}{why}; predictions are turned back into the target's units"
    return model.model_copy(update={"target_transform": chosen}), note


def wrap(estimator: Any, transform: str) -> Any:
    """The model step for ``transform``: ``estimator`` itself, or wrapped to fit a transformed target."""
    if transform == "log":
        return TransformedTargetRegressor(regressor=estimator, func=np.log1p, inverse_func=np.expm1,
                                          check_inverse=False)
    if transform == "yeo_johnson":
        return TransformedTargetRegressor(regressor=estimator, transformer=PowerTransformer(method="yeo-johnson"),
                                          check_inverse=False)
    return estimator


def inner_model(step: Any) -> Any:
    """The registry's model inside a model step, through the target wrapper if there is one."""
    return step.regressor if isinstance(step, TransformedTargetRegressor) else step


def model_prefix(pipeline: Pipeline) -> str:
    """Where the registry model's parameters live in ``pipeline`` (``model__`` or ``model__regressor__``)."""
    step = pipeline.named_steps.get("model") if hasattr(pipeline, "named_steps") else None
    return "model__regressor__" if isinstance(step, TransformedTargetRegressor) else "model__"


def transform_of(pipeline: Any) -> Chosen:
    """The target transform a compiled or fitted pipeline applies (what its model step says)."""
    step = pipeline[-1] if hasattr(pipeline, "steps") else pipeline
    if not isinstance(step, TransformedTargetRegressor):
        return "none"
    return "yeo_johnson" if step.transformer is not None else "log"

"""Decision threshold tuning as part of the compiled pipeline (issue 15 point 12).

The model step of a two-class pipeline becomes scikit-learn's ``TunedThresholdClassifierCV`` around the
registry's model: every ``fit`` cross-validates the model on the rows it is given and keeps the threshold
whose out-of-fold predictions score best, then refits the model on all those rows. So in the leaderboard's
CV each fold chooses its threshold on its own training part, the saved model chose it on the training rows,
and the hold-out rows are never seen; the threshold is an attribute of the fitted model, so it travels with
it (skops, the bundle, MLflow, and the script, which builds the same wrapper). ONNX cannot express it (its
registry refusal says why before anyone exports).

The wrapper is added after hyperparameter search, which tunes the model's own parameters (``model__C``)
at its default threshold.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import is_classifier
from sklearn.model_selection import TunedThresholdClassifierCV
from sklearn.pipeline import Pipeline

from pipeline_core.definition.spec import PipelineSpec


def with_threshold(pipeline: Pipeline, spec: PipelineSpec, n_classes: int) -> Pipeline:
    """``pipeline`` with its model wrapped to tune the decision threshold when the definition asks for it and the
    target has two classes; otherwise ``pipeline`` itself."""
    if not threshold_applies(spec, n_classes) or "model" not in pipeline.named_steps:
        return pipeline
    model = pipeline.named_steps["model"]
    if not is_classifier(model) or isinstance(model, TunedThresholdClassifierCV):
        return pipeline
    plan = spec.threshold
    tuned = TunedThresholdClassifierCV(model, scoring=plan.metric, cv=plan.cv_folds)
    return Pipeline([*pipeline.steps[:-1], ("model", tuned)])


def threshold_applies(spec: PipelineSpec, n_classes: int) -> bool:
    return spec.threshold.tune and n_classes == 2


def tuned_model(pipeline: Any) -> TunedThresholdClassifierCV | None:
    """The fitted threshold wrapper at the end of ``pipeline``, if it has one."""
    last = pipeline[-1] if hasattr(pipeline, "steps") else pipeline
    return last if isinstance(last, TunedThresholdClassifierCV) and hasattr(last, "best_threshold_") else None

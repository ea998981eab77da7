"""Explanations for the pages: why a run's best model predicts what it does, and why it scored given rows so.

A run's explanation rests on its rebuilt hold-out rows (rows the model never trained on), measured against
background rows from its training rows, with partial dependence curves for the columns that matter most. A
scored table's rows are explained against a sample of that table: the Predict page has no training rows at
hand, and for tree models (the default) the explanation needs none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from pipeline_core.analysis.dependence import CURVED_TYPES, DependenceCurve, dependence_curves
from pipeline_core.analysis.explain import Explainer, RowExplanations
from pipeline_core.analysis.explain_global import GlobalExplanation, explain_global
from pipeline_core.artifacts.export import LoadedModel
from pipeline_core.errors import DataError
from pipeline_core.training.holdout import holdout_split
from storage import Dataset, ModelArtifact
from studio.roles import Actor
from studio.runs import run_inputs

CURVES = 4  # partial dependence plots for this many of the most important columns


@dataclass(frozen=True)
class RunExplanation:
    """SHAP values of a sample of a run's hold-out rows and dependence curves for its top columns."""

    run_id: int
    summary: GlobalExplanation
    curves: list[DependenceCurve]


def explain_run(actor: Actor, run_id: int, *, load_model: Callable[[ModelArtifact], LoadedModel] | None = None,
                load_frame: Callable[[Dataset], pd.DataFrame] | None = None,
                curves: int = CURVES) -> RunExplanation:
    """Explain run ``run_id``'s model on its hold-out rows; a plain error without hold-out rows or a model."""
    inputs = run_inputs(actor, run_id, load_model=load_model, load_frame=load_frame)
    split = holdout_split(inputs.spec, inputs.frame)
    pipeline, seed = inputs.model.pipeline, inputs.spec.evaluation.seed
    summary = explain_global(Explainer(pipeline, split.X_train, seed=seed), split.X_test, seed=seed)
    types = pipeline[0].types or {}
    curved = [c for c in summary.importance()["column"] if types.get(c) in CURVED_TYPES][:curves]
    return RunExplanation(run_id, summary, dependence_curves(pipeline, split.X_test, curved, seed=seed))


def explain_scored_rows(model: LoadedModel, frame: pd.DataFrame, rows: list[int]) -> tuple[RowExplanations, str]:
    """Contributions for ``rows`` (positions) of a scored table, and a sentence on how they were computed."""
    if not rows:
        raise DataError("choose at least one row to explain")
    explainer = Explainer(model.pipeline, frame)
    return explainer.explain(frame.iloc[rows]), explainer.describe()

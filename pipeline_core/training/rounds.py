"""The rounds a model that stopped early fitted in each CV fold, and the refit that fits their mean on every row.

Each family's way of stopping is in its registry entry (``definition.stopping``); here the fitted pipeline of a fold
is opened to its model (through the threshold and target wrappers) to read the rounds, and a leaderboard row becomes
the model its refit builds. Used by both refits, a single model's (``train``) and an ensemble's members
(``ensemble``), so the saved model never holds rows aside to stop on when its folds told how many rounds to fit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import TunedThresholdClassifierCV

from pipeline_core.compiler import target as tt
from pipeline_core.definition.registry import MODELS
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec
from pipeline_core.training.results import ModelScore


def stopped_rounds(kind: str, fitted: Any) -> int | None:
    """The rounds the fitted model of family ``kind`` at the end of ``fitted`` predicts with, when its fit stopped
    early on rows it held aside; ``None`` when it did not (or the family cannot)."""
    stopping = MODELS[kind].early_stopping if kind in MODELS else None
    if stopping is None:
        return None
    model = fitted[-1] if hasattr(fitted, "steps") else fitted
    if isinstance(model, TunedThresholdClassifierCV):  # wraps the model step itself (``compiler.threshold``)
        model = model.estimator_
    if isinstance(model, TransformedTargetRegressor):
        model = model.regressor_
    return stopping.stopped(model)


def mean_rounds(rounds: list[int]) -> int:
    """The rounds a refit fits from its folds' stopped rounds: their mean, not scaled for the refit's larger rows
    (as AutoGluon's ``refit_full``; on hotel_rates x1.25 scored 0.9669 against the mean's 0.9667, within noise)."""
    return max(1, int(round(float(np.mean(rounds)))))


def refit_rounds(row: ModelScore, plan: EvaluationPlan) -> int | None:
    """The rounds the refit of ``row`` fits (:func:`mean_rounds`), when every fold stopped early and the definition
    refits with its folds' rounds (``refit_rounds``, schema 8); else ``None`` (the refit fits as the folds did)."""
    if plan.refit_rounds != "folds" or not row.rounds or MODELS.get(row.model) is None \
            or MODELS[row.model].early_stopping is None:
        return None
    return mean_rounds(row.rounds)


def refit_model(row: ModelScore, plan: EvaluationPlan) -> ModelSpec:
    """The model the refit of ``row`` builds: its parameters, with a stopped family's rounds fixed to
    :func:`refit_rounds` and its stopping turned off, so it learns from every row it is given."""
    params = dict(row.params)
    rounds = refit_rounds(row, plan)
    if rounds is not None:
        params = MODELS[row.model].early_stopping.fixed(params, rounds)
    return ModelSpec(kind=row.model, params=params, target_transform=row.target_transform)


def rounds_span(rounds: list[int]) -> str:
    """The folds' stopped rounds as the leaderboard and the model card write them: ``4,229–7,222`` or ``500``."""
    low, high = min(rounds), max(rounds)
    return f"{low:,}" if low == high else f"{low:,}–{high:,}"


def rounds_note(row: ModelScore, plan: EvaluationPlan) -> str | None:
    """What the leaderboard says of a row whose folds stopped early: the rounds the saved model fits instead."""
    rounds = refit_rounds(row, plan)
    if rounds is None:
        return None
    return (f"its folds stopped early at {rounds_span(row.rounds)} rounds on rows each held aside; refitted, it "
            f"fits their mean, {rounds:,} rounds, on every row, holding none aside")


def as_cross_validated(pipeline: Any, kind: str, params: dict[str, Any], task: str, seed: int) -> Any:
    """A clone of a saved pipeline whose model stops early again as its CV folds did, for diagnostics that refit
    it on other rows (the learning curve): the saved model's fixed rounds suit the rows it was refitted on, and
    fitted on a tenth of them they would overfit, where the folds' configuration chooses its own rounds."""
    pipeline = clone(pipeline)
    stopping = MODELS[kind].early_stopping if kind in MODELS else None
    if stopping is None or not hasattr(pipeline, "steps"):
        return pipeline
    built = MODELS[kind].build(task, params, seed).get_params(deep=False)
    # a two-class model's threshold wrapper holds the model step; otherwise the compiler's own prefix (target wrapper)
    path = "model__estimator__" if isinstance(pipeline[-1], TunedThresholdClassifierCV) else tt.model_prefix(pipeline)
    return pipeline.set_params(**{path + name: built[name] for name in (stopping.rounds, *stopping.off)
                                  if name in built})

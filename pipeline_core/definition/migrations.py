"""Migrations of pipeline definitions between schema versions.

Each entry upgrades a definition dict from version N to N+1; a definition saved by any released
version keeps loading (``tests/pipeline_core/fixtures/spec_v*.json``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline_core.errors import SpecError

CURRENT_VERSION = 9


V2_TUNING_SECONDS = 600.0  # schema 2's default and maximum tuning time per model, frozen here: a later change
V2_MAX_TUNING_SECONDS = 7_200.0  # of the spec's defaults must not change what this step produces


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 always bounds tuning time: a missing or ``null`` limit (schema 1's "no limit") takes the
    default, and a limit above the new maximum is lowered to it, so no saved definition stops loading."""
    tuning = data.get("tuning")
    if not isinstance(tuning, dict):
        return data
    tuning = dict(tuning)
    limit = tuning.get("timeout_seconds")
    if limit is None:
        tuning["timeout_seconds"] = V2_TUNING_SECONDS
    elif isinstance(limit, int | float) and not isinstance(limit, bool) and limit > V2_MAX_TUNING_SECONDS:
        tuning["timeout_seconds"] = V2_MAX_TUNING_SECONDS
    data["tuning"] = tuning
    return data


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 3 carries the data-quality rules in the definition; a definition from before had none saved
    (they lived only in the browser session), so it gets an empty list."""
    data.setdefault("rules", [])
    return data


V4_THRESHOLD = {"tune": False, "metric": "balanced_accuracy", "cv_folds": 3}  # frozen: the plan schema 3 implied


def _v3_to_v4(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 4 can tune the decision threshold of a two-class model; a definition from before predicted at
    the classifier's own threshold, which is what an untuned plan does."""
    data.setdefault("threshold", dict(V4_THRESHOLD))
    return data


def _v4_to_v5(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 5 refits the saved model on the training and hold-out rows by default; a definition from before
    saved the model trained on the training rows only, and keeps doing so (``refit_all`` off)."""
    evaluation = data.get("evaluation")
    evaluation = dict(evaluation) if isinstance(evaluation, dict) else {}
    evaluation.setdefault("refit_all", False)
    data["evaluation"] = evaluation
    return data


V6_PINNED = {"target_transform": "none", "one_hot_boosting": "large"}  # frozen: what schema 5 trained with


def _v5_to_v6(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 6 fits regression models to a log target when it is positive and skewed (``target_transform``
    ``auto``) and gives histogram boosting one code column per label for regression at any size (one-hot
    ``boosting`` ``auto``). A definition from before trained on the target as it was and on one-hot columns below
    500,000 rows, so every model and one-hot step left at ``auto`` (or not set) is pinned to that (``"none"``,
    ``"large"``), and so are the models and steps it leaves open (``open_choices``). A transform or encoding
    chosen explicitly is kept."""
    if isinstance(data.get("models"), list):
        data["models"] = [_pinned_model(m) for m in data["models"]]
    autopilot = data.get("autopilot")
    if isinstance(autopilot, dict) and isinstance(autopilot.get("chosen"), list):
        data["autopilot"] = {**autopilot, "chosen": [_pinned_model(m) for m in autopilot["chosen"]]}
    if isinstance(data.get("steps"), list):
        data["steps"] = [_pinned_step(s) for s in data["steps"]]
    data.setdefault("open_choices", dict(V6_PINNED))
    return data


def _pinned_model(model: Any) -> Any:
    if isinstance(model, dict) and model.get("target_transform", "auto") == "auto":
        return {**model, "target_transform": V6_PINNED["target_transform"]}
    return model


def _pinned_step(step: Any) -> Any:
    if isinstance(step, dict) and step.get("kind") == "onehot" and step.get("boosting", "auto") == "auto":
        return {**step, "boosting": V6_PINNED["one_hot_boosting"]}
    return step


V7_PINNED_TEXT_MODELS = "preselected"  # frozen: the models schema 6 trained when a definition listed none


def _v6_to_v7(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 7 trains LightGBM in histogram gradient boosting's place among the models a definition leaves open
    when a TF-IDF step feeds them (``open_choices.text_models`` ``"sparse"``). A definition from before trained the
    usual set, so its open choices are pinned to that."""
    choices = data.get("open_choices")
    choices = dict(choices) if isinstance(choices, dict) else {}
    choices.setdefault("text_models", V7_PINNED_TEXT_MODELS)
    data["open_choices"] = choices
    return data


V8_REFIT_ROUNDS = "stopping"  # frozen: how schema 7 refitted a model that stopped early


def _v7_to_v8(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 8 refits a model that stopped its rounds early in CV with the folds' mean rounds on every row
    (``evaluation.refit_rounds`` ``"folds"``). A definition from before refitted by stopping again on a share of
    the refit's rows, and keeps doing so, so it re-runs to the same saved model."""
    evaluation = data.get("evaluation")
    evaluation = dict(evaluation) if isinstance(evaluation, dict) else {}
    evaluation.setdefault("refit_rounds", V8_REFIT_ROUNDS)
    data["evaluation"] = evaluation
    return data


def _v8_to_v9(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 9 records, with an autopilot search's choices, the nested score of choosing its best single
    configuration (``autopilot.selection_folds``, and in ``selection_basis`` what it was scored on), which decides
    whether an ensemble goes first. A search recorded before has none, so the ensemble is compared with the single
    model's own fold scores, as it was when the search ran: nothing to change, and it re-runs to the same
    leaderboard."""
    return data


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4,
                                                                     4: _v4_to_v5, 5: _v5_to_v6, 6: _v6_to_v7,
                                                                     7: _v7_to_v8, 8: _v8_to_v9}


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Upgrade ``data`` to the current schema version, one registered step at a time."""
    version = data.get("schema_version", CURRENT_VERSION)
    if not isinstance(version, int) or version < 1:
        raise SpecError(f"schema_version: expected a positive integer, got {version!r}")
    if version > CURRENT_VERSION:
        raise SpecError(
            f"schema_version: this definition was written by a newer Pipeline Studio "
            f"(schema {version}); this one reads up to {CURRENT_VERSION}. Upgrade to open it."
        )
    while version < CURRENT_VERSION:
        data = MIGRATIONS[version](dict(data))
        version += 1
        data["schema_version"] = version
    return data

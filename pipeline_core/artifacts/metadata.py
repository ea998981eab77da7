"""What a saved model records about itself: the metadata embedded in every model file.

Plain JSON types only, so skops stores it without trusting anything new, the UI can show it
without loading the model, and a script can be regenerated from it (``codegen.script_from_metadata``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import metadata as distributions
from typing import Any

import pandas as pd
import sklearn

from pipeline_core import __version__
from pipeline_core.definition.registry import model_libraries
from pipeline_core.json_data import jsonable
from pipeline_core.training.rounds import refit_rounds

METADATA_ATTRIBUTE = "studio_metadata_"
METADATA_ENTRY = "pipeline_studio_metadata.json"
METADATA_FORMAT = 1
PROJECT_DISTRIBUTION = "pipeline-studio"
# What loading and running a saved pipeline imports: this project (its transformers), scikit-learn and what it
# computes with, skops to read the file, pydantic for the definition the metadata carries.
RUNTIME_DISTRIBUTIONS = ("scikit-learn", "numpy", "scipy", "pandas", "skops", "joblib", "threadpoolctl", "pydantic")


def build_metadata(result: Any, frame: pd.DataFrame) -> dict[str, Any]:
    """What prediction and export need later, from a ``TrainResult`` and its raw training frame.

    Plain JSON types only, so skops stores it without trusting anything new and the UI can
    show it without loading the model.
    """
    spec, pipeline = result.spec, result.pipeline
    classes = getattr(pipeline, "classes_", None) if result.task == "classification" else None
    return {
        "format": METADATA_FORMAT,
        "studio_version": __version__,
        "sklearn_version": sklearn.__version__,
        "requirements": runtime_requirements(*result.model_kinds),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "task": result.task,
        "target": spec.target,
        "metric": result.metric,
        "model": result.best.model,
        "params": jsonable(result.best.params),
        "target_transform": result.best.target_transform,  # "auto" as this run settled it (``compiler.target``)
        "features": feature_records(pipeline, frame, spec.columns.rename),
        "classes": jsonable(list(classes)) if classes is not None else None,
        "schema": {c: {"type": i.type, "reason": i.reason} for c, i in result.schema.items()},
        "definition": spec.to_dict(),
        "leaderboard": [{"model": r.model, "metrics": r.metrics, "error": r.error} for r in result.leaderboard],
        "holdout": dict(result.holdout),
        "provenance": jsonable(result.provenance),
        "training_rows": result.training_rows,
        "refit_rows": result.refit_rows,  # rows the saved model saw, hold-out included; None: not refitted
        # the rounds the saved model fits when its folds stopped early (``params`` are as cross-validated); None:
        # it fits as ``params`` say
        "refit_rounds": refit_rounds(result.best, spec.evaluation),
    }


def runtime_requirements(*model_kinds: str) -> list[str]:
    """Pinned ``name==version`` lines for what loading this model elsewhere needs, as installed right now.

    Read from the installed distributions at export time, so the pins are what the model was really saved
    with (a model only loads under the scikit-learn that saved it). This project comes first: it holds the
    custom transformers; when it runs from a source checkout rather than an install, its own version is used.
    A model from another library (LightGBM) adds the distribution that installed it (``xgboost-cpu`` or
    ``xgboost`` for the module ``xgboost``); an ensemble passes each member's kind.
    """
    pins = [f"{PROJECT_DISTRIBUTION}=={_installed_version(PROJECT_DISTRIBUTION) or __version__}"]
    libraries = sorted({_distribution(lib) for kind in model_kinds for lib in model_libraries(kind)})
    names = (*RUNTIME_DISTRIBUTIONS, *libraries)
    pins += [f"{name}=={version}" for name in names if (version := _installed_version(name))]
    return pins


def _distribution(module: str) -> str:
    """The installed distribution that provides the top-level ``module`` (its own name when none is found)."""
    return next(iter(distributions.packages_distributions().get(module, [])), module)


def _installed_version(name: str) -> str | None:
    try:
        return distributions.version(name)
    except distributions.PackageNotFoundError:
        return None


def feature_records(pipeline: Any, frame: pd.DataFrame, rename: dict[str, str]) -> list[dict[str, Any]]:
    """One record per raw column the model reads: raw name, prepared name, semantic type, dtype, levels."""
    prepare = pipeline[0]
    raw_of = {new: raw for raw, new in rename.items()}
    records = []
    for column, kind in (prepare.types or {}).items():
        raw = raw_of.get(column, column)
        record = {"name": raw, "column": column, "type": kind,
                  "dtype": str(frame[raw].dtype) if raw in frame else "unknown"}
        if kind == "categorical" and raw in frame:
            levels = frame[raw].dropna().astype(str).unique()
            record["levels"] = sorted(levels.tolist()) if len(levels) <= 200 else None
        records.append(record)
    return records

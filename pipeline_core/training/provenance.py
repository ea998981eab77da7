"""What makes a result reproducible: data hash, definition hash, seed, library versions."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pandas as pd

from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.io.frames import training_values_sha256

LIBRARIES = ("scikit-learn", "pandas", "numpy", "scipy", "pipeline-studio")


def library_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def provenance(spec: PipelineSpec, frame: pd.DataFrame) -> dict[str, Any]:
    """The run's reproducibility record; ``frame_sha256`` keeps its stored name but is the training-values hash."""
    return {
        "data_sha256": spec.data.sha256 or None,
        "frame_sha256": training_values_sha256(frame),
        "definition_sha256": spec.content_hash(),
        "seed": spec.evaluation.seed,
        "versions": library_versions(),
    }

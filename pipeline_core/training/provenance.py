"""What makes a result reproducible: data hash, definition hash, seed, library versions."""

from __future__ import annotations

import hashlib
import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pandas as pd

from pipeline_core.definition.spec import PipelineSpec

LIBRARIES = ("scikit-learn", "pandas", "numpy", "scipy", "pipeline-studio")


def frame_hash(frame: pd.DataFrame) -> str:
    """sha256 of the frame's values and column names: equal data hashes equally across runs."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def provenance(spec: PipelineSpec, frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "data_sha256": spec.data.sha256 or None,
        "frame_sha256": frame_hash(frame),
        "definition_sha256": spec.content_hash(),
        "seed": spec.evaluation.seed,
        "versions": library_versions(),
    }

"""An MLflow model directory (pyfunc flavour) written with MLflow's own API, for teams that use MLflow.

``mlflow.pyfunc.load_model`` loads it, ``mlflow models serve`` serves it and a registry accepts it. It holds
``model.skops`` as an artifact and an entry script that builds
:class:`~pipeline_core.artifacts.mlflow_model.StudioModel` ("models from code"), so nothing is pickled; a
signature inferred from the training rows and the model's predictions on them; five training rows as the
input example; and the pinned requirements the model records (``pipeline-studio`` first).

MLflow is an optional dependency (``pip install .[mlflow]``, which brings ``mlflow-skinny``):
:func:`mlflow_available` says whether it is installed, and the export says how to get it when it is not.
"""

from __future__ import annotations

import importlib.util
import io
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline_core.artifacts.bundle import bundle_schema
from pipeline_core.artifacts.metadata import runtime_requirements
from pipeline_core.artifacts.skops_io import save_model
from pipeline_core.errors import ModelError

MISSING_MLFLOW = ("MLflow export needs MLflow, which is not installed: pip install 'pipeline-studio[mlflow]' "
                  "(or pip install -r requirements-mlflow.txt)")
SIGNATURE_ROWS = 10_000
ARTIFACT = "model"
ENTRY_SCRIPT = '''"""MLflow entry point of a Pipeline Studio model (models from code: model.skops, not a pickle)."""
import mlflow

from pipeline_core.artifacts.mlflow_model import StudioModel

mlflow.models.set_model(StudioModel())
'''


def mlflow_available() -> bool:
    """Whether MLflow's pyfunc API can be imported here (without importing it, which takes seconds)."""
    try:
        return importlib.util.find_spec("mlflow") is not None
    except (ImportError, ValueError):  # a half-present or blocked package
        return False


def save_mlflow_model(pipeline: Any, metadata: dict[str, Any], training: pd.DataFrame, path: str | Path) -> Path:
    """Write the MLflow model directory at ``path`` (which must not exist yet); ``training``: the raw rows."""
    if not mlflow_available():
        raise ModelError(MISSING_MLFLOW)
    import mlflow.pyfunc
    from mlflow.models import infer_signature

    path = Path(path)
    if path.exists():
        raise ModelError(f"'{path}' already exists; MLflow writes a new folder, so give a path that does not exist")
    schema = bundle_schema(pipeline, metadata, training)
    rows = training[[c.name for c in schema.columns]].head(SIGNATURE_ROWS)
    with tempfile.TemporaryDirectory() as scratch:
        model_file = save_model(pipeline, Path(scratch) / "model.skops", "skops", metadata)
        entry = Path(scratch) / "pipeline_studio_model.py"
        entry.write_text(ENTRY_SCRIPT, encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLflow's hints (type hints, integer columns) are not the user's to act on
            mlflow.pyfunc.save_model(
                str(path), python_model=str(entry), artifacts={ARTIFACT: str(model_file)},
                signature=infer_signature(rows, pipeline.predict(rows)), input_example=rows.head(5),
                pip_requirements=list(metadata.get("requirements") or runtime_requirements()),
            )
    return path


def dump_mlflow_zip(pipeline: Any, metadata: dict[str, Any], training: pd.DataFrame) -> bytes:
    """The MLflow model directory as one zip (its files at the top), for a download."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = save_mlflow_model(pipeline, metadata, training, Path(scratch) / "model")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(p for p in folder.rglob("*") if p.is_file()):
                archive.write(file, file.relative_to(folder).as_posix())
        return buffer.getvalue()

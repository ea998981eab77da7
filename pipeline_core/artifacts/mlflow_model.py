"""The MLflow pyfunc model class of an exported Pipeline Studio model (needs the optional ``mlflow`` extra).

MLflow loads the model "from code": the model directory holds a three-line entry script that builds this
class, and ``model.skops`` as an artifact. Nothing is pickled, neither the pipeline nor this object; the
pipeline is loaded with :func:`~pipeline_core.artifacts.skops_io.load_model`, so the trusted-type list and
the scikit-learn version check apply inside MLflow as everywhere else.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd

from pipeline_core.artifacts.mlflow_export import ARTIFACT


class StudioModel(mlflow.pyfunc.PythonModel):
    """``predict`` returns the pipeline's predictions for a frame of the raw columns the model reads."""

    def load_context(self, context: Any) -> None:
        from pipeline_core.artifacts.skops_io import load_model

        self.pipeline = load_model(context.artifacts[ARTIFACT]).pipeline

    # model_input's hint is the one MLflow takes as "any frame": the signature the export writes stays the schema.
    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        return self.pipeline.predict(model_input)

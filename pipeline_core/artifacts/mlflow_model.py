"""The MLflow pyfunc model class of an exported Pipeline Studio model (needs the optional ``mlflow`` extra).

MLflow loads the model "from code": the model directory holds a three-line entry script that builds this
class, and ``model.skops`` as an artifact. Nothing is pickled, neither the pipeline nor this object; the
pipeline is loaded with :func:`~pipeline_core.artifacts.skops_io.load_model`, so the trusted-type list and
the scikit-learn version check apply inside MLflow as everywhere else.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc

from pipeline_core.artifacts.mlflow_export import ARTIFACT


class StudioModel(mlflow.pyfunc.PythonModel):
    """``predict`` returns the pipeline's predictions for a frame of the raw columns the model reads."""

    def load_context(self, context: Any) -> None:
        from pipeline_core.artifacts.skops_io import load_model

        self.pipeline = load_model(context.artifacts[ARTIFACT]).pipeline

    # No type hints: MLflow would read them as a second input schema beside the signature the export writes.
    def predict(self, context, model_input, params=None):
        return self.pipeline.predict(model_input)

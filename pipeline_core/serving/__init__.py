"""A scoring service for one trained model: FastAPI on uvicorn, Prometheus metrics, optional bearer token.

``python -m pipeline_core serve MODEL.skops`` runs it (:func:`~pipeline_core.serving.server.serve`); an
application can build the app itself with :func:`~pipeline_core.serving.app.create_app`. The modules hold:
``schema`` (the input schema read from the model's metadata), ``requests`` (JSON and CSV bodies into a
frame, or a one-line 4xx), ``scoring`` (the CLI's prediction path plus per-row rule violations),
``explaining`` (``/explain``: contributions per column), ``metrics`` (a per-app Prometheus registry), ``app``
(the endpoints) and ``server`` (binding and uvicorn).
"""

from pipeline_core.serving.app import PredictResponse, create_app
from pipeline_core.serving.requests import RequestError, ServiceLimits
from pipeline_core.serving.schema import InputSchema, ModelIdentity
from pipeline_core.serving.scoring import RowViolation, ScoredBatch
from pipeline_core.serving.server import ServeError, serve

__all__ = ["InputSchema", "ModelIdentity", "PredictResponse", "RequestError", "RowViolation", "ScoredBatch",
           "ServeError", "ServiceLimits", "create_app", "serve"]

"""``POST /explain``: each row's contributions per column, from the same explainer as the CLI's ``explain``.

The explainer is built on the first request (shap's imports and the tree walk cost a few hundred
milliseconds a service that never explains should not pay at start-up) and reused by every later one.
Tree models need nothing more than the model; other models need background rows, which the service gets
from ``serve --background FILE``; without them ``/explain`` answers 409 saying so.
"""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
from pydantic import BaseModel

from pipeline_core.analysis.explain import Explainer, Method
from pipeline_core.errors import DataError, ModelError
from pipeline_core.serving.requests import RequestError

PERMUTATION_MAX_ROWS = 100
"""Most rows one request may ask the permutation method to explain: each row costs a few hundred model calls on
the background rows, so a full-size request (10,000 rows) would hold a worker for many minutes."""


class ExplainResponse(BaseModel):
    """Per row: the prediction, ``base_value`` and one contribution per column; they add up to the output.

    ``base_values[i] + sum(contributions[i].values())`` is the explained output of row ``i``: the prediction for
    regression, else the ``output_space`` (log-odds, raw score or probability) of ``explained_class[i]``.
    """

    predictions: list[Any]
    base_values: list[float]
    contributions: list[dict[str, float]]
    outputs: list[float]
    output_space: str
    explained_class: list[str] | None = None
    method: Method
    background_rows: int


class ServiceExplainer:
    """Builds the model's explainer once, on first use, and explains request frames with it."""

    def __init__(self, pipeline: Any, background: pd.DataFrame | None):
        self.pipeline, self.background = pipeline, background
        self._lock = threading.Lock()
        self._explainer: Explainer | None = None
        self._refusal = ""

    def explain(self, frame: pd.DataFrame) -> ExplainResponse:
        explainer = self._built()
        if explainer.method == "permutation" and len(frame) > PERMUTATION_MAX_ROWS:
            raise RequestError(413, f"this model is explained by permutation, which costs hundreds of model calls per "
                                    f"row: send at most {PERMUTATION_MAX_ROWS} rows per /explain request "
                                    f"(this one has {len(frame):,})")
        try:
            rows = explainer.explain(frame)
        except DataError as e:
            raise RequestError(422, str(e)) from None
        contributions = [dict(zip(rows.columns, values, strict=True)) for values in rows.contributions.tolist()]
        return ExplainResponse(predictions=_plain(rows.predicted), base_values=rows.base_values.tolist(),
                               contributions=contributions, outputs=rows.outputs.tolist(),
                               output_space=rows.output_space, explained_class=rows.explained_class,
                               method=rows.method, background_rows=explainer.background_rows)

    def _built(self) -> Explainer:
        with self._lock:
            if self._explainer is None and not self._refusal:
                try:
                    self._explainer = Explainer(self.pipeline, self.background)
                except (ModelError, DataError) as e:
                    self._refusal = str(e)
                    if self.background is None and "background" in self._refusal:
                        self._refusal += "; start the service with --background FILE"
        if self._explainer is None:
            raise RequestError(409, self._refusal)
        return self._explainer


def _plain(values: list[Any]) -> list[Any]:
    """Predictions as JSON values (numpy scalars become Python ones)."""
    return [v.item() if hasattr(v, "item") else v for v in values]

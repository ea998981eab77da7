"""The model a service serves, and the slot that lets it be replaced while requests run.

Everything a request needs from one model (its schema, parser, rules, explainer and prediction log) is built once
into a :class:`Served`. The app keeps it in a :class:`ModelSlot`: a request takes the current one once, at its
start (``with slot.use() as served``), and finishes on it whatever happens meanwhile; :meth:`ModelSlot.swap`
replaces a single reference, so a request sees either the old model or the new one, never a mix. The old model's
prediction log is closed (its queue written) only when the last request that took it has ended, so no row it
scored is lost.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd

from pipeline_core.artifacts.skops_io import LoadedModel
from pipeline_core.errors import ModelError
from pipeline_core.library_estimators import classes_of
from pipeline_core.serving.explaining import ServiceExplainer
from pipeline_core.serving.prediction_log import LogStats, PredictionLogWriter
from pipeline_core.serving.requests import RowParser, ServiceLimits
from pipeline_core.serving.schema import InputSchema, ModelIdentity, build_schema, model_rules, without_target_rules


@dataclass(frozen=True, eq=False)
class Served:
    """One model ready to answer requests; ``prediction_log`` logs its rows under its own identity."""

    model: LoadedModel
    identity: ModelIdentity
    schema: InputSchema
    rules: list
    parser: RowParser
    explainer: ServiceExplainer
    classifies: bool
    prediction_log: PredictionLogWriter | None = None


def build_served(model: LoadedModel, identity: ModelIdentity, limits: ServiceLimits, *,
                 prediction_log: PredictionLogWriter | None = None,
                 background: pd.DataFrame | None = None) -> Served:
    """Everything a request needs from ``model``, built once (a model that cannot label rows is refused)."""
    if not hasattr(model.pipeline, "predict"):
        raise ModelError("this model cannot label new rows (e.g. DBSCAN or agglomerative clustering), so it "
                         "cannot be served; retrain with a model that can, such as k-means")
    model = without_target_rules(model)
    schema = build_schema(model, identity, max_rows=limits.max_rows, max_body_bytes=limits.max_body_bytes)
    classifies = classes_of(model.pipeline) is not None or identity.task in ("classification", "clustering")
    return Served(model=model, identity=identity, schema=schema, rules=model_rules(model),
                  parser=RowParser(schema.features, limits), explainer=ServiceExplainer(model.pipeline, background),
                  classifies=classifies, prediction_log=prediction_log)


class ModelSlot:
    """The served model, replaced atomically; counts the requests on each model to close its log after the last."""

    def __init__(self, served: Served):
        self._current = served
        self._lock = threading.Lock()
        self._running: dict[int, int] = {id(served): 0}
        self._retired: dict[int, Served] = {}
        self._logs: list[PredictionLogWriter] = [served.prediction_log] if served.prediction_log else []

    @property
    def current(self) -> Served:
        return self._current

    @contextmanager
    def use(self) -> Iterator[Served]:
        """The current model, for the whole of one request, even if it is replaced before the request ends."""
        with self._lock:
            served = self._current
            self._running[id(served)] += 1
        try:
            yield served
        finally:
            with self._lock:
                self._running[id(served)] -= 1
                done = self._retired.pop(id(served), None) if self._running[id(served)] == 0 else None
            if done is not None:
                self._close_log(done)

    def swap(self, served: Served) -> Served:
        """Serve ``served`` from the next request on; returns the model it replaced.

        A model of another kind (a classifier replacing a regressor) is refused: ``/metrics`` counts its answers
        as classes or as values, and the clients expect one or the other.
        """
        with self._lock:
            old = self._current
            if served.classifies != old.classifies:
                raise ModelError(f"version {served.identity.version} is a {served.identity.task or 'model'} and "
                                 f"the service serves a {old.identity.task or 'model'}; start a new service for it")
            self._running[id(served)] = 0
            self._current = served
            if served.prediction_log is not None:
                self._logs.append(served.prediction_log)
            idle = self._running[id(old)] == 0
            if not idle:
                self._retired[id(old)] = old
        if idle:
            self._close_log(old)
        return old

    def _close_log(self, served: Served) -> None:
        """Write what the replaced model's log holds, off the request that ended last (a close may take a while)."""
        with self._lock:
            self._running.pop(id(served), None)
        if served.prediction_log is not None:
            threading.Thread(target=served.prediction_log.close, name="prediction-log-close", daemon=True).start()

    def log_stats(self) -> LogStats:
        """The counts of every log the service has had (one per model served), for ``/metrics``."""
        with self._lock:
            logs = list(self._logs)
        every = [log.stats() for log in logs]
        return LogStats(queued=sum(s.queued for s in every), written=sum(s.written for s in every),
                        dropped=sum(s.dropped for s in every), failed=sum(s.failed for s in every))

    def has_log(self) -> bool:
        return bool(self._logs)

    def flush(self, timeout: float) -> None:
        """Wait (up to ``timeout`` each) until every log has written what it was given."""
        with self._lock:
            logs = list(self._logs)
        for log in logs:
            log.flush(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Close every log the service has had (writing what they hold), when the service stops."""
        with self._lock:
            logs = list(self._logs)
        for log in logs:
            log.close(timeout)

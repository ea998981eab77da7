"""The prediction log's use cases: plug storage into the core's writer, log a batch, take ground truth.

Every row a registered model scores is logged, wherever it was scored:

* a service (``python -m studio serve --pipeline``, also what the Models page starts) gets
  :func:`service_hooks`: a background :class:`~pipeline_core.serving.prediction_log.PredictionLogWriter` whose
  sink appends to storage, and a ``/feedback`` sink (:func:`record_outcomes`);
* ``python -m studio predict --pipeline`` and the Predict page call :func:`log_scored`, which writes a whole
  table through the same writer (the CLI waits for it before exiting; the page does not wait).

The sink prunes the log (:data:`PRUNE_EVERY` seconds at most, in the writer thread) to the retention settings,
so the log cannot grow without bound however long a service runs. Settings are read when a writer starts.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

import storage
from pipeline_core.analysis import quality
from pipeline_core.serving.feedback import OUTCOME, GroundTruthReport, Outcome, RowKey, outcomes_from_frame
from pipeline_core.serving.prediction_log import LoggedPrediction, PredictionLogWriter, PredictionSink, ScoredRequest
from pipeline_core.serving.server import ServiceHooks
from pipeline_core.serving.shadow import ShadowScorer
from storage import StorageError, Store
from studio.audit_log import EventKind, record
from studio.datasets import read_upload
from studio.roles import Action, Actor, require
from studio.settings import Settings, settings
from studio.workspace import open_store

PRUNE_EVERY = 300.0  # seconds between two prunings by one writer
BATCH_ROWS = 2_000


@dataclass(frozen=True)
class LogTarget:
    """Which model scored the rows and through what: ``pipeline_id``/``version`` are None for a model that is
    not in the registry (a run's model picked on the Predict page), whose rows still carry its file hash."""

    source: str  # service, batch or page
    model_sha256: str
    pipeline_id: int | None = None
    version: int | None = None


def retention_cutoff(config: Settings, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(days=config.log_retention_days)


def prune(store: Store, config: Settings, now: datetime | None = None) -> storage.Pruned:
    """Delete what the retention settings no longer keep (rows older than the retention, the oldest beyond the cap)."""
    return storage.prune_predictions(store, older_than=retention_cutoff(config, now), max_rows=config.log_max_rows)


def storage_sink(store: Store, target: LogTarget, config: Settings) -> PredictionSink:
    """A sink appending to ``store`` and pruning it at most every :data:`PRUNE_EVERY` seconds."""
    last_prune = [float("-inf")]

    def sink(records: list[LoggedPrediction]) -> None:
        rows = [{"logged_at": r.at, "request_id": r.request_id, "row_id": r.row_id, "inputs": r.inputs,
                 "prediction": r.prediction, "latency_ms": r.latency_ms, "violations": r.violations}
                for r in records]
        storage.append_predictions(store, rows, source=target.source, pipeline_id=target.pipeline_id,
                                   model_version=target.version, model_sha256=target.model_sha256)
        if time.monotonic() - last_prune[0] >= PRUNE_EVERY:
            last_prune[0] = time.monotonic()
            prune(store, config)

    return sink


def start_writer(target: LogTarget, *, config: Settings | None = None, max_queued_rows: int | None = None) \
        -> PredictionLogWriter | None:
    """A running writer into the configured store, or None when ``PIPELINE_STUDIO_PREDICTION_LOG`` is false."""
    config = config or settings()
    if not config.prediction_log:
        return None
    store = open_store(config)
    return PredictionLogWriter(storage_sink(store, target, config), sample_rate=config.log_input_sample,
                               max_queued_rows=max_queued_rows or config.log_queue_rows, batch_rows=BATCH_ROWS)


def service_hooks(target: LogTarget, *, config: Settings | None = None) -> ServiceHooks:
    """What a studio-started service plugs in: the log writer (unless logging is off) and ``/feedback``."""
    config = config or settings()
    return ServiceHooks(prediction_log=start_writer(target, config=config),
                        feedback=lambda outcomes: record_outcomes(outcomes, config=config))


def shadow_scorer(actor: Actor, pipeline: str, stage: str, *, champion: int, config: Settings | None = None) \
        -> tuple[ShadowScorer, int]:
    """A shadow challenger for a service of ``pipeline``: ``stage``'s model, logging under its own version (source
    ``shadow``); and that version. Refused when the stage holds the served version itself."""
    from studio import registry  # the registry loads models; kept out of the service's import path

    config = config or settings()
    staged = registry.production_model(actor, pipeline, stage)
    if staged.version.version == champion:
        raise StorageError(f"the {stage} stage holds version {champion}, the version being served; put the challenger "
                           "in another stage (e.g. staging) to score it in shadow")
    target = LogTarget(source=storage.SHADOW_SOURCE, model_sha256=staged.version.artifact_sha256,
                       pipeline_id=staged.version.pipeline_id, version=staged.version.version)
    writer = start_writer(target, config=config)
    if writer is None:
        raise StorageError("shadow scoring logs the challenger's answers, but the prediction log is turned off "
                           "(PIPELINE_STUDIO_PREDICTION_LOG); turn it on to compare the two")
    return ShadowScorer(staged.model, writer, version=str(staged.version.version)), staged.version.version


def log_scored(target: LogTarget, rows: pd.DataFrame, predictions: list, seconds: float, *,
               metadata: Mapping[str, Any] | None = None, wait: bool = True,
               config: Settings | None = None) -> str | None:
    """Log one scored table as one request; returns its request id (None when logging is off).

    ``metadata``: the scoring model's, whose quality rules are checked row by row (as the service checks them) so
    each logged row records the rules it broke. ``wait``: return once the rows are written (the CLI, which exits
    next); otherwise they are written in the background and this returns at once (the Predict page).
    """
    config = config or settings()
    writer = start_writer(target, config=config, max_queued_rows=max(len(predictions), 1))
    if writer is None:
        return None
    request_id, at = uuid.uuid4().hex, datetime.now(UTC)
    broken = quality.row_violations(rows, quality.scoring_rules(metadata, rows)) if metadata else []
    for start in range(0, len(predictions), BATCH_ROWS):  # parts of one request, so no batch holds the whole table
        end = start + BATCH_ROWS
        part = [replace(v, row=v.row - start) for v in broken if start <= v.row < end]
        writer.submit(ScoredRequest(at=at, request_id=request_id, rows=rows.iloc[start:end],
                                    predictions=predictions[start:end], latency_ms=seconds * 1000,
                                    first_row=start, violations=part))
    writer.close(timeout=None if wait else 0)
    if wait:
        prune(open_store(config), config)
    return request_id


def page_target(actor: Actor, artifact_id: int, artifact_sha256: str, run_id: int | None) -> LogTarget:
    """The Predict page's target for a stored model: its registry entry when the run's model is registered
    (the production one first), else the model file's hash alone."""
    from studio import registry  # the registry loads models; kept out of the service's import path

    found = [v for v in registry.registrations_of(actor, run_id) if v.artifact_id == artifact_id] if run_id else []
    found.sort(key=lambda v: v.stage != registry.PRODUCTION)
    if not found:
        return LogTarget(source="page", model_sha256=artifact_sha256)
    return LogTarget(source="page", model_sha256=artifact_sha256, pipeline_id=found[0].pipeline_id,
                     version=found[0].version)


def record_outcomes(outcomes: list[Outcome], *, config: Settings | None = None) -> GroundTruthReport:
    """Store true outcomes and report how they joined the log (unmatched ids counted, with examples)."""
    store = open_store(config or settings())
    joined = storage.save_ground_truth(store, ((o.request_id, o.row_id, o.outcome) for o in outcomes))
    return GroundTruthReport(received=joined.stored, matched=joined.matched, unmatched=joined.unmatched,
                             unmatched_examples=[RowKey(request_id=r, row_id=i) for r, i in joined.unmatched_examples])


def upload_ground_truth(actor: Actor, data: bytes, file_name: str, *,
                        outcome_column: str = OUTCOME) -> GroundTruthReport:
    """A file of outcomes (CSV, Excel, Parquet, JSON: columns ``request_id``, ``row_id`` and the outcome) stored and
    joined; a file that cannot be read, or lacks a column, raises with a one-line reason. Outcomes feed the live
    accuracy and the retrains, so uploading them takes an editor (of the actor's workspace: outcomes are matched by
    request ids, which are random, so they reach only the rows whose ids the uploader was given)."""
    store = open_store(settings())
    require(store, actor, Action.UPLOAD)
    frame = read_upload(data, file_name).frame
    report = record_outcomes(outcomes_from_frame(frame, outcome_column, what=f"'{file_name}'"))
    record(store, actor, EventKind.UPLOAD, f"true outcomes from {file_name}", f"{len(frame):,} rows")
    return report

"""The prediction log and ground truth: append scored rows in bulk, join true outcomes to them, prune old rows.

Rows come in batches from a background writer (``pipeline_core.serving.prediction_log`` through the
application layer), so :func:`append_predictions` is one multi-row ``INSERT`` per call. Outcomes are joined
on (request id, row id) when they are stored: :func:`save_ground_truth` keeps every outcome (a repeated id
replaces the earlier one) and says which ids match no logged row. :func:`prune_predictions` bounds the log
by age and by row count; the application calls it from the writer, off any request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, tuple_
from sqlmodel import Session, col

from storage.db import read, write
from storage.models import GroundTruth, PredictionLog, PredictionMinute, utcnow
from storage.prediction_minutes import add_to_minutes, count_minutes, logged_minute_span, minute_of, rebuild_minutes
from storage.store import Store

CHUNK = 400  # (request id, row id) pairs per IN (...) clause: two bound values each, far under any driver's limit
EXAMPLES = 10


@dataclass(frozen=True)
class GroundTruthJoin:
    """How one upload of outcomes met the log: stored, matched, and the ids (up to ``EXAMPLES``) that did not."""

    stored: int
    matched: int
    unmatched: int
    unmatched_examples: list[tuple[str, int]]


def append_predictions(store: Store, rows: Sequence[dict[str, Any]], *, source: str, pipeline_id: int | None,
                       model_version: int | None, model_sha256: str) -> int:
    """Insert ``rows`` (each: ``logged_at``, ``request_id``, ``row_id``, ``inputs``, ``prediction``,
    ``latency_ms``) scored by one model, and add them to the pipeline's per-minute summary, in one transaction;
    returns how many."""
    if not rows:
        return 0
    shared = {"source": source, "pipeline_id": pipeline_id, "model_version": model_version,
              "model_sha256": model_sha256}
    values = [{**shared, **row} for row in rows]
    counts = count_minutes(rows, model_version=model_version, source=source) if pipeline_id is not None else []

    def work(session: Session) -> None:
        session.execute(insert(PredictionLog.__table__), values)
        if pipeline_id is not None:
            add_to_minutes(session, pipeline_id, counts)

    write(store, work, retry_conflicts=True)
    return len(values)


def list_predictions(store: Store, *, pipeline_id: int | None = None, request_id: str | None = None,
                     source: str | None = None, limit: int = 10_000) -> list[PredictionLog]:
    """Logged rows, oldest first, optionally of one pipeline, request or source."""
    query = select(PredictionLog).order_by(col(PredictionLog.id)).limit(limit)
    if pipeline_id is not None:
        query = query.where(col(PredictionLog.pipeline_id) == pipeline_id)
    if request_id is not None:
        query = query.where(col(PredictionLog.request_id) == request_id)
    if source is not None:
        query = query.where(col(PredictionLog.source) == source)
    return read(store, lambda session: list(session.scalars(query).all()))


def count_predictions(store: Store, *, pipeline_id: int | None = None) -> int:
    query = select(func.count()).select_from(PredictionLog)
    if pipeline_id is not None:
        query = query.where(col(PredictionLog.pipeline_id) == pipeline_id)
    return int(read(store, lambda session: session.scalar(query)) or 0)


def save_ground_truth(store: Store, outcomes: Iterable[tuple[str, int, Any]]) -> GroundTruthJoin:
    """Store ``(request_id, row_id, outcome)`` triples (the last of a repeated id wins, and replaces a stored one)
    and join them to the log in the same transaction."""
    latest = {(str(r), int(i)): outcome for r, i, outcome in outcomes}
    keys = list(latest)

    def work(session: Session) -> GroundTruthJoin:
        now = utcnow()
        matched: set[tuple[str, int]] = set()
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start:start + CHUNK]
            pairs = tuple_(col(GroundTruth.request_id), col(GroundTruth.row_id)).in_(chunk)
            session.execute(delete(GroundTruth).where(pairs))
            session.execute(insert(GroundTruth), [{"request_id": r, "row_id": i, "outcome": latest[(r, i)],
                                                   "received_at": now} for r, i in chunk])
            logged = tuple_(col(PredictionLog.request_id), col(PredictionLog.row_id)).in_(chunk)
            matched |= {(r, int(i)) for r, i in session.execute(
                select(PredictionLog.request_id, PredictionLog.row_id).where(logged).distinct()).all()}
        missing = [key for key in keys if key not in matched]
        return GroundTruthJoin(stored=len(keys), matched=len(keys) - len(missing), unmatched=len(missing),
                               unmatched_examples=missing[:EXAMPLES])

    return write(store, work)


def list_ground_truth(store: Store, *, request_id: str | None = None) -> list[GroundTruth]:
    query = select(GroundTruth).order_by(col(GroundTruth.request_id), col(GroundTruth.row_id))
    if request_id is not None:
        query = query.where(col(GroundTruth.request_id) == request_id)
    return read(store, lambda session: list(session.scalars(query).all()))


@dataclass(frozen=True)
class Pruned:
    predictions: int
    ground_truths: int


def prune_predictions(store: Store, *, older_than: datetime, max_rows: int) -> Pruned:
    """Delete logged rows and outcomes from before ``older_than``, then the oldest rows beyond ``max_rows``; the
    per-minute summary loses the same rows in the same transaction (the minutes wholly before ``older_than`` are
    dropped, the ones a deletion cut into are counted again from what is left of the log)."""

    def work(session: Session) -> Pruned:
        old = session.execute(delete(PredictionLog).where(col(PredictionLog.logged_at) < older_than)).rowcount
        cut = minute_of(older_than)
        session.execute(delete(PredictionMinute).where(col(PredictionMinute.minute) < cut))
        if old:
            rebuild_minutes(session, first=cut, last=cut + 60)
        truths = session.execute(delete(GroundTruth).where(col(GroundTruth.received_at) < older_than)).rowcount
        keep_from = session.scalar(select(PredictionLog.id).order_by(col(PredictionLog.id).desc())
                                   .offset(max_rows - 1).limit(1))
        extra = 0
        if keep_from is not None:
            beyond = [col(PredictionLog.id) < keep_from]
            spans = logged_minute_span(session, beyond)
            extra = session.execute(delete(PredictionLog).where(*beyond)).rowcount
            for pipeline_id, first, last in spans:
                rebuild_minutes(session, pipeline_id=pipeline_id, first=first, last=last + 60)
        return Pruned(predictions=int(old or 0) + int(extra or 0), ground_truths=int(truths or 0))

    return write(store, work)

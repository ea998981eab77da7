"""Retrains: the record of a registered version re-run on more rows, and the labelled logged rows it adds.

A retrain trains in an ordinary run (progress, status and model live there); its :class:`~storage.models.Retrain`
row is the lineage: from which version, on which rows, and which version the result became. The labelled rows
are the prediction log's served rows (never a shadow challenger's, which repeat the same request and row ids)
joined to their true outcome, each (request id, row id) once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from storage.db import read, write
from storage.errors import StorageError
from storage.models import SHADOW_SOURCE, GroundTruth, PredictionLog, Retrain
from storage.repository import MAX_MESSAGE_LENGTH
from storage.store import Store


@dataclass(frozen=True)
class LabelledRow:
    """A logged row whose true outcome has arrived; ``inputs`` is None when the log kept no inputs for it."""

    request_id: str
    row_id: int
    inputs: dict[str, Any] | None
    outcome: Any
    received_at: datetime


def _labelled(pipeline_id: int, received_after: datetime | None) -> Any:
    """Served rows of the pipeline joined to their outcome, earliest log row first per (request id, row id).

    Driven from the outcomes: each finds its first served log row through the (request id, row id) index. Grouping
    the whole log by request and row instead read every logged row (2 s at a million rows, on every first draw of
    the Monitor page's Retrain panel); the outcomes are a fraction of the log, and each lookup touches a few rows.
    """
    served = aliased(PredictionLog)
    first = (select(func.min(served.id))
             .where(served.request_id == GroundTruth.request_id, served.row_id == GroundTruth.row_id,
                    served.pipeline_id == pipeline_id, served.source != SHADOW_SOURCE)
             .correlate(GroundTruth).scalar_subquery())
    query = (select(PredictionLog.request_id, PredictionLog.row_id, PredictionLog.inputs, GroundTruth.outcome,
                    GroundTruth.received_at)
             .select_from(GroundTruth).join(PredictionLog, col(PredictionLog.id) == first))
    if received_after is not None:
        query = query.where(col(GroundTruth.received_at) > received_after)
    return query


def labelled_rows(store: Store, pipeline_id: int, *, received_after: datetime | None = None) -> list[LabelledRow]:
    """Every served row of the pipeline whose outcome arrived (after ``received_after``, when given), oldest first."""
    query = _labelled(pipeline_id, received_after).order_by(col(PredictionLog.id))
    return read(store, lambda session: [LabelledRow(r, int(i), inputs, outcome, at)
                                        for r, i, inputs, outcome, at in session.execute(query).all()])


def count_labelled_rows(store: Store, pipeline_id: int, *, received_after: datetime | None = None) -> tuple[int, int]:
    """``(with inputs, without inputs)``: how many rows :func:`labelled_rows` would return, counted in SQL."""
    rows = _labelled(pipeline_id, received_after).subquery()
    query = select(func.count(), func.count(rows.c.inputs))

    def work(session: Session) -> tuple[int, int]:
        total, with_inputs = session.execute(query).one()
        return int(with_inputs or 0), int(total or 0) - int(with_inputs or 0)

    return read(store, work)


def create_retrain(store: Store, *, pipeline_id: int, from_version: int, run_id: int | None, dataset_id: int | None,
                   source: str, base_rows: int, added_rows: int = 0, without_inputs: int = 0,
                   file_name: str | None = None, labels_through: datetime | None = None,
                   created_by: str = "") -> Retrain:
    row = Retrain(pipeline_id=pipeline_id, from_version=from_version, run_id=run_id, dataset_id=dataset_id,
                  source=source, base_rows=base_rows, added_rows=added_rows, without_inputs=without_inputs,
                  file_name=file_name, labels_through=labels_through, created_by=created_by)

    def work(session: Session) -> Retrain:
        session.add(row)
        session.flush()
        return row

    return write(store, work)


def get_retrain(store: Store, retrain_id: int) -> Retrain | None:
    return read(store, lambda session: session.get(Retrain, retrain_id))


def list_retrains(store: Store, pipeline_id: int) -> list[Retrain]:
    """The pipeline's retrains, newest first."""
    query = select(Retrain).where(col(Retrain.pipeline_id) == pipeline_id).order_by(col(Retrain.id).desc())
    return read(store, lambda session: list(session.scalars(query).all()))


def retrain_of_version(store: Store, pipeline_id: int, version: int) -> Retrain | None:
    """The retrain whose model became ``version``, if it came from one."""
    query = select(Retrain).where(col(Retrain.pipeline_id) == pipeline_id, col(Retrain.version) == version)
    return read(store, lambda session: session.scalars(query).first())


def finish_retrain(store: Store, retrain_id: int, *, version: int | None = None, error: str | None = None) -> Retrain:
    """Record the registry version the retrained model became, or why it could not be registered."""

    def work(session: Session) -> Retrain:
        row = session.get(Retrain, retrain_id)
        if row is None:
            raise StorageError(f"Retrain #{retrain_id} does not exist (its pipeline may have been deleted).")
        row.version, row.error = version, (error or "")[:MAX_MESSAGE_LENGTH] or None
        session.add(row)
        session.flush()
        return row

    return write(store, work)

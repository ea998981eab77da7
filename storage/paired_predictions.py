"""Rows two versions of one pipeline both scored (champion and shadow challenger), with their true outcome.

A challenger in shadow scores every request the champion answers and is logged under the same request and row
ids, so one join pairs the two answers row by row; only rows whose outcome has arrived are returned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from storage.db import read
from storage.models import GroundTruth, PredictionLog
from storage.store import Store


def paired_outcomes(store: Store, pipeline_id: int, champion: int, challenger: int, *, since: datetime,
                    until: datetime) -> list[tuple[Any, Any, Any]]:
    """``(champion's prediction, challenger's prediction, outcome)`` for every labelled row both versions scored
    in [since, until) (by the champion's log time), oldest first."""
    first, second = aliased(PredictionLog), aliased(PredictionLog)

    def work(session: Session) -> list[tuple[Any, Any, Any]]:
        query = (
            select(first.prediction, second.prediction, GroundTruth.outcome)
            .join(second, and_(second.request_id == first.request_id, second.row_id == first.row_id))
            .join(GroundTruth, and_(col(GroundTruth.request_id) == first.request_id,
                                    col(GroundTruth.row_id) == first.row_id))
            .where(first.pipeline_id == pipeline_id, second.pipeline_id == pipeline_id,
                   first.model_version == champion, second.model_version == challenger,
                   first.logged_at >= since, first.logged_at < until)
            .order_by(first.id)
        )
        return [tuple(row) for row in session.execute(query).all()]

    return read(store, work)

"""Alert thresholds per pipeline: one row each, replaced as a whole when the user saves them.

The thresholds are plain JSON here (``storage`` knows nothing of drift or metrics); the application layer
(``studio.alerts``) gives them their shape and evaluates them against the prediction log.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from storage.db import read, write
from storage.errors import StorageError
from storage.models import AlertThresholds, Pipeline, utcnow
from storage.store import Store


def save_alert_thresholds(store: Store, pipeline_id: int, *, thresholds: dict[str, Any],
                          by: str = "") -> AlertThresholds:
    """Store ``thresholds`` as the pipeline's (replacing what it had), with who saved them and when."""

    def work(session: Session) -> AlertThresholds:
        if session.get(Pipeline, pipeline_id) is None:
            raise StorageError(f"Pipeline #{pipeline_id} does not exist.")
        row = session.exec(select(AlertThresholds).where(col(AlertThresholds.pipeline_id) == pipeline_id)).first()
        if row is None:
            row = AlertThresholds(pipeline_id=pipeline_id)
        row.thresholds, row.updated_by, row.updated_at = dict(thresholds), by, utcnow()
        session.add(row)
        session.flush()
        return row

    return write(store, work)


def get_alert_thresholds(store: Store, pipeline_id: int) -> AlertThresholds | None:
    """The pipeline's saved thresholds, or None when none were ever saved."""
    query = select(AlertThresholds).where(col(AlertThresholds.pipeline_id) == pipeline_id)
    return read(store, lambda session: session.exec(query).first())

"""Scoring services the app started: one row per service, its process and port, kept after it stops.

The rows are a record, not a supervisor: starting, checking and stopping processes is the application layer's
(``studio.services``). Here a service is recorded when it listens and marked stopped when it ends.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.db import read, write
from storage.errors import StorageError
from storage.models import ScoringService, utcnow
from storage.store import Store


def record_service(store: Store, *, pipeline_id: int, version: int, stage: str, pid: int, host: str, port: int,
                   started_by: str, metrics_secret: str = "") -> ScoringService:
    """Record a service that listens now (with the secret it accepts for ``/metrics``, if it was given one)."""
    row = ScoringService(pipeline_id=pipeline_id, version=version, stage=stage, pid=pid, host=host, port=port,
                         started_by=started_by, metrics_secret=metrics_secret)

    def work(session: Session) -> ScoringService:
        session.add(row)
        session.flush()
        return row

    return write(store, work)


def list_running_services(store: Store) -> list[ScoringService]:
    """Services not marked stopped, oldest first (whether their process still lives is the caller's check)."""
    query = select(ScoringService).where(col(ScoringService.stopped_at).is_(None)).order_by(col(ScoringService.id))
    return read(store, lambda session: list(session.exec(query).all()))


def get_service(store: Store, service_id: int) -> ScoringService | None:
    return read(store, lambda session: session.get(ScoringService, service_id))


def mark_service_stopped(store: Store, service_id: int) -> ScoringService:
    """Set ``stopped_at`` (once; marking a stopped service again keeps the first time)."""

    def work(session: Session) -> ScoringService:
        row = session.get(ScoringService, service_id)
        if row is None:
            raise StorageError(f"Scoring service #{service_id} does not exist.")
        if row.stopped_at is None:
            row.stopped_at = utcnow()
            session.add(row)
            session.flush()
        return row

    return write(store, work)

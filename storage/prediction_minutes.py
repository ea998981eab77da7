"""The prediction log counted per minute: rows, requests and the requests' latencies per (pipeline, minute, version,
shadow or served), which is all the Monitor's traffic figures need, so 91 days of traffic are a few thousand rows
to read however many were logged.

The summary is kept exact three ways, all counting what ``storage.prediction_stats`` counts from the log:

* :func:`add_to_minutes`: the log's writer (:func:`storage.predictions.append_predictions`) adds its batch in the
  same transaction as the rows, so a commit never leaves the two apart;
* :func:`rebuild_minutes`: regroups the log over a span in SQL; retention (:func:`storage.predictions.
  prune_predictions`) calls it for the minutes it cut into, and migration 0016 did it for the whole log;
* :func:`repair_minutes`: the same for a pipeline whose summary no longer adds up to its log (rows inserted or
  deleted behind the writer's back); :func:`read_minutes` returns the log's own row count so a reader can tell.

A request's latency is on each of its rows and counted once, from its first row (``row_id`` 0). Latencies are kept
as comma-separated text in which each value reads back to the very same double: Python's ``repr`` from the writer,
SQLite's ``printf('%!.17g')`` and PostgreSQL's shortest round-trip text from SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import BigInteger, String, Text, and_, bindparam, case, cast, delete, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from storage.db import read, write
from storage.errors import StorageError
from storage.models import SHADOW_SOURCE, PredictionLog, PredictionMinute
from storage.store import Store

NO_VERSION = -1  # the summary's version of rows scored by a model that is not registered (the log's NULL)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE = timedelta(minutes=1)
_LOG = PredictionLog.__table__
_SUMMARY = PredictionMinute.__table__


def minute_of(at: datetime) -> int:
    """The start (epoch seconds) of the UTC minute holding ``at`` (naive: UTC, as the log stores it), computed
    in whole microseconds, so a time a microsecond before a minute's end is never rounded into the next one."""
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    return (at - _EPOCH) // _MINUTE * 60


def at_minute(minute: int) -> datetime:
    return _EPOCH + timedelta(seconds=minute)


@dataclass(frozen=True)
class MinuteCount:
    """One (minute, version, shadow) group of logged rows: how many, how many requests, their latencies."""

    minute: int
    version: int
    shadow: bool
    rows: int
    latencies: tuple[float, ...]

    @property
    def requests(self) -> int:
        return len(self.latencies)


def count_minutes(rows: Sequence[dict[str, Any]], *, model_version: int | None, source: str) -> list[MinuteCount]:
    """The writer's batch (rows with ``logged_at``, ``row_id``, ``latency_ms``) per minute."""
    per: dict[int, tuple[int, list[float]]] = {}
    for row in rows:
        minute = minute_of(row["logged_at"])
        count, latencies = per.get(minute, (0, []))
        if int(row["row_id"]) == 0:
            latencies.append(float(row["latency_ms"]))
        per[minute] = (count + 1, latencies)
    version = NO_VERSION if model_version is None else int(model_version)
    return [MinuteCount(minute=m, version=version, shadow=source == SHADOW_SOURCE, rows=n, latencies=tuple(ms))
            for m, (n, ms) in sorted(per.items())]


def _statements() -> tuple[Any, Any]:
    """The writer's update and insert, built once with bound parameters so each batch only binds values
    (building and caching new expressions per group cost more than SQLite's own work for a one-row batch)."""
    c = _SUMMARY.c
    key = and_(c.pipeline_id == bindparam("p"), c.minute == bindparam("m"), c.model_version == bindparam("v"),
               c.shadow == bindparam("s"))
    added = bindparam("t", type_=String)
    latencies = case((added == "", c.latencies), (c.latencies == "", added), else_=c.latencies + "," + added)
    change = update(_SUMMARY).where(key).values(rows=c.rows + bindparam("n"), requests=c.requests + bindparam("r"),
                                                latencies=latencies)
    create = insert(_SUMMARY).values(pipeline_id=bindparam("p"), minute=bindparam("m"), model_version=bindparam("v"),
                                     shadow=bindparam("s"), rows=bindparam("n"), requests=bindparam("r"),
                                     latencies=added)
    return change, create


_UPDATE, _INSERT = _statements()


def add_to_minutes(session: Session, pipeline_id: int, counts: Sequence[MinuteCount]) -> None:
    """Add ``counts`` to the pipeline's summary, inside the caller's transaction (the one that logs the rows).

    An update, then an insert when the group is new: plain SQL on every database. Two writers creating the same new
    group at once on PostgreSQL meet the unique key; the caller's transaction is retried whole
    (``retry_conflicts``), so nothing is counted twice."""
    for count in counts:
        values = {"p": pipeline_id, "m": count.minute, "v": count.version, "s": count.shadow, "n": count.rows,
                  "r": count.requests, "t": ",".join(repr(ms) for ms in count.latencies)}
        if session.execute(_UPDATE, values).rowcount == 0:
            session.execute(_INSERT, values)


def log_minute(session: Session) -> ColumnElement[Any]:
    """The start (epoch seconds) of a logged row's minute, in the session's SQL dialect."""
    if session.get_bind().dialect.name == "sqlite":  # 'YYYY-MM-DD HH:MM' is the minute; strftime reads it as UTC
        return cast(func.strftime("%s", func.substr(_LOG.c.logged_at, 1, 16)), BigInteger)
    return cast(func.floor(func.extract("epoch", _LOG.c.logged_at) / 60) * 60, BigInteger)


def _exact_text(session: Session, value: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "sqlite":  # CAST keeps 15 digits, which does not read back exactly
        return func.printf("%!.17g", value)
    return cast(value, Text)  # PostgreSQL 12+ writes the shortest text that reads back exactly


def _joined(session: Session, value: ColumnElement[Any]) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "sqlite":
        return func.group_concat(value, ",")
    return func.string_agg(value, ",")


def rebuild_minutes(session: Session, *, pipeline_id: int | None = None, first: int | None = None,
                    last: int | None = None) -> None:
    """Replace the summary of minutes [first, last) (epoch seconds; None: unbounded) of one pipeline (None: all)
    by the log's own counts, inside the caller's transaction."""
    where: list[ColumnElement[bool]] = []
    logged: list[ColumnElement[bool]] = [col(PredictionLog.pipeline_id).is_not(None)]
    if pipeline_id is not None:
        where.append(_SUMMARY.c.pipeline_id == pipeline_id)
        logged.append(col(PredictionLog.pipeline_id) == pipeline_id)
    if first is not None:
        where.append(_SUMMARY.c.minute >= first)
        logged.append(col(PredictionLog.logged_at) >= at_minute(first))
    if last is not None:
        where.append(_SUMMARY.c.minute < last)
        logged.append(col(PredictionLog.logged_at) < at_minute(last))
    session.execute(delete(_SUMMARY).where(*where))
    minute = log_minute(session)
    version = func.coalesce(_LOG.c.model_version, NO_VERSION)
    shadow = _LOG.c.source == SHADOW_SOURCE
    first_row = _LOG.c.row_id == 0
    groups = (select(_LOG.c.pipeline_id, minute, version, shadow, func.count(),
                     func.sum(case((first_row, 1), else_=0)),
                     func.coalesce(_joined(session, case((first_row, _exact_text(session, _LOG.c.latency_ms)))), ""))
              .where(*logged).group_by(_LOG.c.pipeline_id, minute, version, shadow))
    columns = ["pipeline_id", "minute", "model_version", "shadow", "rows", "requests", "latencies"]
    session.execute(insert(_SUMMARY).from_select(columns, groups))


def logged_minute_span(session: Session, where: Sequence[ColumnElement[bool]]) -> list[tuple[int, int, int]]:
    """``(pipeline, first minute, last minute)`` of the logged rows matching ``where``, per pipeline: what a
    deletion of those rows will have to rebuild."""
    minute = log_minute(session)
    query = (select(_LOG.c.pipeline_id, func.min(minute), func.max(minute))
             .where(col(PredictionLog.pipeline_id).is_not(None), *where).group_by(_LOG.c.pipeline_id))
    return [(int(p), int(lo), int(hi)) for p, lo, hi in session.execute(query).all()]


def repair_minutes(store: Store, *, pipeline_id: int | None = None) -> int:
    """Rebuild the summary of one pipeline (None: every pipeline) from its log; returns the summary rows written."""

    def work(session: Session) -> int:
        rebuild_minutes(session, pipeline_id=pipeline_id)
        query = select(func.count()).select_from(_SUMMARY)
        if pipeline_id is not None:
            query = query.where(_SUMMARY.c.pipeline_id == pipeline_id)
        return int(session.scalar(query) or 0)

    return write(store, work)


@dataclass(frozen=True)
class MinuteTraffic:
    """A pipeline's summary over [since, until) (whole minutes), one entry per (minute, version, shadow) group in
    each column, each group's request latencies as comma-separated text; and how many rows the log itself holds in
    that span, which the groups' rows add up to unless the two disagree."""

    minutes: tuple[int, ...]
    versions: tuple[int, ...]
    shadow: tuple[bool, ...]
    rows: tuple[int, ...]
    requests: tuple[int, ...]
    latencies: tuple[str, ...]
    logged_rows: int

    @property
    def agrees(self) -> bool:
        return sum(self.rows) == self.logged_rows


def read_minutes(store: Store, pipeline_id: int, since: datetime, until: datetime) -> MinuteTraffic:
    """The summary's groups of the pipeline in [since, until) (whole minutes) and the log's row count there, read
    in one transaction (the count walks the log's (pipeline, time) index without reading a row: ~45 ms of CPU at a
    million rows, the price of noticing a summary that went wrong)."""
    low, high = minute_of(since), minute_of(until)
    if at_minute(low) != since or at_minute(high) != until:
        raise StorageError("The per-minute summary answers whole minutes only: start and end the span on a minute.")

    def work(session: Session) -> MinuteTraffic:
        query = (select(_SUMMARY.c.minute, _SUMMARY.c.model_version, _SUMMARY.c.shadow, _SUMMARY.c.rows,
                        _SUMMARY.c.requests, _SUMMARY.c.latencies)
                 .where(_SUMMARY.c.pipeline_id == pipeline_id, _SUMMARY.c.minute >= low, _SUMMARY.c.minute < high))
        result = session.connection().execute(query)
        try:  # the driver's tuples: tens of thousands of SQLAlchemy Row objects would cost more than the read
            found = result.cursor.fetchall()
        finally:
            result.close()
        count = select(func.count()).select_from(_LOG).where(
            col(PredictionLog.pipeline_id) == pipeline_id, col(PredictionLog.logged_at) >= since,
            col(PredictionLog.logged_at) < until)
        minutes, versions, shadow, rows, requests, latencies = (tuple(map(itemgetter(i), found)) for i in range(6))
        return MinuteTraffic(minutes=minutes, versions=versions, shadow=tuple(map(bool, shadow)), rows=rows,
                             requests=requests, latencies=latencies, logged_rows=int(session.scalar(count) or 0))

    return read(store, work)

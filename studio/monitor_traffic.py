"""The Monitor page's traffic, counted from one read of the log per minute: switching granularity, window or
version then costs milliseconds instead of another pass over a million rows.

:func:`traffic_log` reads a pipeline's per-minute summary (``storage.prediction_minutes``, kept by the log's writer)
over a long span: counts per minute and per-request latencies, each tagged with its version and whether it was a
shadow answer, so the first draw costs the same at a million logged rows as at a thousand; :func:`traffic_from`
counts any window of whole minutes inside that span exactly as :func:`studio.monitoring.traffic` does from the raw
log (same buckets, same rows, same quantiles of the same latencies). Its memory is one small record per busy
minute plus one number per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

import storage
from storage import NO_VERSION, StorageError, minute_traffic
from studio import monitoring, registry
from studio.roles import Actor
from studio.workspace import current_store


@dataclass(frozen=True)
class TrafficLog:
    """A pipeline's log in [since, until) per minute: rows and requests per (minute, version, shadow) group, and
    every request's minute, version, shadow flag and latency."""

    pipeline: int
    since: datetime
    until: datetime
    minutes: np.ndarray
    versions: np.ndarray
    shadow: np.ndarray
    rows: np.ndarray
    requests: np.ndarray
    request_minutes: np.ndarray
    request_versions: np.ndarray
    request_shadow: np.ndarray
    latencies: np.ndarray


def traffic_log(actor: Actor, pipeline: int, since: datetime, until: datetime) -> TrafficLog:
    """The pipeline's traffic over [since, until) (whole minutes), per minute.

    Read from the per-minute summary, after checking that it adds up to the log's own row count there (an index
    count, no row read). When it does not (rows written or deleted behind the writer's back), the pipeline's
    summary is rebuilt from the log first; on a store that cannot be written, or for a span that does not start
    and end on a minute, the log is grouped directly, as before the summary existed. Either way the numbers are
    the log's."""
    registry.get_pipeline(actor, pipeline)  # a pipeline of the actor's workspace, or not found
    store = current_store()
    if since.timestamp() % 60 or until.timestamp() % 60:
        return _from_rows(pipeline, since, until, *minute_traffic(store, pipeline, since, until))
    found = _summarised(pipeline, since, until, storage.read_minutes(store, pipeline, since, until))
    if found is None:
        try:
            storage.repair_minutes(store, pipeline_id=pipeline)
        except StorageError:
            return _from_rows(pipeline, since, until, *minute_traffic(store, pipeline, since, until))
        found = _summarised(pipeline, since, until, storage.read_minutes(store, pipeline, since, until))
    if found is None:  # the log changed between the repair and the read: count it directly this once
        return _from_rows(pipeline, since, until, *minute_traffic(store, pipeline, since, until))
    return found


def _summarised(pipeline: int, since: datetime, until: datetime, summary: storage.MinuteTraffic) -> TrafficLog | None:
    """A :class:`TrafficLog` from the summary, or None when it does not add up to the log (its rows to the log's
    count, its latencies to its requests)."""
    if not summary.agrees:
        return None
    texts = [text for text in summary.latencies if text]
    latencies = np.asarray(",".join(texts).split(","), dtype=float) if texts else np.empty(0)
    minutes, versions = np.asarray(summary.minutes, dtype=np.int64), np.asarray(summary.versions, dtype=np.int64)
    shadow, requests = np.asarray(summary.shadow, dtype=bool), np.asarray(summary.requests, dtype=np.int64)
    if latencies.size != requests.sum():  # each request's latency is kept once, with it
        return None
    return TrafficLog(pipeline=pipeline, since=since, until=until, minutes=minutes, versions=versions, shadow=shadow,
                      rows=np.asarray(summary.rows, dtype=np.int64), requests=requests,
                      request_minutes=np.repeat(minutes, requests), request_versions=np.repeat(versions, requests),
                      request_shadow=np.repeat(shadow, requests), latencies=latencies)


def _from_rows(pipeline: int, since: datetime, until: datetime, groups: list[tuple],
               requests: list[tuple]) -> TrafficLog:
    """A :class:`TrafficLog` from the log's own per-minute groups and request latencies."""

    def column(records: list[tuple], i: int, kind: type) -> np.ndarray:
        values = [NO_VERSION if r[i] is None else r[i] for r in records]
        return np.asarray(values, dtype=kind)

    return TrafficLog(pipeline=pipeline, since=since, until=until, minutes=column(groups, 0, np.int64),
                      versions=column(groups, 1, np.int64), shadow=column(groups, 2, bool),
                      rows=column(groups, 3, np.int64), requests=column(groups, 4, np.int64),
                      request_minutes=column(requests, 0, np.int64), request_versions=column(requests, 1, np.int64),
                      request_shadow=column(requests, 2, bool), latencies=column(requests, 3, float))


def traffic_from(actor: Actor, log: TrafficLog, *, since: datetime, until: datetime,
                 granularity: monitoring.Granularity,
                 version: int | None) -> list[monitoring.TrafficBucket]:
    """:func:`studio.monitoring.traffic` of the window, counted from ``log``; a window the log cannot answer
    exactly (not whole minutes, or reaching outside the log's span) is read from the database instead."""
    window = {"since": since, "until": until, "granularity": granularity, "version": version}
    whole = since.timestamp() % 60 == 0 and until.timestamp() % 60 == 0
    if not whole or since < log.since or until > log.until:
        return monitoring.traffic(actor, log.pipeline, **window)
    _, starts = monitoring.window_of(actor, log.pipeline, since, until, granularity, version)
    seconds = monitoring.SECONDS[granularity]
    low, high = since.timestamp(), until.timestamp()

    def chosen(minutes: np.ndarray, versions: np.ndarray, shadow: np.ndarray) -> np.ndarray:
        inside = (minutes >= low) & (minutes < high)
        return inside & (versions == version if version is not None else ~shadow)

    keep = chosen(log.minutes, log.versions, log.shadow)
    buckets = log.minutes[keep] // seconds * seconds
    rows = np.bincount((buckets - starts[0]) // seconds, weights=log.rows[keep], minlength=len(starts))
    requests = np.bincount((buckets - starts[0]) // seconds, weights=log.requests[keep], minlength=len(starts))
    volume = {start: (int(rows[i]), int(requests[i])) for i, start in enumerate(starts) if rows[i]}
    keep = chosen(log.request_minutes, log.request_versions, log.request_shadow)
    at = log.request_minutes[keep] // seconds * seconds
    order = np.argsort(at, kind="stable")
    cuts = np.searchsorted(at[order], starts[1:])
    latencies = dict(zip(starts, np.split(log.latencies[keep][order], cuts), strict=True))
    return monitoring.traffic_buckets(starts, volume, latencies)

"""The Monitor page's numbers, cached by what they are computed from so a rerun that changes nothing recomputes
nothing: at a million logged rows each aggregate costs seconds, and every widget click reruns the whole page.

A cache entry is keyed by the pipeline, the window (whole buckets, so the key holds still until the next bucket
starts), granularity, version and :func:`studio.monitoring.content_marker` — the log's and the outcomes' lowest
and highest ids and the registry's versions, read from indexes in milliseconds. A newly logged row, a stored
outcome or a stage change moves the marker, so a figure is never stale; going back to a window already seen is
free. Entries are few and small (per-bucket numbers, at most 2,000 buckets), so memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import streamlit as st

from pages import session
from studio import alerts, monitor_drift, monitor_traffic, monitor_violations, monitoring, retrain
from studio.alert_thresholds import AlertThresholds
from studio.roles import Actor

ENTRIES = 32  # per figure kind: a user's recent windows × granularities × versions
REACH = timedelta(days=91)  # the traffic read once per log content: the page's longest window, in whole days


@dataclass(frozen=True)
class View:
    """What one draw of the page shows: the pipeline's log over whole buckets of [since, until), and the marker
    of the log's content it was read at."""

    actor: Actor  # part of every cache key: one member's figures are never served to someone else
    pipeline: int
    since: datetime
    until: datetime
    granularity: monitoring.Granularity
    version: int | None
    marker: tuple[object, ...]

    @property
    def window(self) -> dict[str, object]:
        """The studio functions' keyword arguments."""
        return {"since": self.since, "until": self.until, "granularity": self.granularity, "version": self.version}


def view(pipeline: int, span: timedelta, granularity: monitoring.Granularity, version: int | None,
         now: datetime | None = None) -> View:
    """The last ``span`` up to now, as whole buckets: from the first bucket starting inside the span to the end of
    the current one (the only rows after now are ones not logged yet, and those move the marker)."""
    since, until = whole_buckets(now or datetime.now(UTC), span, granularity)
    actor = session.actor()
    return View(actor=actor, pipeline=pipeline, since=since, until=until, granularity=granularity, version=version,
                marker=monitoring.content_marker(actor, pipeline))


def whole_buckets(now: datetime, span: timedelta, granularity: monitoring.Granularity) -> tuple[datetime, datetime]:
    """[since, until) covering ``span`` back from ``now`` in whole buckets: since rounded up (a first bucket only
    partly inside the span is left out), until the end of the bucket holding now."""
    seconds = monitoring.SECONDS[granularity]
    at = now.timestamp()
    until = (int(at) // seconds + 1) * seconds
    since = -(-int(at - span.total_seconds()) // seconds) * seconds
    return datetime.fromtimestamp(since, UTC), datetime.fromtimestamp(until, UTC)


def _key(v: View) -> tuple[object, ...]:
    return v.actor, v.pipeline, v.since, v.until, v.granularity, v.version, v.marker


def traffic(v: View) -> list[monitoring.TrafficBucket]:
    """Counted from the pipeline's per-minute traffic over the page's longest window, read once per log content
    (a granularity, window or version click re-counts it in milliseconds)."""
    day = monitoring.SECONDS["day"]
    end = -(-int(v.until.timestamp()) // day) * day  # the end of the day holding the window's end
    log = _traffic_log(v.actor, v.pipeline, datetime.fromtimestamp(end - REACH.total_seconds(), UTC),
                       datetime.fromtimestamp(end, UTC), v.marker)
    return monitor_traffic.traffic_from(v.actor, log, **v.window)


def distribution(v: View) -> monitoring.PredictionDistribution:
    return _distribution(*_key(v))


def performance(v: View) -> monitoring.LivePerformance:
    return _performance(*_key(v))


def drift(v: View) -> monitor_drift.DriftOverTime:
    return _drift(*_key(v))


def violations(v: View) -> monitor_violations.ViolationsOverTime:
    return _violations(*_key(v))


def checks(v: View, thresholds: AlertThresholds, ranker: alerts.Ranker) -> list[alerts.Check]:
    """The alert checks of ``thresholds``; drift is the Drift view's cached computation, measured once for both."""
    if thresholds.is_empty():
        return []
    return _checks(*_key(v), thresholds.model_dump_json(), ranker)


def pending_rows(pipeline: int, version: int, latest: tuple[object, ...]) -> retrain.RetrainRows:
    """The labelled rows a retrain would add (a join of the outcomes with the log: seconds at a million rows),
    cached by the log's content and ``latest``, the newest retrain's (id, running) (it moves what counts as new)."""
    actor = session.actor()
    return _pending_rows(actor, pipeline, version, monitoring.content_marker(actor, pipeline), latest)


@st.cache_data(show_spinner="Counting the newly labelled rows…", max_entries=ENTRIES)
def _pending_rows(actor: Actor, pipeline: int, version: int, marker: tuple[object, ...],
                  latest: tuple[object, ...]) -> retrain.RetrainRows:
    return retrain.pending_rows(actor, pipeline, version)


def _window(since: datetime, until: datetime, granularity: monitoring.Granularity,
            version: int | None) -> dict[str, object]:
    return {"since": since, "until": until, "granularity": granularity, "version": version}


@st.cache_data(show_spinner="Counting the traffic…", max_entries=2)
def _traffic_log(actor: Actor, pipeline: int, since: datetime, until: datetime,
                 marker: tuple[object, ...]) -> monitor_traffic.TrafficLog:
    return monitor_traffic.traffic_log(actor, pipeline, since, until)


@st.cache_data(show_spinner="Counting the predictions…", max_entries=ENTRIES)
def _distribution(actor: Actor, pipeline: int, since: datetime, until: datetime, granularity: monitoring.Granularity,
                  version: int | None, marker: tuple[object, ...]) -> monitoring.PredictionDistribution:
    return monitoring.prediction_distribution(actor, pipeline, **_window(since, until, granularity, version))


@st.cache_data(show_spinner="Scoring the labelled rows…", max_entries=ENTRIES)
def _performance(actor: Actor, pipeline: int, since: datetime, until: datetime, granularity: monitoring.Granularity,
                 version: int | None, marker: tuple[object, ...]) -> monitoring.LivePerformance:
    return monitoring.live_performance(actor, pipeline, **_window(since, until, granularity, version))


@st.cache_data(show_spinner="Measuring drift per bucket…", max_entries=ENTRIES)
def _drift(actor: Actor, pipeline: int, since: datetime, until: datetime, granularity: monitoring.Granularity,
           version: int | None, marker: tuple[object, ...]) -> monitor_drift.DriftOverTime:
    return monitor_drift.drift_over_time(actor, pipeline, **_window(since, until, granularity, version))


@st.cache_data(show_spinner="Counting rule violations…", max_entries=ENTRIES)
def _violations(actor: Actor, pipeline: int, since: datetime, until: datetime, granularity: monitoring.Granularity,
                version: int | None, marker: tuple[object, ...]) -> monitor_violations.ViolationsOverTime:
    return monitor_violations.violations_over_time(actor, pipeline, **_window(since, until, granularity, version))


@st.cache_data(show_spinner="Checking the alert thresholds…", max_entries=ENTRIES)
def _checks(actor: Actor, pipeline: int, since: datetime, until: datetime, granularity: monitoring.Granularity,
            version: int | None, marker: tuple[object, ...], thresholds: str,
            _ranker: alerts.Ranker) -> list[alerts.Check]:
    def drifter(name: str | int, **window: object) -> monitor_drift.DriftOverTime:
        return _drift(actor, pipeline, window["since"], window["until"], window["granularity"], window["version"],
                      marker)

    limits = AlertThresholds.model_validate_json(thresholds)
    return alerts.assess(limits, alerts.measure(actor, pipeline, **_window(since, until, granularity, version),
                                                thresholds=limits, ranker=_ranker, drifter=drifter))

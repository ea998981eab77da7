"""What the Monitor page draws from the prediction log, per time bucket: traffic and latency, what the model
predicted (class shares, or value quantiles for a regressor), and how right it was on the rows whose true
outcome has arrived (live accuracy or mean absolute error, with an interval, next to the CV estimate).

Counting is done in SQL (``storage.prediction_stats``); here the buckets of the window are filled in (a
bucket without traffic is a zero, not a gap a chart would draw across) and typed. Latency quantiles are over
requests, not rows: a 1,000-row request is one latency. Buckets start at multiples of the granularity in UTC.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from storage import (
    LogWindow,
    StorageError,
    Store,
    bucket_volume,
    labelled_predictions,
    log_marker,
    prediction_counts,
    prediction_values,
    request_latencies,
)
from studio import registry
from studio.roles import Actor
from studio.workspace import current_store

Granularity = Literal["minute", "hour", "day"]
SECONDS: dict[str, int] = {"minute": 60, "hour": 3_600, "day": 86_400}
MAX_BUCKETS = 2_000  # a window this many buckets long is refused: ask for a coarser granularity
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
DISTINCT_CLASSES = 50  # more distinct numbers than this, with no registry task to say otherwise: values


@dataclass(frozen=True)
class TrafficBucket:
    """One bucket's volume and request latency (latencies None when no request started in it)."""

    start: datetime
    rows: int
    requests: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_max_ms: float | None


@dataclass(frozen=True)
class ClassShares:
    """Rows per predicted class in one bucket, and each class's share of the bucket's rows."""

    start: datetime
    rows: int
    counts: dict[str, int]

    def share(self, label: str) -> float:
        return self.counts.get(label, 0) / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class ValueQuantiles:
    """The predicted values' 5th, 25th, 50th, 75th and 95th percentiles and mean in one bucket (None: no rows)."""

    start: datetime
    rows: int
    quantiles: tuple[float, ...] | None
    mean: float | None


@dataclass(frozen=True)
class PredictionDistribution:
    """``classes`` for a classifier or clusterer (with every label seen in the window), ``values`` for a regressor."""

    kind: Literal["classes", "values"]
    labels: list[str]
    classes: list[ClassShares]
    values: list[ValueQuantiles]


def window_of(actor: Actor, pipeline: str | int, since: datetime, until: datetime, granularity: str,
              version: int | None) -> tuple[LogWindow, list[int]]:
    """The storage window of a pipeline's log and the start (epoch seconds) of each of its buckets, or a one-line
    refusal of an unknown granularity, a naive or reversed window, or one too long to draw."""
    if granularity not in SECONDS:
        raise StorageError(f"Granularity {granularity!r} is not one of {', '.join(SECONDS)}.")
    if since.tzinfo is None or until.tzinfo is None:
        raise StorageError("Give the window's start and end with a time zone (UTC).")
    if until <= since:
        raise StorageError("The window ends before it starts: pick an end after the start.")
    seconds = SECONDS[granularity]
    first = int(since.timestamp()) // seconds * seconds
    starts = list(range(first, int(np.ceil(until.timestamp())), seconds))
    if len(starts) > MAX_BUCKETS:
        raise StorageError(f"The window holds {len(starts):,} {granularity}s, more than {MAX_BUCKETS:,} points a "
                           "chart can show: pick a coarser granularity or a shorter window.")
    pipeline_id = registry.get_pipeline(actor, pipeline).id
    return LogWindow(pipeline_id=pipeline_id, since=since, until=until, bucket_seconds=seconds,
                     version=version), starts


def content_marker(actor: Actor, pipeline: str | int) -> tuple[object, ...]:
    """What every aggregate of a pipeline's log depends on besides its window, in a few indexed lookups: which
    store, the log's and the outcomes' fingerprint (:func:`storage.log_marker`), and the pipeline's registered
    versions and stages (the task, the CV estimate and drift's reference come from them). Equal markers, equal
    results: a cache keyed by window and marker never serves a stale figure."""
    versions = registry.list_model_versions(actor, pipeline)
    store = current_store()
    return (store.url, *log_marker(store), tuple((v.version, v.stage, v.dataset_id) for v in versions))


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def traffic(actor: Actor, pipeline: str | int, *, since: datetime, until: datetime, granularity: Granularity = "hour",
            version: int | None = None) -> list[TrafficBucket]:
    """Rows, requests and request latency (p50, p95, max) per bucket of [since, until), empty buckets included."""
    window, starts = window_of(actor, pipeline, since, until, granularity, version)
    store = current_store()
    volume = {b: (rows, requests) for b, rows, requests in bucket_volume(store, window)}
    latencies: dict[int, list[float]] = defaultdict(list)
    for b, ms in request_latencies(store, window):
        latencies[b].append(ms)
    return traffic_buckets(starts, volume, {b: np.asarray(ms, dtype=float) for b, ms in latencies.items()})


def traffic_buckets(starts: list[int], volume: dict[int, tuple[int, int]],
                    latencies: dict[int, np.ndarray]) -> list[TrafficBucket]:
    """Typed buckets from ``(rows, requests)`` and request latencies per bucket start (epoch seconds); a start
    missing from either has no rows or no latency."""
    found = []
    for start in starts:
        rows, requests = volume.get(start, (0, 0))
        values = latencies.get(start, np.empty(0))
        p50, p95 = (np.quantile(values, [0.5, 0.95]).tolist() if values.size else (None, None))
        found.append(TrafficBucket(start=_at(start), rows=rows, requests=requests, latency_p50_ms=p50,
                                   latency_p95_ms=p95, latency_max_ms=float(values.max()) if values.size else None))
    return found


def prediction_distribution(actor: Actor, pipeline: str | int, *, since: datetime, until: datetime,
                            granularity: Granularity = "hour", version: int | None = None) -> PredictionDistribution:
    """What the model predicted per bucket: class counts for a classifier or clusterer (the registry's task says
    which), quantiles of the values for a regressor."""
    window, starts = window_of(actor, pipeline, since, until, granularity, version)
    store = current_store()
    if _is_regression(actor, pipeline, store, window):
        per: dict[int, list[float]] = defaultdict(list)
        for b, value in prediction_values(store, window):
            if isinstance(value, int | float) and not isinstance(value, bool):
                per[b].append(float(value))
        values = []
        for start in starts:
            got = np.asarray(per.get(start, []), dtype=float)
            values.append(ValueQuantiles(start=_at(start), rows=int(got.size),
                                         quantiles=tuple(np.quantile(got, QUANTILES).tolist()) if got.size else None,
                                         mean=float(got.mean()) if got.size else None))
        return PredictionDistribution(kind="values", labels=[], classes=[], values=values)
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for b, text, n in prediction_counts(store, window):
        label = _label(text)
        counts[b][label] = counts[b].get(label, 0) + n
    labels = sorted({label for per_bucket in counts.values() for label in per_bucket})
    classes = [ClassShares(start=_at(s), rows=sum(counts.get(s, {}).values()), counts=dict(counts.get(s, {})))
               for s in starts]
    return PredictionDistribution(kind="classes", labels=labels, classes=classes, values=[])


@dataclass(frozen=True)
class PerformanceBucket:
    """The live metric on one bucket's rows whose true outcome has arrived, with a 95% interval (None: no rows).

    Accuracy's interval is Wilson's (sound for small counts and for shares near 0 or 1); the mean absolute
    error's is the normal one around the mean (mean ± 1.96 standard errors).
    """

    start: datetime
    rows: int
    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class LivePerformance:
    """``metric`` (``accuracy`` or ``mean_absolute_error``) per bucket, and the registered version's
    cross-validated estimate of it when the registry has one, for the page to draw next to it."""

    metric: str
    buckets: list[PerformanceBucket]
    cv_estimate: float | None


def live_performance(actor: Actor, pipeline: str | int, *, since: datetime, until: datetime,
                     granularity: Granularity = "day",
                     version: int | None = None) -> LivePerformance:
    """Accuracy (classifiers) or mean absolute error (regressors) per bucket, on the logged rows joined to their
    ground truth; rows without an outcome yet are not counted."""
    window, starts = window_of(actor, pipeline, since, until, granularity, version)
    store = current_store()
    regression = _is_regression(actor, pipeline, store, window)
    per: dict[int, list[float]] = defaultdict(list)
    for b, predicted, actual in labelled_predictions(store, window):
        if regression:
            got, truth = _numeric(predicted), _numeric(actual)
            if got is not None and truth is not None:
                per[b].append(abs(got - truth))
        else:
            per[b].append(float(_same(predicted, actual)))
    buckets = [_performance(_at(s), np.asarray(per.get(s, []), dtype=float), regression) for s in starts]
    metric = "mean_absolute_error" if regression else "accuracy"
    return LivePerformance(metric=metric, buckets=buckets, cv_estimate=_cv_estimate(actor, pipeline, version,
                           regression))


def _performance(start: datetime, scores: np.ndarray, regression: bool) -> PerformanceBucket:
    n = int(scores.size)
    if not n:
        return PerformanceBucket(start=start, rows=0, value=None, low=None, high=None)
    mean = float(scores.mean())
    if regression:
        half = 1.96 * float(scores.std(ddof=1)) / float(np.sqrt(n)) if n > 1 else float("inf")
        return PerformanceBucket(start=start, rows=n, value=mean, low=max(mean - half, 0.0), high=float(mean + half))
    z = 1.96
    centre = (mean + z * z / (2 * n)) / (1 + z * z / n)
    half = z * float(np.sqrt(mean * (1 - mean) / n + z * z / (4 * n * n))) / (1 + z * z / n)
    return PerformanceBucket(start=start, rows=n, value=mean, low=centre - half, high=centre + half)


def _same(predicted: object, actual: object) -> bool:
    """Whether a prediction equals its outcome as labels: ``1``, ``1.0`` and ``"1"`` are the same class."""
    return as_label(predicted) == as_label(actual)


def as_label(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _cv_estimate(actor: Actor, pipeline: str | int, version: int | None, regression: bool) -> float | None:
    """The registered version's cross-validated accuracy or MAE (the newest version when none is named)."""
    versions = registry.list_model_versions(actor, pipeline)
    chosen = [v for v in versions if version is None or v.version == version]
    if not chosen:
        return None
    metrics = max(chosen, key=lambda v: v.version).metrics
    name = "neg_mean_absolute_error" if regression else "accuracy"
    value = metrics.cv.get(name)
    return None if value is None else abs(value) if regression else value


def _label(text: str) -> str:
    """A class as people read it: the JSON text of the stored prediction, unquoted."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, str) else json.dumps(value)


def _is_regression(actor: Actor, pipeline: str | int, store: Store, window: LogWindow) -> bool:
    """The task of the pipeline's newest registered version (recorded from its training run); for a pipeline
    without one, whether the logged predictions look like values (numbers, not all whole, or many distinct)."""
    versions = registry.list_model_versions(actor, pipeline)
    task = max(versions, key=lambda v: v.version).metrics.task if versions else None
    if task is not None:
        return task == "regression"
    seen = {text for _, text, _ in prediction_counts(store, window)}
    numbers = [_number(text) for text in seen]
    if not numbers or any(n is None for n in numbers):
        return False
    return len(numbers) > DISTINCT_CLASSES or any(not float(n).is_integer() for n in numbers)


def _number(text: str) -> float | None:
    try:
        return _numeric(json.loads(text))
    except ValueError:
        return None


def _numeric(value: object) -> float | None:
    """A number as a float; text (an outcome read from a file as text) only when it parses as one."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

"""The service's Prometheus metrics, each app with its own registry.

prometheus-client's default registry is process-global: two services (or two test apps) in one process
would then share, and clash on, the same metric names. Each :class:`ServiceMetrics` owns a
``CollectorRegistry``, and ``GET /metrics`` renders only that one.

Metric names (all prefixed ``scoring_``):

- ``requests_total{endpoint,status}`` and ``request_seconds{endpoint}`` (histogram): every request, including
  refused ones; ``endpoint`` is the route (``/predict``...) or ``other`` for unknown paths, so a scan of random
  URLs cannot grow the label set;
- ``rows_total``: rows scored; ``predictions_total{prediction}`` (classifiers and clusterers) or
  ``predicted_value`` (a summary: count and sum, for regressors);
- ``rule_violations_total{rule,column}``: quality-rule violations found in scored rows;
- ``model_info{name,version,sha256,task,model,created}``: which model this process serves (now: it changes when
  the service swaps to another version); ``model_reloads_total`` and ``model_reload_failures_total`` count swaps;
- ``hook_errors_total``: failures of the ``on_scored`` hook (scoring still answered);
- with a prediction log: ``prediction_log_written_rows_total``, ``prediction_log_dropped_rows_total`` (the queue
  was full: those rows were scored and answered but not logged), ``prediction_log_failed_rows_total`` (the
  database refused a batch) and ``prediction_log_queued_rows`` (waiting to be written now);
- with alert thresholds: ``alert{pipeline,kind,feature}`` (1 crossed, 0 not, one per threshold and drift feature),
  ``alert_evaluated_timestamp_seconds`` (when they were last evaluated, in a background thread) and
  ``alert_evaluation_failures_total``.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, Info, Summary, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from pipeline_core.serving.alerts import AlertSnapshot
from pipeline_core.serving.prediction_log import LogStats
from pipeline_core.serving.schema import ModelIdentity
from pipeline_core.serving.scoring import ScoredBatch
from pipeline_core.serving.shadow import ShadowStats

PREFIX = "scoring"
CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    """The counters one service updates; ``render()`` is the body of ``GET /metrics``."""

    def __init__(self, identity: ModelIdentity, *, classifies: bool):
        self.registry = CollectorRegistry(auto_describe=True)
        self.classifies = classifies
        self.requests = Counter(f"{PREFIX}_requests", "HTTP requests by endpoint and status code",
                                ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram(f"{PREFIX}_request_seconds", "Time from request to response, by endpoint",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.rows = Counter(f"{PREFIX}_rows", "Rows scored", registry=self.registry)
        self.violations = Counter(f"{PREFIX}_rule_violations", "Quality-rule violations in scored rows",
                                  ["rule", "column"], registry=self.registry)
        self.hook_errors = Counter(f"{PREFIX}_hook_errors", "Failures of the on_scored hook",
                                   registry=self.registry)
        if classifies:
            self.predictions = Counter(f"{PREFIX}_predictions", "Predictions by predicted class or cluster",
                                       ["prediction"], registry=self.registry)
        else:
            self.values = Summary(f"{PREFIX}_predicted_value", "Predicted values (count and sum)",
                                  registry=self.registry)
        self.model = Info(f"{PREFIX}_model", "The model this service runs", registry=self.registry)
        self.set_model(identity)
        self.reloads = Counter(f"{PREFIX}_model_reloads", "Times the service swapped to another model version",
                               registry=self.registry)
        self.reload_failures = Counter(f"{PREFIX}_model_reload_failures",
                                       "Times a new model version could not be loaded or served (the old one stayed)",
                                       registry=self.registry)

    def set_model(self, identity: ModelIdentity) -> None:
        """Name the model served from now on (``model_info``), e.g. after a swap to a newly promoted version."""
        self.model.info({k: str(v) for k, v in identity.model_dump().items()})

    def observe_request(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def observe_batch(self, batch: ScoredBatch) -> None:
        self.rows.inc(len(batch.predictions))
        if self.classifies:
            for label, count in Tally(map(str, batch.predictions)).items():
                self.predictions.labels(label).inc(count)
        else:
            for value in batch.predictions:
                self.values.observe(float(value))
        for (rule, column), count in Tally((v.rule, v.column) for v in batch.violations).items():
            self.violations.labels(rule, column).inc(count)

    def watch_log(self, stats: Callable[[], LogStats]) -> None:
        """Report a prediction log writer's counts, read at each scrape (the writer keeps them, not us)."""
        self.registry.register(_LogCollector(stats))

    def watch_shadow(self, stats: Callable[[], ShadowStats]) -> None:
        """Report a shadow challenger's counts, read at each scrape."""
        self.registry.register(_ShadowCollector(stats))

    def watch_alerts(self, snapshot: Callable[[], AlertSnapshot], pipeline: str) -> None:
        """Report the last alert evaluation (an :class:`~pipeline_core.serving.alerts.AlertWatcher`'s), read at each
        scrape without evaluating anything."""
        self.registry.register(_AlertCollector(snapshot, pipeline))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _LogCollector(Collector):
    def __init__(self, stats: Callable[[], LogStats]):
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        now = self.stats()
        name = f"{PREFIX}_prediction_log"
        yield CounterMetricFamily(f"{name}_written_rows", "Scored rows written to the prediction log",
                                  value=now.written)
        yield CounterMetricFamily(f"{name}_dropped_rows", "Scored rows not logged because the log's queue was full",
                                  value=now.dropped)
        yield CounterMetricFamily(f"{name}_failed_rows", "Scored rows lost because the log's database failed",
                                  value=now.failed)
        yield GaugeMetricFamily(f"{name}_queued_rows", "Scored rows waiting to be written to the log",
                                value=now.queued)


class _ShadowCollector(Collector):
    def __init__(self, stats: Callable[[], ShadowStats]):
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        now = self.stats()
        name = f"{PREFIX}_shadow"
        yield CounterMetricFamily(f"{name}_scored_requests", "Requests the shadow challenger scored", value=now.scored)
        yield CounterMetricFamily(f"{name}_dropped_requests", "Requests the shadow challenger skipped (queue full)",
                                  value=now.dropped)
        yield CounterMetricFamily(f"{name}_failed_requests", "Requests the shadow challenger could not score",
                                  value=now.failed)


class _AlertCollector(Collector):
    def __init__(self, snapshot: Callable[[], AlertSnapshot], pipeline: str):
        self.snapshot = snapshot
        self.pipeline = pipeline

    def collect(self) -> Iterator[Metric]:
        now = self.snapshot()
        gauge = GaugeMetricFamily(f"{PREFIX}_alert", "1 when an alert threshold is crossed, 0 when not",
                                  labels=["pipeline", "kind", "feature"])
        for state in now.states:
            gauge.add_metric([self.pipeline, state.kind, state.feature], 1.0 if state.crossed else 0.0)
        yield gauge
        if now.evaluated_at is not None:
            yield GaugeMetricFamily(f"{PREFIX}_alert_evaluated_timestamp_seconds",
                                    "When the alert thresholds were last evaluated (Unix time)", value=now.evaluated_at)
        yield CounterMetricFamily(f"{PREFIX}_alert_evaluation_failures", "Alert evaluations that failed",
                                  value=now.failures)

"""Alerts: the one place that decides which of a pipeline's thresholds the prediction log has crossed.

:func:`measure` reads what the thresholds need over a window (live performance, drift per feature, rule
violations, the most important features); :func:`assess` compares those numbers with the thresholds and gives
one :class:`Check` per threshold and subject (a drift check per feature), each saying its value, its bound, by
how much it is crossed and from which bucket. The Monitor page and ``python -m studio monitor`` call
:func:`evaluate`/:func:`assess`, and a scoring service's ``/metrics`` reads :func:`service_checks` in a
background thread, so all three agree on what is crossed.

A drift check crosses when the feature's PSI in any bucket of the window is above its bound; performance and
violation checks compare the whole window's value (its labelled or scored rows pooled), and say from which
bucket the bucket's own value first crossed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Literal

import numpy as np
from pydantic import BaseModel

import storage
from pipeline_core.analysis.quality import raw_target
from pipeline_core.compiler.schema import model_features
from pipeline_core.serving.alerts import AlertState, AlertWatcher
from pipeline_core.training.evaluate import permutation_importance_frame
from storage import StorageError, labelled_predictions
from studio import monitor_drift, monitoring, registry
from studio.alert_thresholds import AlertThresholds, get_thresholds
from studio.models import load_stored_model
from studio.monitor_violations import ViolationsOverTime, violations_over_time
from studio.roles import Actor
from studio.settings import Settings, settings
from studio.workspace import current_store

CheckKind = Literal["drift", "accuracy", "balanced_accuracy", "mean_absolute_error", "drop_from_cv", "violation_rate"]
IMPORTANCE_ROWS = 1_000  # training rows permutation importance ranks features on
Ranker = Callable[[str | int, int], list[str]]  # (pipeline, registered version) -> features, most important first
Drifter = Callable[..., monitor_drift.DriftOverTime]  # (pipeline, since=, until=, granularity=, version=)


class Check(BaseModel):
    """One threshold against the window: ``subject`` is the feature for drift, else empty."""

    kind: CheckKind
    subject: str = ""
    bound: float
    value: float | None
    crossed: bool
    since: datetime | None = None  # when crossed: the first bucket whose own value crossed the bound
    rows: int = 0  # rows the value rests on (labelled rows for performance, scored rows for violations)

    @property
    def excess(self) -> float:
        """By how much the value is past the bound (0 when not crossed)."""
        if not self.crossed or self.value is None:
            return 0.0
        return abs(self.value - self.bound)

    def sentence(self) -> str:
        """One line, e.g. ``drift: 'tenure' reached PSI 0.312, above 0.2 by 0.112, since 2026-11-27 09:00 UTC``."""
        value = "no value" if self.value is None else f"{self.value:.4g}"
        since = f", since {self.since:%Y-%m-%d %H:%M} UTC" if self.since else ""
        by = f" by {self.excess:.3g}" if self.crossed else ""
        if self.kind == "drift":
            return f"drift: '{self.subject}' reached PSI {value}, {'above' if self.crossed else 'within'} " \
                   f"{self.bound:g}{by}{since}"
        words = {"accuracy": ("live accuracy", "below"), "balanced_accuracy": ("live balanced accuracy", "below"),
                 "mean_absolute_error": ("live mean absolute error", "above"),
                 "drop_from_cv": ("live score worse than the cross-validated estimate by", "more than"),
                 "violation_rate": ("share of rows breaking a quality rule", "above")}[self.kind]
        on = f" on {self.rows:,} {'scored' if self.kind == 'violation_rate' else 'labelled'} rows"
        return f"{'violations' if self.kind == 'violation_rate' else 'performance'}: {words[0]} {value}{on}, " \
               f"{words[1] if self.crossed else 'within'} {self.bound:g}{by}{since}"


@dataclass(frozen=True)
class BalancedAccuracy:
    """Live balanced accuracy over the window and per bucket (start, value or None, labelled rows)."""

    value: float | None
    rows: int
    buckets: list[tuple[datetime, float | None]]


@dataclass(frozen=True)
class Measurements:
    """What thresholds are compared with, over one window (None: not measured, or not measurable)."""

    performance: monitoring.LivePerformance
    balanced: BalancedAccuracy | None
    drift: monitor_drift.DriftOverTime | None
    drift_note: str | None
    violations: ViolationsOverTime
    important: list[str] | None  # features, most important first


def measure(actor: Actor, pipeline: str | int, *, since: datetime, until: datetime, granularity: monitoring.Granularity,
            thresholds: AlertThresholds, version: int | None = None, drift: bool | None = None,
            ranker: Ranker | None = None, drifter: Drifter | None = None) -> Measurements:
    """The numbers ``thresholds`` need; drift is measured when a drift threshold is set (or ``drift`` is True).

    Drift that cannot be measured (no registered model, no training data) is a note, not an error, so the other
    checks still stand. ``ranker`` ranks features by importance for ``top_k`` (default :func:`important_features`;
    a service passes a cached one, since the ranking only changes with the model); ``drifter`` measures drift
    (default :func:`monitor_drift.drift_over_time`; the Monitor page passes its cached one, so the alerts and the
    Drift view share one computation).
    """
    window = {"since": since, "until": until, "granularity": granularity, "version": version}
    performance = monitoring.live_performance(actor, pipeline, **window)
    balanced = None
    if thresholds.min_balanced_accuracy is not None and performance.metric == "accuracy":
        balanced = _balanced_accuracy(actor, pipeline, **window)
    found, note, important = None, None, None
    if drift if drift is not None else (thresholds.max_psi is not None or bool(thresholds.feature_psi)):
        try:
            found = (drifter or partial(monitor_drift.drift_over_time, actor))(pipeline, **window)
        except StorageError as e:
            note = str(e)
        if found is not None and thresholds.top_k is not None and thresholds.max_psi is not None:
            important = (ranker or partial(important_features, actor))(pipeline, found.version)
    return Measurements(performance=performance, balanced=balanced, drift=found,
                        drift_note=note, violations=violations_over_time(actor, pipeline, **window),
                                                                         important=important)


def assess(thresholds: AlertThresholds, measured: Measurements) -> list[Check]:
    """One check per set threshold (per feature for drift), crossed or not; crossed ones first, worst first."""
    checks = _drift_checks(thresholds, measured) + _performance_checks(thresholds, measured)
    if thresholds.max_violation_rate is not None:
        found = measured.violations
        rate = found.violating_rows / found.rows if found.rows else None
        checks.append(_check("violation_rate", "", thresholds.max_violation_rate, rate, above=True, rows=found.rows,
                             buckets=[(b.start, b.rate) for b in found.buckets]))
    return sorted(checks, key=lambda c: (not c.crossed, -c.excess))


def evaluate(actor: Actor, pipeline: str | int, *, since: datetime, until: datetime,
             granularity: monitoring.Granularity = "hour",
             thresholds: AlertThresholds | None = None, version: int | None = None,
             ranker: Ranker | None = None) -> list[Check]:
    """The checks of ``thresholds`` (default: the pipeline's stored ones) over [since, until)."""
    thresholds = thresholds if thresholds is not None else get_thresholds(actor, pipeline).thresholds
    if thresholds.is_empty():
        return []
    return assess(thresholds, measure(actor, pipeline, since=since, until=until, granularity=granularity,
                                      thresholds=thresholds, version=version, ranker=ranker))


def service_checks(actor: Actor, pipeline: str | int, *, now: datetime | None = None,
                   ranker: Ranker | None = None) -> list[Check]:
    """The stored thresholds' checks over their ``window_hours`` back from now, per hour: what ``/metrics`` shows."""
    thresholds = get_thresholds(actor, pipeline).thresholds
    until = now or datetime.now(UTC)
    return evaluate(actor, pipeline, since=until - timedelta(hours=thresholds.window_hours), until=until,
                    granularity="hour", thresholds=thresholds, ranker=ranker)


def service_watcher(actor: Actor, pipeline: str | int, *, config: Settings | None = None) -> AlertWatcher:
    """What a studio-started service plugs in: :func:`service_checks` evaluated in a background thread every
    ``PIPELINE_STUDIO_ALERT_REFRESH_SECONDS``, for ``/metrics``; the stored thresholds are re-read each time, so
    thresholds saved on the Monitor page reach a running service without a restart. The actor's right to read
    the pipeline is checked now, not first in the thread."""
    registry.get_pipeline(actor, pipeline)
    config = config or settings()
    rankings: dict[int, list[str]] = {}  # per registered version: its model, hence its ranking, never changes

    def ranker(name: str | int, version: int) -> list[str]:
        if version not in rankings:
            rankings[version] = important_features(actor, name, version)
        return rankings[version]

    def states() -> list[AlertState]:
        return [AlertState(kind=c.kind, feature=c.subject, crossed=c.crossed)
                for c in service_checks(actor, pipeline, ranker=ranker)]

    return AlertWatcher(states, every=config.alert_refresh_seconds)


def important_features(actor: Actor, pipeline: str | int, version: int | None) -> list[str]:
    """The version's features (pipeline names), most important first: permutation importance of its model on up to
    :data:`IMPORTANCE_ROWS` of its training rows."""
    chosen = monitor_drift.reference_version(actor, pipeline, version)
    if chosen.dataset_id is None:
        raise StorageError(f"Version {chosen.version} of '{chosen.pipeline}' has no stored training data, so its "
                           "features cannot be ranked by importance; drop 'top k' from the drift threshold.")
    model = load_stored_model(actor, chosen.artifact_id)
    training = storage.load_frame(current_store(), chosen.dataset_id)
    target = raw_target(model.metadata)
    if target not in training.columns:
        raise StorageError(f"The training data of version {chosen.version} has no target column '{target}'.")
    labelled = training[training[target].notna()]
    ranked = permutation_importance_frame(model.pipeline, labelled.drop(columns=target), labelled[target],
                                          n_repeats=3, max_rows=IMPORTANCE_ROWS,
                                          features=model_features(model.pipeline))
    return [str(name) for name in ranked["feature"]]


def _drift_checks(thresholds: AlertThresholds, measured: Measurements) -> list[Check]:
    drift = measured.drift
    if drift is None or (thresholds.max_psi is None and not thresholds.feature_psi):
        return []
    bounds: dict[str, float] = {}
    if thresholds.max_psi is not None:
        chosen = drift.features if measured.important is None else \
            [f for f in measured.important if f in drift.features][:thresholds.top_k]
        bounds.update(dict.fromkeys(chosen, thresholds.max_psi))
    bounds.update({f: b for f, b in thresholds.feature_psi.items() if f in drift.features})
    checks = []
    for feature, bound in bounds.items():
        cells = [c for c in drift.of(feature) if c.psi is not None]
        value = max((c.psi for c in cells), default=None)
        checks.append(_check("drift", feature, bound, value, above=True, rows=sum(c.rows for c in cells),
                             buckets=[(c.start, c.psi) for c in cells]))
    return checks


def _performance_checks(thresholds: AlertThresholds, measured: Measurements) -> list[Check]:
    performance = measured.performance
    labelled = sum(b.rows for b in performance.buckets)
    live = sum(b.value * b.rows for b in performance.buckets if b.value is not None) / labelled if labelled else None
    per_bucket = [(b.start, b.value) for b in performance.buckets]
    mae = performance.metric == "mean_absolute_error"
    checks = []
    if performance.metric == "accuracy" and thresholds.min_accuracy is not None:
        checks.append(_check("accuracy", "", thresholds.min_accuracy, live, above=False, rows=labelled,
                             buckets=per_bucket))
    if mae and thresholds.max_mae is not None:
        checks.append(_check("mean_absolute_error", "", thresholds.max_mae, live, above=True, rows=labelled,
                             buckets=per_bucket))
    balanced = measured.balanced
    if balanced is not None and thresholds.min_balanced_accuracy is not None:
        checks.append(_check("balanced_accuracy", "", thresholds.min_balanced_accuracy, balanced.value, above=False,
                             rows=balanced.rows, buckets=balanced.buckets))
    cv = performance.cv_estimate
    if thresholds.max_drop is not None and cv is not None:
        def drop(value: float | None) -> float | None:
            return None if value is None else (value - cv if mae else cv - value)

        checks.append(_check("drop_from_cv", "", thresholds.max_drop, drop(live), above=True, rows=labelled,
                             buckets=[(s, drop(v)) for s, v in per_bucket]))
    return checks


def _check(kind: CheckKind, subject: str, bound: float, value: float | None, *, above: bool, rows: int,
           buckets: list[tuple[datetime, float | None]]) -> Check:
    def past(v: float | None) -> bool:
        return v is not None and (v > bound if above else v < bound)

    crossed = past(value)
    since = next((start for start, v in buckets if past(v)), None) if crossed else None
    return Check(kind=kind, subject=subject, bound=bound, value=value, crossed=crossed, since=since, rows=rows)


def _balanced_accuracy(actor: Actor, pipeline: str | int, *, since: datetime, until: datetime,
                       granularity: monitoring.Granularity,
                       version: int | None) -> BalancedAccuracy:
    """The mean over true classes of the share of that class's rows predicted right, per bucket and pooled."""
    window, starts = monitoring.window_of(actor, pipeline, since, until, granularity, version)
    tallies: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    pooled: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for bucket, predicted, actual in labelled_predictions(current_store(), window):
        truth = monitoring.as_label(actual)
        right = int(monitoring.as_label(predicted) == truth)
        for tally in (tallies[bucket][truth], pooled[truth]):
            tally[0] += right
            tally[1] += 1
    return BalancedAccuracy(value=_recall_mean(pooled), rows=sum(n for _, n in pooled.values()),
                            buckets=[(datetime.fromtimestamp(s, UTC), _recall_mean(tallies.get(s, {})))
                                     for s in starts])


def _recall_mean(per_class: dict[str, list[int]]) -> float | None:
    return float(np.mean([right / n for right, n in per_class.values()])) if per_class else None

"""Alerts in a service's ``/metrics``, evaluated off the request path.

The core knows no database, so it gets a *source*: a callable returning the current :class:`AlertState` of each
threshold (the application layer plugs in ``studio.alerts.service_checks``, which reads the prediction log and
may take seconds: drift compares logged inputs with the training data). :class:`AlertWatcher` calls it in a
daemon thread, at once and then every ``every`` seconds, and keeps the last answer; a scrape only reads that
answer, so neither ``/predict`` nor ``/metrics`` ever waits for an evaluation. A source that raises keeps the
previous answer and is counted (``scoring_alert_evaluation_failures_total``), so a database hiccup does not blank
the gauges.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("pipeline_core.serving.alerts")


@dataclass(frozen=True)
class AlertState:
    """One threshold: ``kind`` (drift, accuracy, ..., violation_rate), the feature for drift (else empty), and
    whether the last evaluation found it crossed."""

    kind: str
    feature: str
    crossed: bool


AlertSource = Callable[[], list[AlertState]]


@dataclass(frozen=True)
class AlertSnapshot:
    """The last evaluation: its states, when it finished (epoch seconds, None before the first), failures so far."""

    states: list[AlertState] = field(default_factory=list)
    evaluated_at: float | None = None
    failures: int = 0


class AlertWatcher:
    """Evaluates ``source`` in a daemon thread every ``every`` seconds (the first time at once); ``current`` reads
    the last result without waiting, ``close`` stops the thread."""

    def __init__(self, source: AlertSource, *, every: float = 60.0):
        if every <= 0:
            raise ValueError(f"every must be positive, got {every}")
        self.source = source
        self.every = every
        self._snapshot = AlertSnapshot()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-watcher", daemon=True)
        self._thread.start()

    def current(self) -> AlertSnapshot:
        with self._lock:
            return self._snapshot

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                states = list(self.source())
            except Exception:  # noqa: BLE001 - a failed evaluation must not stop the watcher (or the service)
                log.exception("evaluating the alert thresholds failed; /metrics keeps the previous values")
                with self._lock:
                    self._snapshot = AlertSnapshot(self._snapshot.states, self._snapshot.evaluated_at,
                                                   self._snapshot.failures + 1)
            else:
                with self._lock:
                    self._snapshot = AlertSnapshot(states, time.time(), self._snapshot.failures)
            self._stop.wait(self.every)

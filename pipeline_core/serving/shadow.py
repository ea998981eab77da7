"""Shadow scoring: a challenger model scores every request the service answered, off the request path.

The client only ever gets the served (champion) model's answer; the challenger's answers to the same rows go to
its own prediction log writer under the same request and row ids, so once true outcomes arrive the two can be
compared row by row (:mod:`pipeline_core.analysis.champion`). A request waits for nothing here: the rows are
queued (bounded; a full queue drops the request and counts it) and scored by one background thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass

from pipeline_core.artifacts.skops_io import LoadedModel
from pipeline_core.serving.prediction_log import PredictionLogWriter, ScoredRequest
from pipeline_core.serving.schema import model_rules, without_target_rules
from pipeline_core.serving.scoring import score

log = logging.getLogger(__name__)
MAX_QUEUED_REQUESTS = 1_000


@dataclass(frozen=True)
class ShadowStats:
    """Requests the challenger scored, dropped (its queue was full) and failed on (it refused the rows)."""

    scored: int
    dropped: int
    failed: int


class ShadowScorer:
    """Scores queued requests with ``model`` and submits its answers to ``log``; ``close`` drains and stops."""

    def __init__(self, model: LoadedModel, log_writer: PredictionLogWriter, *,
                 max_queued_requests: int = MAX_QUEUED_REQUESTS, version: str | None = None):
        self.model = without_target_rules(model)
        self.rules = model_rules(self.model)
        self.log = log_writer
        self.version = version  # the challenger's; once the service serves that version itself, it is not shadowed
        self._queue: queue.Queue[ScoredRequest | None] = queue.Queue(maxsize=max_queued_requests)
        self._scored = self._dropped = self._failed = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="shadow-scorer", daemon=True)
        self._thread.start()

    def submit(self, request: ScoredRequest) -> bool:
        """Queue the request the champion answered; never blocks, False (and counted) when the queue is full."""
        try:
            self._queue.put_nowait(request)
        except queue.Full:
            with self._lock:
                self._dropped += 1
            return False
        return True

    def stats(self) -> ShadowStats:
        with self._lock:
            return ShadowStats(scored=self._scored, dropped=self._dropped, failed=self._failed)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued request is scored and its answers written; False if ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.02)
        return not self._queue.unfinished_tasks and self.log.flush(max(0.0, deadline - time.monotonic()))

    def close(self, timeout: float = 30.0) -> None:
        """Score what is queued, stop the thread, and close the challenger's log (writing what it holds)."""
        deadline = time.monotonic() + timeout
        self._queue.put(None)
        self._thread.join(timeout)
        self.log.close(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        while True:
            request = self._queue.get()
            try:
                if request is None:
                    return
                self._score(request)
            finally:
                self._queue.task_done()

    def _score(self, request: ScoredRequest) -> None:
        start = time.perf_counter()
        try:
            batch = score(self.model, request.rows, self.rules)
        except Exception:  # noqa: BLE001 - a challenger that refuses rows must never touch the champion's service
            log.exception("the shadow model could not score request %s", request.request_id)
            with self._lock:
                self._failed += 1
            return
        self.log.submit(ScoredRequest(at=request.at, request_id=request.request_id, rows=request.rows,
                                      predictions=batch.predictions, latency_ms=(time.perf_counter() - start) * 1000,
                                      first_row=request.first_row, violations=batch.violations))
        with self._lock:
            self._scored += 1

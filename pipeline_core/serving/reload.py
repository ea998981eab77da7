"""Following a moving model: a service whose model can change (a registry stage) swaps to the new one while it runs.

The core knows no registry: an application hands the service a :class:`ModelSource`, which says cheaply which
version it holds now (:meth:`ModelSource.version`, e.g. one indexed query for a stage's version) and loads it
fully when asked (:meth:`ModelSource.load`). A :class:`Reloader` compares that version with the one served, and
when they differ loads the new model completely, builds everything a request needs from it, and only then swaps
one reference (:class:`~pipeline_core.serving.served.ModelSlot`): requests already running finish on the old
model, later ones get the new one, and none fails for the switch. It checks on ``POST /reload`` and, when given a
period, in a background thread. A model that cannot be loaded or served leaves the old one serving and is counted
(``scoring_model_reload_failures_total``), with the reason in the server log and in ``/reload``'s answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pipeline_core.artifacts.skops_io import LoadedModel
from pipeline_core.serving.prediction_log import PredictionLogWriter
from pipeline_core.serving.schema import ModelIdentity
from pipeline_core.serving.served import ModelSlot, Served

log = logging.getLogger("pipeline_core.serving.reload")


@dataclass(frozen=True)
class Replacement:
    """A loaded model to serve next, with its identity and the prediction log its rows go to (owned by the service
    from now on: it is closed when the model is replaced in turn, or when the service stops)."""

    model: LoadedModel
    identity: ModelIdentity
    prediction_log: PredictionLogWriter | None = None


class ModelSource(Protocol):
    """Where a service's model comes from, when it may change while the service runs."""

    def version(self) -> str | None:
        """The version to serve now (cheap: asked every few seconds); None when there is none (keep serving)."""
        ...

    def load(self) -> Replacement:
        """Load the model to serve now, fully (its file read and checked)."""
        ...


@dataclass(frozen=True)
class ReloadResult:
    """What one check found: the version served after it, whether it changed, and why not when it failed."""

    version: str | None
    reloaded: bool
    error: str | None = None


class Reloader:
    """Checks a :class:`ModelSource` and swaps the served model when its version moved; one check at a time.

    ``build`` turns a :class:`Replacement` into a :class:`Served` (the app's own limits and background rows);
    ``on_swap`` is told the new identity (``/metrics`` shows it) and ``on_failure`` counts a failed reload.
    """

    def __init__(self, slot: ModelSlot, source: ModelSource, build: Callable[[Replacement], Served], *,
                 on_swap: Callable[[ModelIdentity], None] = lambda identity: None,
                 on_failure: Callable[[], None] = lambda: None):
        self.slot, self.source, self.build = slot, source, build
        self.on_swap, self.on_failure = on_swap, on_failure
        self._lock = threading.Lock()
        self._refused: str | None = None  # a version that failed: the poll leaves it until the source moves on
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self, *, retry: bool = True) -> ReloadResult:
        """Swap to the source's version if it is not the one served; never raises. ``retry=False`` (the poll) skips
        a version that already failed, so a model that cannot be served is not loaded again every few seconds."""
        with self._lock:
            served = self.slot.current.identity.version
            try:
                wanted = self.source.version()
                if wanted is None or wanted == served or (not retry and wanted == self._refused):
                    return ReloadResult(version=served, reloaded=False)
                self._refused = wanted
                replacement = self.source.load()
            except Exception as e:  # noqa: BLE001 - a registry that cannot be read must not stop the service
                return self._failed(served, f"could not load the model to serve: {e}")
            try:
                self.slot.swap(self.build(replacement))
            except Exception as e:  # noqa: BLE001 - the old model keeps serving
                if replacement.prediction_log is not None:
                    replacement.prediction_log.close(0)
                return self._failed(served, f"version {replacement.identity.version} cannot replace version "
                                            f"{served}: {e}")
            self._refused = None
            self.on_swap(replacement.identity)
            log.warning("now serving version %s (was %s)", replacement.identity.version, served)
            return ReloadResult(version=replacement.identity.version, reloaded=True)

    def _failed(self, served: str | None, reason: str) -> ReloadResult:
        log.error("%s; still serving version %s", reason, served)
        self.on_failure()
        return ReloadResult(version=served, reloaded=False, error=reason)

    def start(self, every_seconds: float) -> None:
        """Check every ``every_seconds`` in a daemon thread until :meth:`stop`."""
        def run() -> None:
            while not self._stop.wait(every_seconds):
                self.check(retry=False)

        self._thread = threading.Thread(target=run, name="model-reloader", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

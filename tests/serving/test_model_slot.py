"""The served model's slot and the reloader: a request finishes on the model it started with, the replaced model's
log is written once its last request ends, and a model that cannot replace the served one leaves it serving.

Tiny real scikit-learn pipelines and real prediction log writers (their sink a list); no service needed here (the
end-to-end swap under load is tests/application/test_hot_swap.py).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline

from pipeline_core.artifacts.skops_io import LoadedModel
from pipeline_core.errors import ModelError
from pipeline_core.serving.prediction_log import PredictionLogWriter, ScoredRequest
from pipeline_core.serving.reload import Reloader, ReloadResult, Replacement
from pipeline_core.serving.requests import ServiceLimits
from pipeline_core.serving.schema import ModelIdentity
from pipeline_core.serving.served import ModelSlot, build_served
from pipeline_core.transformers import FramePreparer

FRAME = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
DEADLINE = 60.0


def fitted(model) -> LoadedModel:
    pipeline = Pipeline([("prepare", FramePreparer(types={"x": "numeric"})), ("model", model)])
    pipeline.fit(FRAME, ["a", "b", "a", "b"] if hasattr(model, "predict_proba") else [1.0, 2.0, 3.0, 4.0])
    return LoadedModel(pipeline, {})


def replacement(version: str, model=None, written: list | None = None) -> Replacement:
    writer = PredictionLogWriter(lambda records: (written if written is not None else []).extend(records))
    return Replacement(model=fitted(model or LogisticRegression()), identity=ModelIdentity(name="m", version=version),
                       prediction_log=writer)


def served(new: Replacement):
    return build_served(new.model, new.identity, ServiceLimits(), prediction_log=new.prediction_log)


def one_row(request_id: str) -> ScoredRequest:
    return ScoredRequest(at=datetime.now(UTC), request_id=request_id, rows=FRAME.head(1), predictions=["a"],
                         latency_ms=1.0)


def closed(writer: PredictionLogWriter) -> bool:
    """A closed writer refuses new rows; polled, as the close runs in a thread of its own."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if not writer.submit(one_row("probe")):
            return True
        time.sleep(0.05)
    return False


def written(writer: PredictionLogWriter) -> int:
    """Rows the writer has written once its queue is empty (polled: the close writes in its own thread)."""
    deadline = time.monotonic() + DEADLINE
    while writer.stats().queued and time.monotonic() < deadline:
        time.sleep(0.05)
    return writer.stats().written


def test_a_request_in_flight_finishes_on_its_model_whose_log_is_written_after_it():
    old_rows: list = []
    slot = ModelSlot(served(replacement("1", written=old_rows)))
    with slot.use() as during:
        slot.swap(served(replacement("2")))
        assert slot.current.identity.version == "2" and during.identity.version == "1"
        assert during.prediction_log.submit(one_row("late"))  # still open: its request has not ended
    assert closed(during.prediction_log)
    assert written(during.prediction_log) == 1 and [r.request_id for r in old_rows] == ["late"]  # not lost
    with slot.use() as after:
        assert after.identity.version == "2"
    assert slot.log_stats().written == 1
    slot.close()


def test_a_model_of_another_kind_is_refused_and_the_old_one_keeps_serving():
    slot = ModelSlot(served(replacement("1")))
    with pytest.raises(ModelError, match="version 2 is a model and the service serves a model"):
        slot.swap(served(replacement("2", LinearRegression())))
    assert slot.current.identity.version == "1"
    slot.close()


class Stage:
    """A source whose version the test moves, as a promotion moves a registry stage's."""

    def __init__(self, version: str, broken: bool = False):
        self.now, self.broken, self.loads = version, broken, 0

    def version(self) -> str | None:
        return self.now

    def load(self) -> Replacement:
        self.loads += 1
        return replacement(self.now, LinearRegression() if self.broken else None)


def test_the_reloader_swaps_on_a_new_version_and_retries_a_failed_one_only_when_asked():
    slot = ModelSlot(served(replacement("1")))
    swaps, failures = [], []
    stage = Stage("1")
    reloader = Reloader(slot, stage, served, on_swap=swaps.append, on_failure=lambda: failures.append(1))
    assert reloader.check().reloaded is False and stage.loads == 0  # same version: nothing loaded
    stage.now = "2"
    assert reloader.check() == ReloadResult(version="2", reloaded=True)
    assert [identity.version for identity in swaps] == ["2"]
    stage.now, stage.broken = "3", True
    failed = reloader.check(retry=False)
    assert (failed.version, failed.reloaded) == ("2", False) and "cannot replace version 2" in failed.error
    assert reloader.check(retry=False).error is None and stage.loads == 2  # the poll leaves a refused version
    assert reloader.check().reloaded is False and stage.loads == 3 and len(failures) == 2  # asked: tried again
    assert slot.current.identity.version == "2"
    slot.close()

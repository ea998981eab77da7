"""Issue 17's done-when: a month of traffic through a real registry service, drift and a drop from day 15, an alert
from the right day, a retrain on the new labels that wins the shadow comparison, and its promotion.

The pipeline 'lanes' classifies rows as ``high`` or ``low`` from ``x1`` and ``x2``. For days 1-14 the traffic looks
like the training rows; from day 15 ``x1`` arrives four standard deviations higher and there ``x2`` decides, so the
production model's accuracy falls to about half. Every request goes to ``python -m studio serve
--pipeline lanes`` on loopback with the test's SQLite studio, and every true outcome to its ``/feedback``. A service
stamps rows with the time it scored them; to lay a month out in minutes, each day's request is moved to noon of its
day in the log once it is logged (the only thing the test writes to the store itself). Last, the challenger is
promoted while a ``--stage production`` service keeps answering: no request fails and it then answers as version 2.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import update

import storage
from pipeline_core.artifacts.predict import PREDICTION, predict_frame
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.jobs.runners import ThreadJobRunner
from storage.db import write
from storage.models import PredictionLog
from studio import alerts, champion, monitor_drift, monitoring, registry, retrain
from studio.alert_thresholds import AlertThresholds
from studio.models import load_stored_model
from studio.roles import Actor
from tests.application.test_hot_swap import DEADLINE, health_version
from tests.application.test_prediction_log import logged
from tests.application.test_retrain import finished
from tests.apptest import store_frame
from tests.pages.test_compare_page import train_now
from tests.serving.conftest import records
from tests.serving.service import CliService

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

DAYS, DRIFT_DAY, ROWS_PER_DAY = 30, 15, 100


def lanes(n: int, seed: int, *, shifted: bool) -> pd.DataFrame:
    """``n`` rows of the old world (``x1`` around 0 decides) or the new one (``x1`` around 4, where the training rows
    never reached, and ``x2`` decides): the old model calls nearly every new row ``high``."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(4.0, 0.7, n) if shifted else rng.normal(0.0, 1.0, n)
    x2 = rng.normal(0.0, 1.0, n)
    label = np.where((x2 if shifted else x1 + 0.3 * x2) > 0, "high", "low")
    return pd.DataFrame({"x1": x1.round(4), "x2": x2.round(4), "label": label})


def day_start(first: datetime, day: int) -> datetime:
    """Noon of simulated day ``day`` (1 to 30)."""
    return first + timedelta(days=day - 1)


def day_of(first: datetime, bucket: datetime) -> int:
    """The simulated day a day bucket (starting at midnight UTC) holds."""
    return (bucket.date() - first.date()).days + 1


def move_request(store, request_id: str, at: datetime) -> None:
    """Lay one logged request out on its simulated day (the service stamped it with the real time)."""
    write(store, lambda session: session.execute(
        update(PredictionLog).where(PredictionLog.request_id == request_id).values(logged_at=at)))


def test_a_month_of_traffic_drifts_alerts_retrains_and_the_challenger_wins(store, studio_home):
    dataset_id = store_frame(store, lanes(300, seed=0, shifted=False), "lanes")
    spec = PipelineSpec(name="lanes", target="label", models=[{"kind": "decision_tree", "params": {"max_depth": 6}}],
                        evaluation={"cv_folds": 3, "holdout": 0.2})
    version = storage.save_pipeline_version(store, name="lanes", definition=spec.to_dict())
    run = train_now(store, dataset_id, spec, pipeline_version_id=version.id)
    registry.register_model(LOCAL, run.id, by="cli")
    registry.set_stage(LOCAL, "lanes", 1, "production", by="cli", why="first model")

    now = datetime.now(UTC)
    first = (now - timedelta(days=DAYS)).replace(hour=12, minute=0, second=0, microsecond=0)
    served = CliService(None, "--pipeline", "lanes", module="studio")
    try:
        client = served.client()
        for day in range(1, DAYS + 1):
            rows = lanes(ROWS_PER_DAY, seed=day, shifted=day >= DRIFT_DAY)
            answer = client.post_json("/predict", {"rows": records(rows.drop(columns="label"))})
            assert answer.status == 200, answer.body
            request_id = answer.json()["request_id"]
            logged(store, ROWS_PER_DAY, request_id=request_id)
            move_request(store, request_id, day_start(first, day))
            outcomes = [{"request_id": request_id, "row_id": i, "outcome": label}
                        for i, label in enumerate(rows["label"])]
            assert client.post_json("/feedback", {"outcomes": outcomes}).json()["matched"] == ROWS_PER_DAY
    finally:
        served.stop()

    window = {"since": first - timedelta(hours=12), "until": now, "granularity": "day"}
    drift = monitor_drift.drift_over_time(LOCAL, "lanes", **window)
    drifted_days = sorted({day_of(first, cell.start) for cell in drift.of("x1") if cell.drifted})
    assert drifted_days == list(range(DRIFT_DAY, DAYS + 1))
    noise = [(day_of(first, c.start), round(c.psi, 3), c.ks_pvalue) for c in drift.of("x2") if c.drifted]
    assert len(noise) <= 1, noise  # 30 daily tests of an unchanged feature: one chance flag is what α allows
    assert drift.features[0] == "x1"

    performance = monitoring.live_performance(LOCAL, "lanes", **window)
    scored = {day_of(first, b.start): b.value for b in performance.buckets if b.rows}
    assert min(scored[d] for d in range(1, DRIFT_DAY)) > 0.8
    assert max(scored[d] for d in range(DRIFT_DAY, DAYS + 1)) < 0.8

    checks = alerts.evaluate(LOCAL, "lanes", **window, thresholds=AlertThresholds(max_psi=0.5, min_accuracy=0.8))
    crossed = {(c.kind, c.subject): c for c in checks if c.crossed}
    assert set(crossed) == {("drift", "x1"), ("accuracy", "")}
    assert crossed[("drift", "x1")].since == day_start(first, DRIFT_DAY).replace(hour=0)
    assert crossed[("accuracy", "")].since == day_start(first, DRIFT_DAY).replace(hour=0)

    runner = ThreadJobRunner(max_jobs=1)
    try:
        job = finished(retrain.retrain(LOCAL, runner, "lanes", by="cli"))
    finally:
        runner.close()
    assert (job.status, job.added_rows, job.version) == ("done", DAYS * ROWS_PER_DAY, 2), job.error
    assert next(v for v in registry.list_model_versions(LOCAL, "lanes") if v.version == 2).stage == "staging"

    today = lanes(200, seed=99, shifted=True)
    started = datetime.now(UTC) - timedelta(minutes=1)
    shadowed = CliService(None, "--pipeline", "lanes", "--shadow", "staging", module="studio")
    try:
        client = shadowed.client()
        answer = client.post_json("/predict", {"rows": records(today.drop(columns="label"))}).json()
        logged(store, 2 * len(today), request_id=answer["request_id"])  # production's rows and the shadow's
        outcomes = [{"request_id": answer["request_id"], "row_id": i, "outcome": label}
                    for i, label in enumerate(today["label"])]
        assert client.post_json("/feedback", {"outcomes": outcomes}).json()["matched"] == len(today)
    finally:
        shadowed.stop()
    verdict = champion.challenger_verdict(LOCAL, "lanes", 2, since=started,
                                          until=datetime.now(UTC) + timedelta(minutes=1))
    assert verdict.rows == len(today)
    assert verdict.verdict == "better", verdict.sentence()
    assert verdict.challenger_score > verdict.champion_score + 0.2

    # promote it while a client keeps scoring today's rows: every request answered, then the challenger's answers
    body = {"rows": records(today.drop(columns="label"))}
    challenger = load_stored_model(LOCAL, registry.model_version(LOCAL, "lanes", 2).artifact_id)
    expected = predict_frame(challenger.pipeline, today.drop(columns="label"),
                             challenger.metadata).frame[PREDICTION].tolist()
    served = CliService(None, "--pipeline", "lanes", "--stage", "production", "--reload-seconds", "0.2",
                        module="studio")
    try:
        client = served.client()
        statuses = [client.post_json("/predict", body).status]
        registry.set_stage(LOCAL, "lanes", 2, "production", by="cli", why="won the shadow comparison")
        deadline = time.monotonic() + DEADLINE
        while health_version(client) != "2":
            assert time.monotonic() < deadline, "the service never swapped to version 2"
            statuses.append(client.post_json("/predict", body).status)
        answer = client.post_json("/predict", body)
    finally:
        served.stop()
    assert set(statuses) == {200} and answer.status == 200
    assert answer.json()["predictions"] == expected

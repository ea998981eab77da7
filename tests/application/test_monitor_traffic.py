"""Traffic counted from one per-minute read of the log (the Monitor page's clicks) is exactly what
``monitoring.traffic`` reads from the database, for every granularity, window and version filter."""

from __future__ import annotations

from datetime import timedelta

import pytest

import storage
from studio import monitor_traffic, monitoring
from studio.roles import Actor
from tests.application.test_monitoring import T0, churn, log_request  # noqa: F401 - churn is a fixture

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

@pytest.fixture
def busy(store, churn) -> int:  # noqa: F811 - the fixture above, extended
    """``churn`` plus a shadow challenger's answers, an unregistered model's rows and a second in a late minute."""
    storage.append_predictions(store, [{"logged_at": T0 + timedelta(minutes=5), "request_id": "a", "row_id": 0,
                                        "inputs": None, "prediction": "no", "latency_ms": 4.0}],
                               source=storage.SHADOW_SOURCE, pipeline_id=churn, model_version=2, model_sha256="cd")
    log_request(store, churn, T0 + timedelta(hours=1, minutes=59, seconds=59), ["no"] * 2, 7.0, "d", version=None)
    log_request(store, churn, T0 + timedelta(hours=2, minutes=1, seconds=30), ["yes"], 11.0, "e")
    return churn


@pytest.mark.parametrize("granularity", ["minute", "hour", "day"])
@pytest.mark.parametrize("version", [None, 1, 2])
@pytest.mark.parametrize(("start", "hours"), [(0, 3), (61, 1), (-30, 4)])
def test_counting_from_the_minute_log_equals_reading_the_database(busy, granularity, version, start, hours):
    log = monitor_traffic.traffic_log(LOCAL, busy, T0 - timedelta(days=1), T0 + timedelta(days=1))
    window = {"since": T0 + timedelta(minutes=start), "until": T0 + timedelta(minutes=start, hours=hours),
              "granularity": granularity, "version": version}
    expected = monitoring.traffic(LOCAL, busy, **window)
    assert monitor_traffic.traffic_from(LOCAL, log, **window) == expected


def test_a_window_the_minute_log_cannot_answer_is_read_from_the_database(busy, monkeypatch):
    log = monitor_traffic.traffic_log(LOCAL, busy, T0, T0 + timedelta(hours=1))
    calls = []
    real = monitoring.traffic
    monkeypatch.setattr(monitoring, "traffic", lambda *a, **k: calls.append(k) or real(*a, **k))
    for since, until in [(T0, T0 + timedelta(hours=3)), (T0 + timedelta(seconds=30), T0 + timedelta(minutes=30))]:
        got = monitor_traffic.traffic_from(LOCAL, log, since=since, until=until, granularity="minute", version=None)
        assert got == real(LOCAL, busy, since=since, until=until, granularity="minute")
    assert len(calls) == 2

"""Traffic counted from one per-minute read of the log (the Monitor page's clicks) is exactly what
``monitoring.traffic`` reads from the database, for every granularity, window and version filter."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import text

import storage
from storage.db import make_engine, upgrade
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


WINDOWS = [(0, 3, "minute", None), (0, 3, "hour", 1), (-30, 4, "hour", None), (0, 24, "day", 2)]


def _equal_everywhere(pipeline: int) -> None:
    log = monitor_traffic.traffic_log(LOCAL, pipeline, T0 - timedelta(days=1), T0 + timedelta(days=1))
    for start, hours, granularity, version in WINDOWS:
        window = {"since": T0 + timedelta(minutes=start), "until": T0 + timedelta(minutes=start, hours=hours),
                  "granularity": granularity, "version": version}
        assert monitor_traffic.traffic_from(LOCAL, log, **window) == monitoring.traffic(LOCAL, pipeline, **window)


@pytest.mark.parametrize("cutoff", [timedelta(minutes=5, seconds=30), timedelta(hours=2)])
def test_after_retention_the_traffic_still_equals_reading_the_database(store, busy, cutoff):
    assert storage.prune_predictions(store, older_than=T0 + cutoff, max_rows=1_000_000).predictions
    _equal_everywhere(busy)
    storage.prune_predictions(store, older_than=T0 - timedelta(days=1), max_rows=3)
    _equal_everywhere(busy)


def test_rows_deleted_behind_the_writers_back_are_repaired_before_counting(store, busy):
    """The summary no longer adds up to the log: the traffic read rebuilds it, and the numbers are the log's."""
    with storage.get_engine(store.url).begin() as connection:
        connection.execute(text("DELETE FROM prediction_logs WHERE request_id = 'a'"))
    _equal_everywhere(busy)
    assert storage.read_minutes(store, busy, T0 - timedelta(days=1), T0 + timedelta(days=1)).agrees


def test_a_summary_that_lost_latencies_is_repaired_before_counting(store, busy):
    with storage.get_engine(store.url).begin() as connection:
        connection.execute(text("UPDATE prediction_minutes SET latencies = '' WHERE requests > 0"))
    _equal_everywhere(busy)


def test_a_log_from_before_the_summary_is_counted_the_same_after_the_upgrade(store):
    """A database at 0015 with a log written then: migration 0016 fills the summary, and the page's traffic equals
    what ``monitoring.traffic`` reads from the log itself."""
    if not store.url.startswith("sqlite"):
        pytest.skip("the file is made at 0015 with SQLite's own SQL")
    old = make_engine(store.url)
    upgrade(old, "0015")
    values = []
    for i in range(120):
        at = T0 + timedelta(minutes=(7 * i) % 200, seconds=i % 60, microseconds=(i * 7919) % 1_000_000)
        version, source = [(1, "service"), (2, "shadow"), ("NULL", "batch"), (2, "service")][i % 4]
        for row_id in range(1 + i % 3):
            values.append(f"(1, '{at:%Y-%m-%d %H:%M:%S.%f}', '{source}', {version}, 'm', 'q{i}', {row_id}, '\"y\"', "
                          f"{1 / (i + 3)!r})")
    with old.begin() as connection:
        connection.execute(text("INSERT INTO pipelines (name, created_at, workspace_id) "
                                "VALUES ('churn', '2026-01-01 00:00:00', 1)"))
        columns = ("pipeline_id, logged_at, source, model_version, model_sha256, request_id, row_id, prediction, "
                   "latency_ms")
        connection.execute(text(f"INSERT INTO prediction_logs ({columns}) VALUES " + ", ".join(values)))
    old.dispose()
    _equal_everywhere(1)


def test_a_store_that_cannot_be_written_is_counted_from_the_log_when_the_summary_disagrees(store, busy, monkeypatch,
                                                                                          tmp_path):
    """The repair needs a write; on a read-only database the traffic is grouped from the log itself, and nothing
    is written."""
    if not store.url.startswith("sqlite"):
        pytest.skip("a read-only SQLite file stands for a store that cannot be written")
    with storage.get_engine(store.url).begin() as connection:
        connection.execute(text("DELETE FROM prediction_logs WHERE request_id = 'a'"))
    storage.reset_engines()
    monkeypatch.chdir(tmp_path)  # SQLAlchemy's file: URI is also a relative folder name to the engine factory
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///file:{store.url.removeprefix('sqlite:///')}?mode=ro&uri=true")
    _equal_everywhere(busy)
    with pytest.raises(storage.StorageError, match="readonly"):
        storage.repair_minutes(storage.Store.at(store.home, os.environ["DATABASE_URL"]), pipeline_id=busy)
    storage.reset_engines()
    monkeypatch.delenv("DATABASE_URL")
    assert not storage.read_minutes(store, busy, T0 - timedelta(days=1), T0 + timedelta(days=1)).agrees

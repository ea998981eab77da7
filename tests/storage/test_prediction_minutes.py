"""The per-minute summary of the prediction log holds exactly the log's rows, requests and request latencies per
(pipeline, minute, version, shadow) after the writer's batches, after retention, after a repair and after
migration 0016 backfilled it from a log written before it existed (real SQLite files)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

import storage
from storage import Store
from storage.db import get_engine, make_engine, upgrade

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
# doubles whose 15-digit text does not read back exactly, and a few plain ones
LATENCIES = [0.1 + 0.2, 1 / 3, 2.675, 1e-7, 123456.78901234567, 12.0, 7.000000000000001, 5e-324 * 3, 88.4]


def summary(store: Store) -> dict[tuple[int, int, int, bool], tuple[int, int, list[float]]]:
    """The table as it is: (pipeline, minute, version, shadow) -> (rows, requests, sorted latencies)."""
    with get_engine(store.url).connect() as connection:
        found = connection.execute(text("SELECT pipeline_id, minute, model_version, shadow, rows, requests, latencies "
                                        "FROM prediction_minutes")).all()
    return {(p, m, v, bool(s)): (n, r, sorted(float(x) for x in lat.split(",")) if lat else [])
            for p, m, v, s, n, r, lat in found}


def expected(store: Store) -> dict[tuple[int, int, int, bool], tuple[int, int, list[float]]]:
    """The same, grouped here from every logged row."""
    groups: dict[tuple[int, int, int, bool], list] = defaultdict(lambda: [0, 0, []])
    for row in storage.list_predictions(store, limit=1_000_000):
        if row.pipeline_id is None:
            continue
        key = (row.pipeline_id, int(row.logged_at.timestamp()) // 60 * 60,
               -1 if row.model_version is None else row.model_version, row.source == storage.SHADOW_SOURCE)
        groups[key][0] += 1
        if row.row_id == 0:
            groups[key][1] += 1
            groups[key][2].append(row.latency_ms)
    return {key: (n, r, sorted(ms)) for key, (n, r, ms) in groups.items()}


def log(store: Store, pipeline_id: int | None, at: datetime, rows: int, latency: float, request: str, *,
        version: int | None = 1, source: str = "service") -> None:
    storage.append_predictions(store, [{"logged_at": at, "request_id": request, "row_id": i, "inputs": None,
                                        "prediction": "yes", "latency_ms": latency} for i in range(rows)],
                               source=source, pipeline_id=pipeline_id, model_version=version, model_sha256="m")


@pytest.fixture
def busy(store: Store) -> tuple[int, int]:
    """Two pipelines' logs: several requests in one minute across batches, a minute's last microsecond, a shadow
    challenger, an unregistered model, rows of no pipeline, and latencies that need all 17 digits."""
    churn = storage.save_pipeline_version(store, name="churn", definition={}).pipeline_id
    other = storage.save_pipeline_version(store, name="other", definition={}).pipeline_id
    for i, ms in enumerate(LATENCIES):
        log(store, churn, T0 + timedelta(minutes=i % 3, seconds=7 * i), 1 + i % 4, ms, f"r{i}")
    log(store, churn, T0 + timedelta(minutes=1, seconds=59, microseconds=999_999), 2, 3.5, "edge")
    log(store, churn, T0 + timedelta(minutes=1), 3, 4.25, "shadow", version=2, source=storage.SHADOW_SOURCE)
    log(store, churn, T0 + timedelta(minutes=1), 1, 6.5, "unregistered", version=None)
    log(store, other, T0 + timedelta(minutes=1), 2, 9.75, "elsewhere")
    log(store, None, T0 + timedelta(minutes=1), 2, 1.5, "no pipeline", version=None)
    storage.append_predictions(store, [{"logged_at": T0 + timedelta(minutes=2), "request_id": "r0", "row_id": 5,
                                        "inputs": None, "prediction": "no", "latency_ms": 1.0}],
                               source="service", pipeline_id=churn, model_version=1, model_sha256="m")  # no request
    return churn, other


def test_the_writer_keeps_the_summary_equal_to_the_log(store: Store, busy) -> None:
    churn, _ = busy
    got = summary(store)
    assert got == expected(store)
    assert got[(churn, int(T0.timestamp()) + 60, 1, False)][1] == 4  # requests of two batches in one minute
    assert sorted(ms for _, _, lats in got.values() for ms in lats) == sorted([*LATENCIES, 3.5, 4.25, 6.5, 9.75])


def test_a_repair_rebuilds_in_sql_what_the_writer_wrote(store: Store, busy) -> None:
    written = summary(store)
    with get_engine(store.url).begin() as connection:
        connection.execute(text("UPDATE prediction_minutes SET rows = rows + 1, latencies = ''"))
    assert storage.repair_minutes(store) == len(written)
    assert summary(store) == written


def test_a_summary_that_no_longer_adds_up_to_the_log_says_so(store: Store, busy) -> None:
    churn, _ = busy
    span = (T0, T0 + timedelta(hours=1))
    assert storage.read_minutes(store, churn, *span).agrees
    with get_engine(store.url).begin() as connection:  # rows deleted behind the writer's back
        connection.execute(text("DELETE FROM prediction_logs WHERE request_id = 'r4'"))
    assert not storage.read_minutes(store, churn, *span).agrees
    storage.repair_minutes(store, pipeline_id=churn)
    assert storage.read_minutes(store, churn, *span).agrees and summary(store) == expected(store)
    with pytest.raises(storage.StorageError, match="whole minutes"):
        storage.read_minutes(store, churn, T0 + timedelta(seconds=30), T0 + timedelta(hours=1))


@pytest.mark.parametrize("cutoff", [timedelta(minutes=1, seconds=30), timedelta(minutes=2), timedelta(days=1)])
def test_retention_by_age_takes_the_same_rows_out_of_the_summary(store: Store, busy, cutoff) -> None:
    pruned = storage.prune_predictions(store, older_than=T0 + cutoff, max_rows=1_000_000)
    assert pruned.predictions > 0
    assert summary(store) == expected(store)


@pytest.mark.parametrize("keep", [1, 7, 20])
def test_retention_by_count_takes_the_same_rows_out_of_the_summary(store: Store, busy, keep) -> None:
    storage.prune_predictions(store, older_than=T0 - timedelta(days=1), max_rows=keep)
    assert storage.count_predictions(store) == keep
    assert summary(store) == expected(store)


def test_deleting_a_pipeline_deletes_its_summary(store: Store, busy) -> None:
    churn, other = busy
    storage.delete_pipeline(store, churn)
    assert {key[0] for key in summary(store)} == {other}


def test_0016_backfills_the_summary_from_a_log_written_before_it(sqlite_store: Store) -> None:
    """A file at 0015 with a log (several pipelines, shadow rows, an unregistered model, rows of no pipeline,
    17-digit latencies) opens with a summary equal to the log's own grouping; the writer then adds to it."""
    store = sqlite_store
    old = make_engine(store.url)
    upgrade(old, "0015")
    rows = []
    for i, ms in enumerate(LATENCIES * 3):
        at = T0 + timedelta(minutes=i % 5, seconds=i, microseconds=999_999 * (i % 2))
        pipeline, version, source = [(1, 1, "service"), (1, 2, "shadow"), (2, "NULL", "batch"),
                                     ("NULL", "NULL", "page")][i % 4]
        for row_id in range(1 + i % 3):
            rows.append(f"({pipeline}, '{at:%Y-%m-%d %H:%M:%S.%f}', '{source}', {version}, 'm', 'q{i}', {row_id}, "
                        f"'\"yes\"', {ms!r})")
    with old.begin() as connection:
        connection.execute(text("INSERT INTO pipelines (name, created_at, workspace_id) VALUES "
                                "('a', '2026-01-01 00:00:00', 1), ('b', '2026-01-01 00:00:00', 1)"))
        connection.execute(text("INSERT INTO prediction_logs (pipeline_id, logged_at, source, model_version, "
                                "model_sha256, request_id, row_id, prediction, latency_ms) VALUES " + ", ".join(rows)))
    old.dispose()

    backfilled = summary(store)  # opening the studio upgrades the file to head
    assert backfilled == expected(store) and len(backfilled) > 10
    assert sorted(ms for _, _, lats in backfilled.values() for ms in lats) == sorted(
        ms for i, ms in enumerate(LATENCIES * 3) if i % 4 != 3)
    log(store, 1, T0 + timedelta(minutes=1), 2, 0.1 + 0.7, "after")
    assert summary(store) == expected(store)

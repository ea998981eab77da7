"""The Monitor page's data: traffic, latency and predictions per time bucket, from a real SQLite log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import storage
from pipeline_core.io.samples import load_sample
from storage import StorageError
from studio import monitor_drift, monitoring
from studio.roles import Actor

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def log_request(store, pipeline_id: int, at: datetime, predictions: list, latency_ms: float, request_id: str,
                version: int | None = 1) -> None:
    rows = [{"logged_at": at, "request_id": request_id, "row_id": i, "inputs": None, "prediction": p,
             "latency_ms": latency_ms} for i, p in enumerate(predictions)]
    storage.append_predictions(store, rows, source="service", pipeline_id=pipeline_id, model_version=version,
                               model_sha256="ab")


@pytest.fixture
def churn(store) -> int:
    """Pipeline 'churn' with a day of logged classifications (not registered: its kind is read from the log)."""
    pipeline_id = storage.save_pipeline_version(store, name="churn", definition={}).pipeline_id
    other = storage.save_pipeline_version(store, name="other", definition={}).pipeline_id
    log_request(store, pipeline_id, T0 + timedelta(minutes=5), ["yes", "no", "no"], 10.0, "a")
    log_request(store, pipeline_id, T0 + timedelta(minutes=50), ["no"], 30.0, "b")
    log_request(store, pipeline_id, T0 + timedelta(hours=2, minutes=1), ["yes"] * 4, 20.0, "c", version=2)
    log_request(store, pipeline_id, T0 - timedelta(minutes=1), ["yes"], 5.0, "before")  # outside the window
    log_request(store, other, T0 + timedelta(minutes=5), ["maybe"], 99.0, "elsewhere")  # another pipeline
    return pipeline_id


def test_traffic_counts_rows_and_requests_per_bucket_with_empty_buckets_as_zeros(churn):
    buckets = monitoring.traffic(LOCAL, "churn", since=T0, until=T0 + timedelta(hours=3), granularity="hour")
    assert [b.start for b in buckets] == [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
    assert [(b.rows, b.requests) for b in buckets] == [(4, 2), (0, 0), (4, 1)]
    assert (buckets[0].latency_p50_ms, buckets[0].latency_max_ms) == (20.0, 30.0)  # per request, not per row
    assert buckets[1].latency_p50_ms is None
    minutes = monitoring.traffic(LOCAL, "churn", since=T0, until=T0 + timedelta(hours=1), granularity="minute")
    assert len(minutes) == 60 and minutes[5].rows == 3 and minutes[50].rows == 1 and sum(m.rows for m in minutes) == 4
    only_v2 = monitoring.traffic(LOCAL, "churn", since=T0, until=T0 + timedelta(hours=3), version=2)
    assert [b.rows for b in only_v2] == [0, 0, 4]


def test_class_shares_per_bucket(churn):
    shares = monitoring.prediction_distribution(LOCAL, "churn", since=T0, until=T0 + timedelta(hours=3))
    assert shares.kind == "classes" and shares.labels == ["no", "yes"]
    assert [s.counts for s in shares.classes] == [{"no": 3, "yes": 1}, {}, {"yes": 4}]
    assert shares.classes[0].share("no") == 0.75 and shares.classes[1].share("no") == 0.0


def test_predicted_values_get_quantiles_per_bucket(store):
    pipeline_id = storage.save_pipeline_version(store, name="price", definition={}).pipeline_id
    log_request(store, pipeline_id, T0 + timedelta(minutes=1), [float(v) + 0.5 for v in range(101)], 12.0, "p")
    log_request(store, pipeline_id, T0 + timedelta(days=1, hours=1), [1000.25], 12.0, "q")
    values = monitoring.prediction_distribution(LOCAL, "price", since=T0, until=T0 + timedelta(days=2),
                                                granularity="day")
    assert [v.start.isoformat() for v in values.values] == [  # day buckets start at midnight UTC
        "2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00", "2026-03-03T00:00:00+00:00"]
    assert values.kind == "values" and [v.rows for v in values.values] == [101, 1, 0]
    assert values.values[0].quantiles == (5.5, 25.5, 50.5, 75.5, 95.5) and values.values[0].mean == 50.5
    assert values.values[1].quantiles == (1000.25,) * 5


@pytest.mark.parametrize(("since", "until", "granularity", "message"), [
    (T0, T0, "hour", "ends before it starts"),
    (T0, T0 + timedelta(days=400), "minute", "more than 2,000 points"),
    (T0, T0 + timedelta(hours=1), "week", "'week' is not one of"),
    (T0.replace(tzinfo=None), T0 + timedelta(hours=1), "hour", "with a time zone"),
])
def test_bad_windows_are_refused_in_one_line(churn, since, until, granularity, message):
    with pytest.raises(StorageError, match=message):
        monitoring.traffic(LOCAL, "churn", since=since, until=until, granularity=granularity)


def test_an_unknown_pipeline_is_refused_in_one_line(store):
    with pytest.raises(StorageError, match="nope"):
        monitoring.traffic(LOCAL, "nope", since=T0, until=T0 + timedelta(hours=1))


def test_live_accuracy_counts_only_rows_whose_outcome_arrived_with_a_wilson_interval(churn, store):
    storage.save_ground_truth(store, [("a", 0, "yes"), ("a", 1, "yes"), ("a", 2, "no"), ("b", 0, "no"),
                                      ("c", 0, "no"), ("elsewhere", 0, "maybe"), ("typo", 0, "no")])
    live = monitoring.live_performance(LOCAL, "churn", since=T0, until=T0 + timedelta(hours=3), granularity="hour")
    assert live.metric == "accuracy" and live.cv_estimate is None  # not registered: no CV estimate
    assert [(b.rows, b.value) for b in live.buckets] == [(4, 0.75), (0, None), (1, 0.0)]
    first = live.buckets[0]
    assert 0.0 < first.low < 0.75 < first.high < 1.0  # Wilson's 95% interval for 3 of 4
    assert abs(first.low - 0.3006) < 1e-3 and abs(first.high - 0.9544) < 1e-3


def test_live_mean_absolute_error_on_predicted_values_takes_outcomes_read_as_text(store):
    pipeline_id = storage.save_pipeline_version(store, name="price", definition={}).pipeline_id
    log_request(store, pipeline_id, T0 + timedelta(minutes=1), [v + 0.5 for v in range(60)], 12.0, "p")
    storage.save_ground_truth(store, [("p", 0, 1.5), ("p", 1, "0.0"), ("p", 2, "n/a")])
    live = monitoring.live_performance(LOCAL, "price", since=T0, until=T0 + timedelta(hours=1), granularity="hour")
    [bucket] = live.buckets
    assert live.metric == "mean_absolute_error" and (bucket.rows, bucket.value) == (2, 1.25)  # |0.5-1.5|, |1.5-0|
    assert (bucket.low, bucket.high) == pytest.approx((1.25 - 1.96 * 0.25, 1.25 + 1.96 * 0.25))  # s.e. 0.25


def test_drift_over_time_finds_the_shifted_feature_from_the_day_it_shifts(store, iris_studio):
    """A resample of the training rows is not drifted (not even petal width, with its few distinct values)."""
    pipeline_id = storage.get_pipeline(store, "iris").id
    rows = load_sample("iris").drop(columns="target")
    shifted = rows.assign(**{"petal length (cm)": rows["petal length (cm)"] + 3})
    day = timedelta(days=1)
    for k, frame in enumerate([rows.sample(120, random_state=1), shifted.sample(120, random_state=2),
                               rows.head(10)]):  # day 3: too few rows to judge
        inputs = frame.to_dict("records")
        storage.append_predictions(store, [
            {"logged_at": T0 + k * day, "request_id": f"d{k}", "row_id": i, "inputs": row, "prediction": "setosa",
             "latency_ms": 1.0} for i, row in enumerate(inputs)],
            source="service", pipeline_id=pipeline_id, model_version=1, model_sha256="ab")
    found = monitor_drift.drift_over_time(LOCAL, "iris", since=T0, until=T0 + 3 * day, granularity="day")
    assert found.version == 1 and found.reference_rows == 150
    assert found.features[0] == "petal length (cm)" and len(found.features) == 4
    petal = found.of("petal length (cm)")
    assert [(c.start, c.rows, c.drifted) for c in petal] == [(T0.replace(hour=0), 120, False),
                                                             (T0.replace(hour=0) + day, 120, True)]
    assert petal[1].psi > 1 and petal[1].ks_statistic > 0.5
    assert [(c.start.day, c.feature) for c in found.cells if c.drifted] == [(2, "petal length (cm)")]
    with pytest.raises(StorageError, match="no registered version 7"):
        monitor_drift.drift_over_time(LOCAL, "iris", since=T0, until=T0 + day, version=7)

"""A bounded load test: 8 clients × 250 requests against a real server end with no error, all counted in /metrics.

Nothing is timed: the test holds correctness under concurrency (every answer right, the counters exact).
Speed is measured by ``benchmarks/bench_serve.py``.
"""

from __future__ import annotations

import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline_core.artifacts.export import load_model
from pipeline_core.artifacts.predict import predict_frame
from tests.serving.conftest import records
from tests.serving.service import CliService

CLIENTS, REQUESTS = 8, 250

pytestmark = pytest.mark.slow


def test_eight_clients_times_250_requests_without_an_error_and_every_request_counted(churn_dir, churn_rows):
    model = load_model(churn_dir / "churn.skops")
    pool = records(churn_rows.head(40))
    expected = predict_frame(model.pipeline, churn_rows.head(40), model.metadata).frame["prediction"].tolist()
    served = CliService(churn_dir / "churn.skops")
    errors: list[str] = []
    rows_sent = [0] * CLIENTS

    def client_loop(k: int) -> None:
        client = served.client()
        try:
            for i in range(REQUESTS):
                start = (k * REQUESTS + i) % len(pool)
                size = 1 + i % 3  # one, two or three rows
                batch = [pool[(start + j) % len(pool)] for j in range(size)]
                reply = client.post_json("/predict", {"rows": batch})
                rows_sent[k] += size
                if reply.status != 200:
                    errors.append(f"client {k} request {i}: {reply.status} {reply.body[:200]!r}")
                    continue
                want = [expected[(start + j) % len(pool)] for j in range(size)]
                if reply.json()["predictions"] != want:
                    errors.append(f"client {k} request {i}: predictions {reply.json()['predictions']} != {want}")
        except Exception as e:  # noqa: BLE001 - a failed connection is an error of the run, reported below
            errors.append(f"client {k}: {type(e).__name__}: {e}")
        finally:
            client.close()

    try:
        threads = [threading.Thread(target=client_loop, args=(k,)) for k in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=1800)
        assert not any(t.is_alive() for t in threads), "a client never finished"
        assert errors == []
        text = served.client().get("/metrics").body.decode()
    finally:
        served.stop()
    values = {(s.name, tuple(sorted(s.labels.items()))): s.value
              for family in text_string_to_metric_families(text) for s in family.samples}
    predict_requests = {labels: v for (name, labels), v in values.items()
                        if name == "scoring_requests_total" and dict(labels)["endpoint"] == "/predict"}
    assert predict_requests == {(("endpoint", "/predict"), ("status", "200")): CLIENTS * REQUESTS}
    assert values[("scoring_request_seconds_count", (("endpoint", "/predict"),))] == CLIENTS * REQUESTS
    assert values[("scoring_rows_total", ())] == sum(rows_sent)

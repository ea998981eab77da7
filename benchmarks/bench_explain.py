"""How long do explanations take: global SHAP values on a sample, and one row through the service's ``/explain``?

A histogram-gradient-boosting pipeline with the default steps is trained on ``mixed_frame`` (50,000 rows x 20
columns: 14 numeric with missing values, 6 categoricals one-hot encoded) with the project's own ``train``.

- global: ``explain_global`` (exact tree SHAP values of a seeded sample of the 50,000 rows, summed back to the
  20 columns), wall and CPU, against ``pipeline.predict`` on the same sample in this process (target <= 10 s);
- per row: one-row ``POST /explain`` requests to ``python -m pipeline_core serve`` (real uvicorn, loopback),
  one client after another: p50 and p99 (target p99 <= 50 ms) and the server's CPU per request, beside one-row
  ``/predict`` requests to the same service and ``Explainer.explain`` of one row in this process.

    python -m benchmarks.bench_explain            # 50,000 rows, 1,000 one-row requests of each kind
    python -m benchmarks.bench_explain --quick    # 10,000 rows, 200 requests
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks.bench_serve import TARGET, Service, json_body, machine, percentiles, trained_model
from benchmarks.data import mixed_frame
from pipeline_core.analysis.explain import Explainer
from pipeline_core.analysis.explain_global import explain_global
from pipeline_core.artifacts.export import load_model

GLOBAL_TARGET_S = 10.0
P99_TARGET_MS = 50.0


def timed(function: object) -> tuple[object, float, float]:
    """The call's result, its wall seconds and this process's CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()  # type: ignore[operator]
    return result, time.perf_counter() - wall, time.process_time() - cpu


def explain_post(connection: object, body: bytes) -> float:
    """Seconds for one ``POST /explain`` (the benchmark's Connection posts to /predict; this is its twin)."""
    http = connection.http  # type: ignore[attr-defined]
    start = time.perf_counter()
    http.request("POST", "/explain", body=body, headers={"Content-Type": "application/json"})
    response = http.getresponse()
    data = response.read()
    seconds = time.perf_counter() - start
    if response.status != 200:
        raise SystemExit(f"the service refused a benchmark request: {response.status} {data[:300]!r}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows and 200 requests")
    args = parser.parse_args(argv)
    rows, requests = (10_000, 200) if args.quick else (50_000, 1_000)
    print(machine())
    with tempfile.TemporaryDirectory() as folder:
        model_path = trained_model(Path(folder), rows)
        pipeline = load_model(model_path).pipeline
        frame = mixed_frame(rows, seed=0).drop(columns=[TARGET])
        print(f"model: {type(pipeline[-1]).__name__} ({pipeline[-1].n_iter_} iterations) on {rows:,} rows x "
              f"{frame.shape[1]} columns")

        explainer, build_wall, _ = timed(lambda: Explainer(pipeline, frame))
        summary, wall, cpu = timed(lambda: explain_global(explainer, frame))
        sample = frame.sample(summary.rows_explained, random_state=0)
        with threadpool_limits(1, user_api="openmp"):
            _, predict_wall, _ = timed(lambda: pipeline.predict(sample))
        with threadpool_limits(1, user_api="openmp"):
            in_process = [timed(lambda i=i: explainer.explain(frame.iloc[[i]]))[1] for i in range(requests // 4)]

        bodies = [json_body(frame.iloc[[i]]) for i in range(requests)]
        service = Service(model_path)
        try:
            connection = service.connect()
            for body in bodies[:30]:  # warm-up: the explainer is built on the first request
                explain_post(connection, body)
                connection.post(body, "application/json")
            cpu = service.cpu_seconds()
            explained = [explain_post(connection, body) for body in bodies]
            explain_cpu = (service.cpu_seconds() - cpu) / len(bodies)
            cpu = service.cpu_seconds()
            predicted = [connection.post(body, "application/json") for body in bodies]
            predict_cpu = (service.cpu_seconds() - cpu) / len(bodies)
        finally:
            service.stop()

    print(f"\nglobal: {summary.sample_note()}")
    print(f"  explainer built in {build_wall:.2f} s; SHAP values {wall:.2f} s wall, {cpu:.2f} s CPU; "
          f"pipeline.predict on the same {summary.rows_explained:,} rows {predict_wall * 1000:.0f} ms "
          f"({wall / predict_wall:.0f}x)")
    print("\none row")
    print(f"  Explainer.explain in process         {percentiles(in_process)}")
    print(f"  service POST /explain                {percentiles(explained)}   server CPU {explain_cpu * 1000:.1f} ms")
    print(f"  service POST /predict                {percentiles(predicted)}   server CPU {predict_cpu * 1000:.1f} ms")
    p99 = float(np.percentile(np.asarray(explained) * 1000, 99))
    met = "met" if wall <= GLOBAL_TARGET_S else "missed"
    print(f"\ntargets: global <= {GLOBAL_TARGET_S:.0f} s: {wall:.2f} s ({met}); "
          f"one-row /explain p99 <= {P99_TARGET_MS:.0f} ms: {p99:.1f} ms "
          f"({'met' if p99 <= P99_TARGET_MS else 'missed'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

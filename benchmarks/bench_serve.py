"""What does the scoring service cost over calling the loaded pipeline's ``predict`` in the same process?

A histogram-gradient-boosting pipeline with the default steps is trained on ``mixed_frame`` with the
project's own ``train``, saved as skops and served by ``python -m pipeline_core serve`` in a subprocess (a
real uvicorn on a loopback port). This process is the client, over keep-alive HTTP connections:

- one-row requests, one client after another: p50 and p99 latency (target p99 <= 25 ms);
- one-row requests from 8 concurrent clients: requests per second, p50 and p99;
- 1,000-row requests (JSON and CSV): time against ``pipeline.predict`` on the same 1,000 rows in this
  process (target <= 1.5x). The baseline predicts with one OpenMP thread, as each of the service's worker
  threads does (see ``pipeline_core.serving.app._OneOpenMPThread``); the default-thread figure is printed too.
  The three are measured in interleaved rounds (baseline, JSON, CSV, then again), so a change in the machine's
  load hits all three alike: wall is the median of the per-round ratios, CPU the server's total over all rounds
  (``/proc`` counts it in 10 ms ticks, too coarse for one request) against the baseline's.

The service answers labels and class probabilities (one pass through the preparation, then the model's
``predict`` and ``predict_proba``), checks the rows against the training schema, and serialises JSON; the
baseline only predicts labels. The client runs on the same cores as the server, so its own work is included.

    python -m benchmarks.bench_serve            # 2,000 one-row requests, 8 x 250 concurrent, 20 batches
    python -m benchmarks.bench_serve --quick    # a quarter of that
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd
import sklearn
from threadpoolctl import threadpool_limits

from benchmarks.data import mixed_frame
from pipeline_core.artifacts.export import build_metadata, load_model, save_model
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec
from pipeline_core.training.train import train

REPO = Path(__file__).resolve().parents[1]
TARGET = "target"
CLIENTS = 8
BATCH = 1_000
P99_TARGET_MS = 25.0
RATIO_TARGET = 1.5


def trained_model(folder: Path, rows: int) -> Path:
    frame = mixed_frame(rows, seed=0)
    spec = PipelineSpec(name="bench_serve", target=TARGET, task="classification",
                        models=[ModelSpec(kind="hist_gradient_boosting")],
                        evaluation=EvaluationPlan(cv_folds=2, holdout=0.0, seed=0, metric="accuracy"))
    spec = spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})
    with threadpool_limits(1):  # steadier on a shared machine; fitting is not what is measured
        result = train(spec, frame)
    return save_model(result.pipeline, folder / "model.skops", "skops", build_metadata(result, frame))


class Service:
    """``python -m pipeline_core serve`` on a free loopback port; ``stop`` ends it."""

    def __init__(self, model: Path, command: list[str] | None = None, env: dict[str, str] | None = None):
        """``command`` (default ``python -m pipeline_core serve MODEL``) must print the serving line once it listens."""
        env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        command = command or [sys.executable, "-m", "pipeline_core", "serve", str(model), "--port", "0",
                              "--max-rows", str(BATCH)]
        self.process = subprocess.Popen(command, cwd=REPO, env=env, text=True, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL)
        line = self.process.stdout.readline()
        match = re.search(r"http://([^\s;]+):(\d+)", line)
        if not match:
            self.stop()
            raise SystemExit(f"the service did not start: {line!r}")
        self.host, self.port = match[1], int(match[2])
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if self.connect().get("/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("the service never answered /health")

    def cpu_seconds(self) -> float:
        """CPU seconds the server process has used so far (all its threads), from /proc; NaN elsewhere."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def connect(self) -> Connection:
        return Connection(self.host, self.port)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


class Connection:
    def __init__(self, host: str, port: int):
        self.http = http.client.HTTPConnection(host, port, timeout=300)

    def get(self, path: str) -> tuple[int, bytes]:
        self.http.request("GET", path)
        response = self.http.getresponse()
        return response.status, response.read()

    def post(self, body: bytes, content_type: str) -> float:
        """Seconds from sending the request to having read the whole answer (which must be a 200)."""
        start = time.perf_counter()
        self.http.request("POST", "/predict", body=body, headers={"Content-Type": content_type})
        response = self.http.getresponse()
        data = response.read()
        seconds = time.perf_counter() - start
        if response.status != 200:
            raise SystemExit(f"the service refused a benchmark request: {response.status} {data[:300]!r}")
        return seconds


def json_body(rows: pd.DataFrame) -> bytes:
    return json.dumps({"rows": rows.astype(object).where(rows.notna(), None).to_dict("records")}).encode()


def percentiles(seconds: list[float]) -> str:
    ms = np.asarray(seconds) * 1000
    return f"p50 {np.percentile(ms, 50):6.2f} ms   p99 {np.percentile(ms, 99):6.2f} ms   (n={len(ms):,})"


def concurrent(service: Service, bodies: list[bytes], per_client: int) -> tuple[float, list[float]]:
    """Wall seconds for CLIENTS threads sending ``per_client`` one-row requests each, and every latency."""
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    start_line = threading.Barrier(CLIENTS + 1)

    def client(k: int) -> None:
        connection = service.connect()
        start_line.wait()
        for i in range(per_client):
            latencies[k].append(connection.post(bodies[(k * per_client + i) % len(bodies)], "application/json"))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for thread in threads:
        thread.start()
    start_line.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, [s for per in latencies for s in per]


def cpu_per_call(function: Any, repeats: int) -> float:
    """CPU seconds of this process per call (the in-process baseline's counterpart of the server's CPU)."""
    start = time.process_time()
    for _ in range(repeats):
        function()
    return (time.process_time() - start) / repeats


def timed_median(function: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass
class BatchRounds:
    """Per kind (``base``: ``pipeline.predict`` in this process; ``json``, ``csv``: the service): each round's wall
    seconds, and the CPU seconds of all rounds (this process's for the baseline, the server's for requests)."""

    wall: dict[str, list[float]]
    cpu: dict[str, float]


def interleaved(service: Service, connection: Connection, pipeline: Any, batch: pd.DataFrame, batch_json: bytes,
                batch_csv: bytes, rounds: int) -> BatchRounds:
    """The baseline, a JSON request and a CSV request of the same rows, one after another, ``rounds`` times
    (after one unmeasured round): each kind sees the same machine load as the other two."""
    measured = BatchRounds(wall={"base": [], "json": [], "csv": []}, cpu={"base": 0.0, "json": 0.0, "csv": 0.0})

    def baseline() -> float:
        with threadpool_limits(1, user_api="openmp"):
            cpu, start = time.process_time(), time.perf_counter()
            pipeline.predict(batch)
            seconds = time.perf_counter() - start
            measured.cpu["base"] += time.process_time() - cpu
        return seconds

    def request(kind: str, body: bytes, content_type: str) -> float:
        cpu = service.cpu_seconds()
        seconds = connection.post(body, content_type)
        measured.cpu[kind] += service.cpu_seconds() - cpu
        return seconds

    for k in range(rounds + 1):
        walls = {"base": baseline(), "json": request("json", batch_json, "application/json"),
                 "csv": request("csv", batch_csv, "text/csv")}
        if k == 0:  # warm-up: first allocations on each path
            measured.cpu = dict.fromkeys(measured.cpu, 0.0)
            continue
        for kind, seconds in walls.items():
            measured.wall[kind].append(seconds)
    return measured


def machine() -> str:
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
    except OSError:
        names = []
    cpu = names[0] if names else (platform.processor() or "unknown CPU")
    load = " / load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else ""
    return (f"{cpu}; {os.cpu_count()} cores{load}\npython {platform.python_version()}, scikit-learn "
            f"{sklearn.__version__}, pandas {pd.__version__}, numpy {np.__version__}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the requests")
    parser.add_argument("--train-rows", type=int, default=5_000, help="rows the model is trained on (default 5000)")
    args = parser.parse_args(argv)
    sequential, per_client, batches = (500, 60, 15) if args.quick else (2_000, 250, 30)
    print(machine())
    with tempfile.TemporaryDirectory() as folder:
        model_path = trained_model(Path(folder), args.train_rows)
        pipeline = load_model(model_path).pipeline
        rows = mixed_frame(4_000, seed=1).drop(columns=[TARGET])
        print(f"model: {[name for name, _ in pipeline.steps]} with {type(pipeline[-1]).__name__} "
              f"({pipeline[-1].n_iter_} iterations), trained on {args.train_rows:,} rows")
        one_row = [json_body(rows.iloc[[i]]) for i in range(len(rows))]
        batch = rows.iloc[:BATCH]
        batch_json, batch_csv = json_body(batch), batch.to_csv(index=False).encode()

        with threadpool_limits(1, user_api="openmp"):
            base_one = [timed_median(lambda i=i: pipeline.predict(rows.iloc[[i]]), 1) for i in range(sequential)]
            base_one_cpu = cpu_per_call(lambda: pipeline.predict(rows.iloc[[0]]), sequential // 2)
        base_batch_default = timed_median(lambda: pipeline.predict(batch), batches)

        service = Service(model_path)
        try:
            connection = service.connect()
            for body in one_row[:50]:  # warm-up: imports, first allocations, connection
                connection.post(body, "application/json")
            cpu = service.cpu_seconds()
            seq = [connection.post(one_row[i % len(one_row)], "application/json") for i in range(sequential)]
            one_cpu = (service.cpu_seconds() - cpu) / sequential
            wall, conc = concurrent(service, one_row, per_client)
            connection = service.connect()  # the first one sat idle past the server's keep-alive timeout
            batch_rounds = interleaved(service, connection, pipeline, batch, batch_json, batch_csv, batches)
        finally:
            service.stop()

    p99 = float(np.percentile(np.asarray(seq) * 1000, 99))
    print("\none row (wall: latency as a client sees it; CPU: the server process's, per request)")
    print(f"  pipeline.predict in process          {percentiles(base_one)}   CPU {base_one_cpu * 1000:.1f} ms")
    print(f"  service, one client                  {percentiles(seq)}   CPU {one_cpu * 1000:.1f} ms "
          f"= {one_cpu / base_one_cpu:.2f}x")
    print(f"  service, {CLIENTS} concurrent clients       {percentiles(conc)}   "
          f"{len(conc) / wall:,.0f} requests/s")
    base_batch, served_json, served_csv = (statistics.median(batch_rounds.wall[k]) for k in ("base", "json", "csv"))
    ratio = {k: statistics.median(s / b for s, b in zip(batch_rounds.wall[k], batch_rounds.wall["base"], strict=True))
             for k in ("json", "csv")}
    base_batch_cpu, json_cpu, csv_cpu = (batch_rounds.cpu[k] / batches for k in ("base", "json", "csv"))
    print(f"\n{BATCH:,} rows ({batches} interleaved rounds: medians; wall ratio = median of the per-round ratios)")
    print(f"  pipeline.predict in process          {base_batch * 1000:8.1f} ms          CPU "
          f"{base_batch_cpu * 1000:6.1f} ms  (one OpenMP thread)")
    print(f"  pipeline.predict, default threads    {base_batch_default * 1000:8.1f} ms")
    print(f"  service, JSON                        {served_json * 1000:8.1f} ms = {ratio['json']:.2f}x  CPU "
          f"{json_cpu * 1000:6.1f} ms = {json_cpu / base_batch_cpu:.2f}x")
    print(f"  service, CSV                         {served_csv * 1000:8.1f} ms = {ratio['csv']:.2f}x  CPU "
          f"{csv_cpu * 1000:6.1f} ms = {csv_cpu / base_batch_cpu:.2f}x")
    worst = max(*ratio.values(), json_cpu / base_batch_cpu, csv_cpu / base_batch_cpu)
    print(f"\ntargets: one-row p99 <= {P99_TARGET_MS:.0f} ms: {p99:.1f} ms "
          f"({'met' if p99 <= P99_TARGET_MS else 'missed'}); {BATCH:,}-row overhead <= {RATIO_TARGET}x, wall and "
          f"CPU: worst {worst:.2f}x ({'met' if worst <= RATIO_TARGET else 'missed'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

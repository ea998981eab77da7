"""How fast does the Monitor page draw a pipeline with a million logged predictions?

A temporary studio home gets a registered iris pipeline (a real fit, version 1 in production) and a prediction log
of ``--rows`` rows spread over the last 30 days, as a busy service leaves it: requests of 1-20 rows, every row's
time, ids, prediction and latency; model inputs for a 10% sample (``PIPELINE_STUDIO_LOG_INPUT_SAMPLE=0.1``), with
petal length drifting from day 15; true outcomes for a fifth of the rows. Rows are written with one bulk insert per
50,000 (the service's writer appends in batches too; its cost is ``bench_log_overhead``'s subject), then the log's
per-minute summary is built from them in SQL, as migration 0016 does for a log written before it.

Then, in a fresh process (so its peak memory is the page's, not the set-up's), Streamlit's ``AppTest`` opens the
Monitor page on "Last 30 days" with every cache cold, as after a server start (the first draw), and times the
clicks a user makes next: granularity per hour, back to per day, the version picker on version 1, the window on
7 days. Each is timed from ``set_value`` to the end of the rerun (script plus AppTest's protocol work, not a
browser's drawing). The baseline is what a notebook user would do: ``pandas.read_sql`` of the log's time,
prediction and latency columns plus a ``groupby`` per day, in the same process.

    python -m benchmarks.bench_monitor            # 1,000,000 rows; targets: first draw <= 3 s, clicks <= 0.3 s
    python -m benchmarks.bench_monitor --quick    # 100,000 rows
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FIRST_DRAW_TARGET, CLICK_TARGET = 3.0, 0.3
FULL_ROWS, QUICK_ROWS = 1_000_000, 100_000
INPUT_SHARE, LABELLED_SHARE, CHUNK = 0.1, 0.2, 50_000
TIMEOUT = 600


def populate(rows: int, seed: int = 0) -> int:
    """The registered pipeline and its log in the current ``PIPELINE_STUDIO_HOME``; the pipeline's id."""
    from sqlalchemy import insert

    import storage
    from pipeline_core.definition.spec import PipelineSpec
    from pipeline_core.io.frames import stored_table_sha256
    from pipeline_core.io.samples import load_sample
    from pipeline_core.jobs.job import run_training
    from storage.db import get_engine
    from storage.files import resolve
    from storage.models import GroundTruth, PredictionLog
    from storage.reporter import RunReporter
    from studio import registry
    from studio.roles import Actor
    from studio.workspace import current_store

    store = current_store()
    iris = load_sample("iris")
    dataset = storage.save_dataset(store, name="iris", file_name="iris.csv", fmt="csv", frame=iris,
                                   sha256=stored_table_sha256(iris))
    spec = PipelineSpec(name="iris", target="target", models=[{"kind": "logistic_regression"}],
                        evaluation={"cv_folds": 3, "holdout": 0.25})
    version = storage.save_pipeline_version(store, name="iris", definition=spec.to_dict())
    run = storage.create_run(store, dataset_id=dataset.id, pipeline_version_id=version.id)
    status = run_training(spec.to_json(), str(resolve(store.home, dataset.parquet_path)), RunReporter(store, run.id))
    if status != "done":
        raise SystemExit(f"training the benchmark's model failed: {storage.get_run(store, run.id).error}")
    actor = Actor.local()
    registry.register_model(actor, run.id, by="bench")
    registry.set_stage(actor, "iris", 1, "production", by="bench", why="benchmark")

    rng = np.random.default_rng(seed)
    features = iris.drop(columns="target")
    classes = [str(c) for c in sorted(iris["target"].unique())]
    now = datetime.now(UTC)
    start = now - timedelta(days=30)
    offsets = np.sort(rng.uniform(0, 30 * 86_400 - 60, rows))
    sizes = rng.integers(1, 21, rows)  # request sizes; cut where the rows run out
    request_of = np.repeat(np.arange(rows), sizes)[:rows]
    row_in_request = np.concatenate([np.arange(s) for s in sizes])[:rows]
    sampled = rng.random(rows) < INPUT_SHARE
    picks = rng.integers(0, len(features), rows)
    predicted = rng.choice(classes, rows, p=[0.4, 0.35, 0.25])
    latency = rng.lognormal(2.3, 0.4, rows)
    drift_from = 15 * 86_400
    with get_engine(store.url).begin() as connection:
        for lo in range(0, rows, CHUNK):
            batch = []
            for i in range(lo, min(rows, lo + CHUNK)):
                inputs = None
                if sampled[i]:
                    inputs = {k: float(v) for k, v in features.iloc[picks[i]].items()}
                    if offsets[i] >= drift_from:
                        inputs["petal length (cm)"] = inputs["petal length (cm)"] + 1.5
                batch.append({"logged_at": start + timedelta(seconds=float(offsets[i])), "source": "service",
                              "pipeline_id": version.pipeline_id, "model_version": 1, "model_sha256": "bench",
                              "request_id": f"r{request_of[i]}", "row_id": int(row_in_request[i]),
                              "inputs": inputs, "prediction": predicted[i], "latency_ms": float(latency[i])})
            connection.execute(insert(PredictionLog), batch)
            labelled = [{"request_id": b["request_id"], "row_id": b["row_id"],
                         "outcome": b["prediction"] if rng.random() < 0.8 else str(rng.choice(classes)),
                         "received_at": now} for b in batch if rng.random() < LABELLED_SHARE]
            connection.execute(insert(GroundTruth), labelled)
    storage.repair_minutes(store, pipeline_id=version.pipeline_id)  # the per-minute summary the writer would keep
    return version.pipeline_id


def peak_mib() -> float:
    """This process's peak resident memory. ``VmHWM`` rather than ``ru_maxrss``: Linux carries ``ru_maxrss`` across
    ``exec``, so the measuring process would report the set-up's peak (its parent's) instead of the page's."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:  # not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024


def measure() -> dict[str, object]:
    """Run in a fresh process: the page's first draw and clicks, the pandas baseline, the peak memory."""
    import pandas as pd
    from streamlit.testing.v1 import AppTest

    from storage.db import get_engine
    from studio.workspace import current_store

    before = peak_mib()
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.run()
    at.session_state["monitor_window"] = "Last 30 days"
    started, cpu = time.perf_counter(), time.process_time()  # the page runs in a thread of this process, SQLite too
    at.switch_page("pages/monitor.py").run()
    first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
    problems = [str(e.value) for e in [*at.exception, *at.error]]
    clicks: dict[str, float] = {}
    for label, key, value in [("granularity per hour", "monitor_granularity", "hour"),
                              ("granularity per day", "monitor_granularity", "day"),
                              ("version 1", "monitor_version", 1),
                              ("window 7 days", "monitor_window", "Last 7 days")]:
        started = time.perf_counter()
        at.selectbox(key=key).set_value(value).run()
        clicks[label] = time.perf_counter() - started
        problems += [str(e.value) for e in [*at.exception, *at.error]]
    peak = peak_mib()
    page_peak = peak - before

    store = current_store()
    started, cpu = time.perf_counter(), time.process_time()
    with get_engine(store.url).connect() as connection:
        log = pd.read_sql("SELECT logged_at, prediction, latency_ms FROM prediction_logs", connection)
    log["day"] = pd.to_datetime(log["logged_at"]).dt.floor("D")
    log.groupby("day").agg(rows=("latency_ms", "size"), p95=("latency_ms", lambda s: s.quantile(0.95)))
    baseline, baseline_cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"first": first, "first_cpu": first_cpu, "baseline_cpu": baseline_cpu, "clicks": clicks,
            "baseline": baseline, "peak_mib": page_peak, "process_peak_mib": peak,
            "problems": problems}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=FULL_ROWS)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,} rows")
    parser.add_argument("--home", type=Path, help="keep the studio home here and reuse it when it already holds a "
                        "log (so before/after runs of two checkouts can measure the same rows; the data is dated at "
                        "its writing, so reuse it the same day)")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the fresh process's part
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure()))
        return 0
    rows = QUICK_ROWS if args.quick else args.rows
    with tempfile.TemporaryDirectory() as folder:
        home = args.home.resolve() if args.home else Path(folder) / "home"
        env = {**os.environ, "PIPELINE_STUDIO_HOME": str(home),
               "PIPELINE_STUDIO_LOG_INPUT_SAMPLE": str(INPUT_SHARE), "PYTHONWARNINGS": "ignore"}
        env.pop("DATABASE_URL", None)
        os.environ.update(env)
        if (home / "studio.db").exists():
            print(f"reusing the log in {home}", flush=True)
        else:
            started = time.perf_counter()
            populate(rows)
            print(f"{rows:,} logged rows written in {time.perf_counter() - started:.0f} s", flush=True)
        done = subprocess.run([sys.executable, "-m", "benchmarks.bench_monitor", "--measure"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=4 * TIMEOUT, check=False)
        if done.returncode:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1
        result = json.loads(done.stdout.strip().splitlines()[-1])
    first, clicks = result["first"], result["clicks"]
    print(f"Monitor page, {rows:,} logged rows, last 30 days")
    print(f"  first draw (cold caches):  {first:6.2f} s   target <= {FIRST_DRAW_TARGET} s   "
          f"({first / result['baseline']:.1f}x pandas read_sql + groupby per day: {result['baseline']:.2f} s)")
    print(f"  first draw CPU:            {result['first_cpu']:6.2f} s   "
          f"({result['first_cpu'] / result['baseline_cpu']:.1f}x the baseline's {result['baseline_cpu']:.2f} s CPU; "
          "steadier than wall on a shared machine)")
    for label, seconds in clicks.items():
        print(f"  click: {label:<22}  {seconds:6.2f} s   target <= {CLICK_TARGET} s")
    print(f"  median click:              {statistics.median(clicks.values()):6.2f} s")
    print(f"  peak memory added by the page: {result['peak_mib']:.0f} MiB "
          f"(the measuring process's peak: {result['process_peak_mib']:.0f} MiB, Streamlit and the app included)")
    if result["problems"]:
        print("  the page reported:", " | ".join(result["problems"])[:500])
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How much faster does a training job finish on every worker of a Dask LocalCluster than on one?

The job is exactly what the app runs (``pipeline_core.jobs.dask_cluster.run_on_cluster``): five
models (logistic regression, decision tree, random forest and extra trees with 100 trees,
histogram gradient boosting) compared by 5-fold CV on ``benchmarks.data.mixed_frame``, then
the best refitted and scored on the hold-out rows. The data reaches the workers as a Parquet
path; the folds fan out through joblib's Dask backend. Each cluster (1-thread worker
processes) is started and warmed before the clock starts, and the script checks that both
runs got identical CV scores, so the timing compares like with like. It also prints the CPU
time the workers used: equal on both sides means distributing adds no work, and CPU / wall
shows how many cores the job really got (less than the workers on a busy machine).

    python -m benchmarks.bench_dask_speedup --rows 10000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dask
import joblib
import psutil
import sklearn
from distributed import Client, LocalCluster

from benchmarks.data import mixed_frame
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec
from pipeline_core.jobs.dask_cluster import import_training_stack, machine_workers, run_on_cluster
from pipeline_core.training.progress import ProgressEvent
from pipeline_core.training.results import LeaderboardRow, RunSummary

MODELS = [ModelSpec(kind="logistic_regression"), ModelSpec(kind="decision_tree"),
          ModelSpec(kind="random_forest", params={"n_estimators": 100}),
          ModelSpec(kind="extra_trees", params={"n_estimators": 100}), ModelSpec(kind="hist_gradient_boosting")]
FOLDS = 5
SEED = 0


class FileReporter:
    """Writes the job's CV scores (or its error) to a JSON file, so the two runs can be compared."""

    def __init__(self, path: Path):
        self.path = path

    def start(self) -> None:
        pass

    def progress(self, event: ProgressEvent) -> None:
        pass

    def cancelled(self) -> bool:
        return False

    def finish(self, leaderboard: list[LeaderboardRow], model: bytes, model_name: str, summary: RunSummary,
               holdout_model: bytes | None = None) -> None:
        # folds finish in any order, so the mean may differ in the last bit: compare rounded
        scores = {row.model: round(row.metrics.get(summary.metric), 9) for row in leaderboard}
        self.path.write_text(json.dumps({"best": model_name, "metric": summary.metric, "scores": scores}))

    def fail(self, error: str, *, status: str = "failed", failed_model: str | None = None) -> None:
        self.path.write_text(json.dumps({"error": error}))


def bench_spec(frame: Any) -> PipelineSpec:
    spec = PipelineSpec(target="target", task="classification", models=MODELS,
                        evaluation=EvaluationPlan(cv_folds=FOLDS, seed=SEED, metric="accuracy"))
    return spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})


def timed_job(workers: int, spec_json: str, data_path: str, out: Path) -> tuple[float, float, dict[str, Any]]:
    """Wall seconds from submitting the job to its end on a fresh warmed cluster of ``workers`` workers,
    the CPU seconds its worker processes spent meanwhile, and the CV scores."""
    with (LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                       dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client):
        client.run(import_training_stack)
        processes = [psutil.Process(pid) for pid in client.run(os.getpid).values()]
        cpu_before, started = _cpu_seconds(processes), time.perf_counter()
        status = client.submit(run_on_cluster, spec_json, data_path, FileReporter(out), pure=False).result()
        seconds, cpu = time.perf_counter() - started, _cpu_seconds(processes) - cpu_before
    result = json.loads(out.read_text())
    if status != "done":
        raise SystemExit(f"the job on {workers} worker(s) ended {status}: {result.get('error')}")
    return seconds, cpu, result


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    """Equal CPU on both clusters shows distribution adds no work; CPU / wall shows the cores the job got."""
    return sum(times.user + times.system for times in (p.cpu_times() for p in processes))


def machine() -> str:
    """What the timings depend on, including the load from other processes (it skews a speed-up)."""
    memory = psutil.virtual_memory().total / 2**30
    load = ", ".join(f"{x:.1f}" for x in psutil.getloadavg())
    return (f"{platform.platform()} · Python {platform.python_version()} · {machine_workers()} usable cores "
            f"({psutil.cpu_count(logical=False)} physical) · {memory:.1f} GiB RAM · load average {load} · "
            f"dask {dask.__version__} · scikit-learn {sklearn.__version__} · joblib {joblib.__version__}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows of generated data (default 10,000)")
    parser.add_argument("--workers", type=int, default=machine_workers(), help="workers of the full cluster")
    parser.add_argument("--repeats", type=int, default=1,
                        help="alternate the two runs this many times and keep the best of each (for busy machines)")
    args = parser.parse_args(argv)
    frame = mixed_frame(args.rows, seed=SEED)
    with tempfile.TemporaryDirectory() as tmp:
        data_path = Path(tmp) / "data.parquet"
        frame.to_parquet(data_path)
        spec_json = bench_spec(frame).to_json()
        print(machine())
        print(f"job: {len(MODELS)} models × {FOLDS}-fold CV + refit on {args.rows:,} rows × {frame.shape[1] - 1} "
              "features")
        runs: dict[int, list[tuple[float, float, dict[str, Any]]]] = {1: [], args.workers: []}
        for _ in range(args.repeats):
            for workers, found in runs.items():
                found.append(timed_job(workers, spec_json, str(data_path), Path(tmp) / "result.json"))
                seconds, cpu, result = found[-1]
                print(f"{workers} worker(s): {seconds:6.1f} s wall  {cpu:6.1f} s CPU  {cpu / seconds:4.2f} cores used  "
                      f"best {result['best']}", flush=True)
    results = [result for found in runs.values() for _, _, result in found]
    if any(result != results[0] for result in results):
        raise SystemExit(f"the runs disagree: {results}")
    one, full = (min(seconds for seconds, _, _ in runs[w]) for w in (1, args.workers))
    print(f"best of {args.repeats}: 1 worker {one:.1f} s, {args.workers} workers {full:.1f} s")
    print(f"speed-up: {one / full:.2f}× on {args.workers} workers (identical CV scores in every run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

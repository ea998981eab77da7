"""How much memory do loading and training take, compared with the size of the frame itself?

Each phase runs in a fresh subprocess, which reports its peak resident memory
(``resource.getrusage(...).ru_maxrss``) and its resident memory after imports, before any data:

- load: ``read_path`` on the CSV of ``bench_load_csv`` (1,000,000 rows x 20 features + target);
- train: the frame read back from Parquet (as stored datasets and training jobs read it), then
  ``pipeline_core.training.train.train`` with the default steps for its columns, 20% hold-out and K-fold
  CV, folds in this one process (``n_jobs=1``) so a single peak covers the whole run.

The frame's size is pandas' deep ``memory_usage``, which counts every text cell as its own
Python string. The readers share repeated strings (pyarrow deduplicates them), so the memory the
loaded frame really holds is smaller; it is shown too, as the resident growth once loading is done.

    python -m benchmarks.bench_memory                # 1,000,000 rows; target: peak <= 3x the frame
    python -m benchmarks.bench_memory --quick        # 50,000 rows (small sizes overstate the ratio)
    python -m benchmarks.bench_memory --models hist_gradient_boosting,logistic_regression,random_forest
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
TARGET_RATIO = 3.0
FULL_ROWS, QUICK_ROWS = 1_000_000, 50_000
DEFAULT_MODELS = "hist_gradient_boosting,logistic_regression"
MB = 2**20


def rss_bytes() -> int:
    """Resident memory of this process now (Linux /proc; falls back to the peak elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return peak_bytes()


def peak_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux


# ---------------------------------------------------------------- the phases (each in its own process)


def phase_load(csv: Path) -> dict[str, Any]:
    from pipeline_core.io.readers import read_path

    baseline = rss_bytes()
    start = time.perf_counter()
    frame = read_path(csv).frame
    seconds = time.perf_counter() - start
    held = rss_bytes() - baseline
    return {"baseline": baseline, "peak": peak_bytes(), "held": held, "seconds": seconds,
            "frame_bytes": int(frame.memory_usage(deep=True).sum()), "shape": list(frame.shape)}


def phase_train(parquet: Path, models: list[str], folds: int, codes: bool = False) -> dict[str, Any]:
    import pandas as pd

    from pipeline_core.compiler.columns import default_steps, infer_schema
    from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec
    from pipeline_core.training.train import train

    baseline = rss_bytes()
    frame = pd.read_parquet(parquet)
    held = rss_bytes() - baseline
    spec = PipelineSpec(target="target", models=[ModelSpec(kind=m) for m in models],
                        evaluation=EvaluationPlan(cv_folds=folds))
    steps = default_steps(infer_schema(frame, spec))
    if codes:  # the one-hot step's option: histogram boosting splits on category codes itself
        steps = [s.model_copy(update={"boosting": "codes"}) if s.kind == "onehot" else s for s in steps]
    spec = spec.model_copy(update={"steps": steps})
    start = time.perf_counter()
    result = train(spec, frame, n_jobs=1)
    seconds = time.perf_counter() - start
    return {"baseline": baseline, "peak": peak_bytes(), "held": held, "seconds": seconds,
            "frame_bytes": int(frame.memory_usage(deep=True).sum()), "shape": list(frame.shape),
            "scores": {row.model: row.metrics.get("accuracy") for row in result.leaderboard}}


def run_phase(args: list[str]) -> dict[str, Any]:
    """Run one phase in a fresh interpreter and read back the JSON it prints last."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_memory", *args], cwd=REPO,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"phase {args[:2]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- driver


def report(name: str, result: dict[str, Any], frame_bytes: int) -> float:
    peak, baseline = result["peak"], result["baseline"]
    ratio = peak / frame_bytes
    print(f"{name:<6} {result['seconds']:6.1f} s | peak {peak / MB:6.0f} MB = {ratio:.2f}x the frame "
          f"({(peak - baseline) / MB:.0f} MB above the {baseline / MB:.0f} MB of the bare interpreter + "
          f"libraries = {(peak - baseline) / frame_bytes:.2f}x) | frame resident after reading: "
          f"{result['held'] / MB:.0f} MB")
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None, help=f"rows of the data (default {FULL_ROWS:,})")
    parser.add_argument("--quick", action="store_true", help=f"small sizes: {QUICK_ROWS:,} rows")
    parser.add_argument("--models", default=DEFAULT_MODELS, help=f"models to train (default {DEFAULT_MODELS})")
    parser.add_argument("--folds", type=int, default=2, help="CV folds of the train phase (default 2)")
    parser.add_argument("--codes", action="store_true",
                        help="one-hot step with boosting='codes': boosting gets category codes, not one-hot columns")
    parser.add_argument("--phase", choices=["load", "train"], help=argparse.SUPPRESS)  # a child process
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        result = phase_load(args.data) if args.phase == "load" else phase_train(
            args.data, args.models.split(","), args.folds, args.codes)
        print(json.dumps(result))
        return 0
    return drive(args)


def drive(args: argparse.Namespace) -> int:
    from benchmarks.bench_load_csv import write_mixed_csv
    from benchmarks.bench_train_overhead import machine

    rows = args.rows or (QUICK_ROWS if args.quick else FULL_ROWS)
    print(machine())
    with tempfile.TemporaryDirectory(prefix="bench_memory_") as tmp:
        csv, parquet = Path(tmp) / "mixed.csv", Path(tmp) / "mixed.parquet"
        frame = write_mixed_csv(csv, rows)
        frame.to_parquet(parquet, index=False)
        del frame
        loaded = run_phase(["--phase", "load", "--data", str(csv)])
        frame_bytes = loaded["frame_bytes"]
        print(f"data: {rows:,} rows x {loaded['shape'][1]} columns, {csv.stat().st_size / MB:.0f} MB CSV; "
              f"the frame: {frame_bytes / MB:.0f} MB (pandas deep memory_usage); train phase: {args.models}, "
              f"{args.folds}-fold CV + 20% hold-out, n_jobs=1")
        trained = run_phase(["--phase", "train", "--data", str(parquet), "--models", args.models,
                             "--folds", str(args.folds), *(["--codes"] if args.codes else [])])
    worst = max(report("load", loaded, frame_bytes), report("train", trained, frame_bytes))
    print(f"worst peak: {worst:.2f}x the frame (target <= {TARGET_RATIO:.0f}x: "
          f"{'met' if worst <= TARGET_RATIO else 'MISSED'}); train accuracies: "
          + ", ".join(f"{m} {a:.4f}" for m, a in trained["scores"].items() if a is not None))
    return 0


if __name__ == "__main__":
    sys.exit(main())

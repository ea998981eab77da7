"""Run every benchmark, one after another, each in its own interpreter.

    python -m benchmarks                 # full sizes (the 1,000,000-row ones take a few minutes each)
    python -m benchmarks --quick         # small sizes: each benchmark in about a minute or less
    python -m benchmarks --only bench_click,bench_overview
    python -m benchmarks --pycaret-python /tmp/pycaret-venv/bin/python   # measure PyCaret too

Figures are printed, never asserted: see benchmarks/README.md for the latest ones and the targets.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# name -> (arguments at full size, arguments with --quick)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "bench_load_csv": ([], ["--quick"]),
    "bench_overview": ([], ["--quick"]),
    "bench_click": ([], ["--quick"]),
    "bench_memory": ([], ["--quick"]),
    "bench_vs_pycaret": ([], ["--quick"]),
    "bench_train_overhead": (["--rows", "50000"], ["--rows", "5000", "--repeats", "1"]),
    "bench_dask_speedup": ([], ["--rows", "2000"]),
    "bench_serve": ([], ["--quick"]),
    "bench_explain": ([], ["--quick"]),
    "bench_log_overhead": ([], ["--quick"]),
    "bench_autopilot": ([], ["--quick"]),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute per benchmark")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--pycaret-python", help="passed to bench_vs_pycaret: an interpreter with pycaret 3")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    failed = []
    for name in names:
        if not (REPO / "benchmarks" / f"{name}.py").exists():
            print(f"== {name}: not in this checkout, skipped", flush=True)
            continue
        extra = BENCHMARKS[name][1 if args.quick else 0]
        if name == "bench_vs_pycaret" and args.pycaret_python:
            extra = [*extra, "--pycaret-python", args.pycaret_python]
        print(f"== {name} {' '.join(extra)}".rstrip(), flush=True)
        start = time.perf_counter()
        code = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *extra], cwd=REPO, check=False).returncode
        outcome = "ok" if code == 0 else f"exit {code}"
        print(f"== {name}: {outcome} in {time.perf_counter() - start:.0f} s\n", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

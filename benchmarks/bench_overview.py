"""How long does the Profile page's instant overview (``analysis.profile.overview``) take on a large frame?

The frame is ``benchmarks.data.mixed_frame`` (1,000,000 rows x 20 features + a yes/no target:
float64 numbers with missing values and text categories, the dtypes ``read_table`` gives for
the CSV of ``bench_load_csv``). It is summarised without and with a target (the target adds
per-class means and counts for every feature). Each is run a few times; the fastest counts,
and CPU seconds (all threads) are shown beside wall seconds because the machine may be shared.

    python -m benchmarks.bench_overview              # 1,000,000 rows; target: <= 3 s
    python -m benchmarks.bench_overview --quick      # 100,000 rows
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_load_csv import timed
from benchmarks.bench_train_overhead import machine
from benchmarks.data import mixed_frame
from pipeline_core.analysis.profile import overview

TARGET_SECONDS = 3.0
FULL_ROWS, QUICK_ROWS = 1_000_000, 100_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None, help=f"rows of mixed_frame (default {FULL_ROWS:,})")
    parser.add_argument("--quick", action="store_true", help=f"small sizes: {QUICK_ROWS:,} rows")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each variant; the fastest counts")
    args = parser.parse_args(argv)
    rows = args.rows or (QUICK_ROWS if args.quick else FULL_ROWS)
    print(machine())
    frame = mixed_frame(rows)
    print(f"data: {rows:,} rows x {frame.shape[1]} columns, {frame.memory_usage(deep=True).sum() / 2**20:.0f} MB "
          f"in memory; {args.repeats} runs per variant")
    worst = 0.0
    for label, target in (("overview(frame)", None), ("overview(frame, target='target')", "target")):
        runs = [timed(overview, frame, target)[:2] for _ in range(args.repeats)]
        walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
        worst = max(worst, min(walls))
        print(f"{label:<34} best wall {min(walls):5.2f} s (median {statistics.median(walls):.2f}), "
              f"best CPU {min(cpus):5.2f} s   (wall runs: {', '.join(f'{w:.2f}' for w in walls)})")
    print(f"slowest variant: {worst:.2f} s wall (target <= {TARGET_SECONDS:.0f} s: "
          f"{'met' if worst <= TARGET_SECONDS else 'MISSED'})")
    if hasattr(os, "getloadavg") and os.getloadavg()[0] > (os.cpu_count() or 1):
        print("note: the machine is busy (load above its core count): wall times are inflated; "
              "CPU seconds over the usable cores bound what an idle machine would take")
    return 0


if __name__ == "__main__":
    sys.exit(main())

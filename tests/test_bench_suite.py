"""The quality suite's comparison of budgets (benchmarks/bench_suite.py): a longer budget's test score is called
below a shorter one's only when a paired bootstrap over the test rows puts the whole difference under zero."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.bench_suite import paired, paired_report
from benchmarks.suite_tables import Table


def _table(task: str) -> Table:
    return Table("made", task, "y", "", lambda: pd.DataFrame())


def test_predictions_clearly_worse_at_the_longer_budget_are_below_by_more_than_noise():
    rng = np.random.default_rng(0)
    y = rng.normal(size=400)
    test = pd.DataFrame({"y": y})
    short = pd.DataFrame({"prediction": y + rng.normal(scale=0.3, size=400)})
    long = pd.DataFrame({"prediction": y + rng.normal(scale=0.8, size=400)})
    drift = paired(_table("regression"), short, long, test)
    assert drift.difference < 0 and drift.below and drift.low <= drift.difference <= drift.high
    assert "below by more than noise on 1 of 1 tables, above on 0" in paired_report([drift], "itself at 30 s")
    better = paired(_table("regression"), long, short, test)
    assert better.above and not better.below and better.verdict == "above by more than noise"


def test_a_small_difference_on_few_test_rows_is_noise():
    """Two classifiers that disagree on two of 200 test rows: the interval spans zero."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    test = pd.DataFrame({"y": np.where(y, "b", "a")})
    score = np.clip(y * 0.6 + rng.normal(scale=0.35, size=200), 0, 1)
    worse = score.copy()
    worse[:2] = 1 - worse[:2]
    short = pd.DataFrame({"a": 1 - score, "b": score})
    long = pd.DataFrame({"a": 1 - worse, "b": worse})
    drift = paired(_table("binary"), short, long, test)
    assert drift.difference < 0 and not drift.below and not drift.above and drift.low < 0 < drift.high
    assert "within noise" in paired_report([drift], "AG best at 300 s")


def test_a_report_takes_the_peers_from_an_earlier_file_and_the_autopilot_from_the_later(tmp_path, capsys):
    """``--also``: the peers' scores of a run before a change to the autopilot, the autopilot's of the run after."""
    import json
    from dataclasses import asdict

    from benchmarks.bench_suite import Outcome, main

    before, after = tmp_path / "before.jsonl", tmp_path / "after.jsonl"
    rows = [Outcome("digits", 30.0, "autopilot", 0.9611, 27.0, 1.0, 1.0, "Extra trees"),
            Outcome("digits", 30.0, "ag_best", 0.9722, 30.0, 1.0, 1.0)]
    before.write_text("".join(json.dumps(asdict(o)) + "\n" for o in rows))
    after.write_text(json.dumps(asdict(Outcome("digits", 30.0, "autopilot", 0.9833, 26.0, 1.0, 1.0, "CatBoost")))
                     + "\n")
    assert main(["--report", "--tables", "digits", "--also", str(before), "--results", str(after)]) == 0
    shown = capsys.readouterr().out
    assert "0.9833 (1)" in shown and "0.9722 (2)" in shown and "0.9611" not in shown
    assert "AG best on 1 of 1 tables where both scored" in shown


def test_a_report_compares_the_autopilot_with_a_peer_whose_predictions_an_earlier_file_kept(tmp_path, capsys):
    """The peer's test predictions beside the earlier results file, the autopilot's beside the later: the report
    pairs them on the same test rows and says whether the gap is beyond the test split's noise."""
    import json
    from dataclasses import asdict

    from benchmarks.bench_suite import Outcome, kept_predictions, main
    from benchmarks.suite_tables import TABLES

    digits = next(t for t in TABLES if t.name == "digits")
    truth = digits.split()[1][digits.target].astype(str).to_numpy()
    wrong = truth.copy()
    wrong[::4] = np.where(truth[::4] == "digit 0", "digit 1", "digit 0")  # a quarter wrong: far beyond noise
    before, after = tmp_path / "before.jsonl", tmp_path / "after.jsonl"
    for results, system, predicted in ((before, "ag_best", wrong), (after, "autopilot", truth)):
        path = kept_predictions(results, "digits", 300.0, system)
        path.parent.mkdir(parents=True)
        pd.DataFrame({"prediction": predicted}).to_parquet(path)
        results.write_text(json.dumps(asdict(Outcome("digits", 300.0, system, 0.0, 1.0, 1.0, 1.0))) + "\n")
    assert main(["--report", "--tables", "digits", "--also", str(before), "--results", str(after)]) == 0
    shown = capsys.readouterr().out
    assert "autopilot against AG best at 300 s" in shown
    line = next(x for x in shown.splitlines() if x.strip().startswith("digits") and "->" in x)
    assert line.endswith("above by more than noise")
    assert "below by more than noise on 0 of 1 tables, above on 1" in shown
    assert "against FLAML" not in shown  # no predictions of FLAML were kept

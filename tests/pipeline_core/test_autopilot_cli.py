"""The autopilot from the command line: ``train DATA --target COL --time-budget SECONDS``, a re-run of the
pipeline.json it writes, and Ctrl+C, which stops the search and keeps the best model found so far."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from pipeline_core.artifacts.export import load_model
from pipeline_core.definition.spec import load_spec
from tests.pipeline_core.test_autopilot import classes_frame, values_frame
from tests.pipeline_core.test_cli import cli, ok, start


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("autopilot_cli")
    classes_frame(200).to_csv(folder / "classes.csv", index=False)
    values_frame(200).to_csv(folder / "values.csv", index=False)
    return folder


def test_train_with_a_time_budget_records_its_choices_and_run_re_trains_them(folder):
    trained = ok(cli("train", "classes.csv", "--target", "y", "--time-budget", "8", "--cv", "3", "--out", "searched",
                     cwd=folder))
    assert "autopilot: " in trained.stdout and "of the 8 s budget" in trained.stdout
    assert "trial 1: " in trained.stderr and "best so far: " in trained.stderr
    saved = load_spec((folder / "searched" / "pipeline.json").read_text())
    assert saved.autopilot.time_budget_seconds == 8 and saved.autopilot.chosen
    board = json.loads((folder / "searched" / "leaderboard.json").read_text())

    again = ok(cli("run", "searched/pipeline.json", "--data", "classes.csv", "--out", "again", cwd=folder))
    assert "re-training the" in again.stderr and "trial 1: " not in again.stderr
    assert "autopilot: " not in again.stdout
    replayed = json.loads((folder / "again" / "leaderboard.json").read_text())
    assert [(r["model"], r["metrics"]) for r in replayed] == [(r["model"], r["metrics"]) for r in board]


def test_ctrl_c_stops_the_search_and_keeps_the_best_model(folder):
    process = start(["train", "values.csv", "--target", "y", "--time-budget", "600", "--cv", "3",
                     "--out", "stopped"], folder)
    seen = []
    for line in process.stderr:  # interrupt once the first configuration has a score, well inside 10 minutes
        seen.append(line)
        if " scored " in line:
            process.send_signal(signal.SIGINT)
            break
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, "".join(seen) + err
    assert "stopping the search" in err and "stopped by the user" in err
    model = load_model(folder / "stopped" / "model.skops")
    assert model.pipeline.predict(values_frame(5).drop(columns="y")).shape == (5,)
    assert load_spec((folder / "stopped" / "pipeline.json").read_text()).autopilot.chosen


def test_a_time_budget_with_a_tuning_method_is_refused_in_one_line(folder):
    result = cli("train", "classes.csv", "--target", "y", "--time-budget", "30", "--tuning", "random", cwd=folder)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --time-budget searches the models' settings itself; leave out --tuning"


def test_models_narrow_the_families_and_one_without_a_portfolio_is_named(folder):
    result = cli("train", "values.csv", "--target", "y", "--time-budget", "30", "--models", "ridge,svm", cwd=folder)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "'svm' has no autopilot portfolio" in result.stderr


def test_pipeline_json_of_a_plain_run_has_no_autopilot(folder):
    ok(cli("train", "values.csv", "--target", "y", "--models", "ridge", "--cv", "2", "--out", "plain", cwd=folder))
    assert load_spec((folder / "plain" / "pipeline.json").read_text()).autopilot is None


"""The command line, run as users run it: ``python -m pipeline_core ...`` in a subprocess.

Each interpreter start costs seconds of imports, so commands that do not depend on each
other are started together and awaited together.
"""

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline_core.artifacts.export import load_model, predict_onnx
from tests.pipeline_core.frames import breast_cancer, diabetes, messy_frame

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipeline_core", *args], cwd=cwd, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run_all(commands: list[list[str]], cwd: Path) -> list[subprocess.CompletedProcess]:
    """Run the commands concurrently; return their results in order."""
    processes = [start(args, cwd) for args in commands]
    results = []
    for args, process in zip(commands, processes, strict=True):
        out, err = process.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(args, process.returncode, out, err))
    return results


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_all([list(args)], cwd)[0]


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{result.args}: {result.stderr[-2000:]}"
    return result


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """Small real CSVs and one model trained on breast_cancer by the CLI."""
    folder = tmp_path_factory.mktemp("cli")
    breast_cancer().to_csv(folder / "cancer.csv", index=False)
    diabetes().to_csv(folder / "diabetes.csv", index=False)
    messy_frame().to_csv(folder / "messy.csv", index=False)
    trained = ok(cli("train", "cancer.csv", "--target", "target", "--models", "logistic_regression,decision_tree",
                     "--cv", "3", "--seed", "3", "--out", "cancer", cwd=folder))
    (folder / "train.stderr").write_text(trained.stderr)
    (folder / "train.stdout").write_text(trained.stdout)
    return folder


def test_help_lists_every_command_and_usage_errors_are_one_line(tmp_path):
    shown, no_data, bad_format = run_all([["--help"], ["train"], ["export", "m.skops", "--format", "zip",
                                                                    "--out", "x"]], tmp_path)
    ok(shown)
    for synopsis in ("profile DATA --out report.html [--minimal] [--sample N]", "train   DATA --target COL",
                     "run     PIPELINE.json [--data DATA] [--out DIR]", "predict MODEL DATA --out preds.csv",
                     "export  MODEL --format skops|joblib|onnx|python|bundle|mlflow --out PATH"):
        assert synopsis in shown.stdout
    for result, reason in ((no_data, "required: DATA"), (bad_format, "invalid choice: 'zip'")):
        assert result.returncode == 2
        assert result.stderr.startswith("error: ") and reason in result.stderr and result.stderr.count("\n") == 1


def test_train_writes_leaderboard_definition_and_model(workdir):
    board = json.loads((workdir / "cancer" / "leaderboard.json").read_text())
    assert [row["model"] for row in board] == ["logistic_regression", "decision_tree"]  # best first
    assert set(board[0]) == {"model", "metrics", "metrics_std", "fit_seconds"}
    assert board[0]["metrics"]["accuracy"] > 0.9 and board[0]["fit_seconds"] > 0
    definition = json.loads((workdir / "cancer" / "pipeline.json").read_text())
    assert definition["data"] == {"file_name": "cancer.csv", "format": "csv",
                                  "sha256": hashlib.sha256((workdir / "cancer.csv").read_bytes()).hexdigest()}
    assert [s["kind"] for s in definition["steps"]] == ["drop_missing_target", "impute", "scale"]
    assert definition["evaluation"]["seed"] == 3 and definition["evaluation"]["cv_folds"] == 3
    model = load_model(workdir / "cancer" / "model.skops")
    assert model.metadata["model"] == "logistic_regression" and model.metadata["target"] == "target"
    assert "fold 3 of 3 done" in (workdir / "train.stderr").read_text()  # progress on stderr
    assert "best: logistic_regression" in (workdir / "train.stdout").read_text()


def test_run_reproduces_the_metrics_of_a_saved_definition(workdir):
    ok(cli("run", "cancer/pipeline.json", "--data", "cancer.csv", "--out", "rerun", cwd=workdir))
    first = json.loads((workdir / "cancer" / "leaderboard.json").read_text())
    again = json.loads((workdir / "rerun" / "leaderboard.json").read_text())
    assert [(r["model"], r["metrics"]) for r in again] == [(r["model"], r["metrics"]) for r in first]
    assert (workdir / "rerun" / "pipeline.json").read_text() == (workdir / "cancer" / "pipeline.json").read_text()


def test_predict_and_export_to_every_format(workdir):
    model = "cancer/model.skops"
    results = run_all([
        ["predict", model, "cancer.csv", "--out", "out/preds.csv"],
        ["export", model, "--format", "skops", "--out", "out/copy.skops"],
        ["export", model, "--format", "joblib", "--out", "out/model.joblib"],
        ["export", model, "--format", "onnx", "--out", "out/model.onnx", "--data", "cancer.csv"],
        ["export", model, "--format", "python", "--out", "out/pipeline.py"],
    ], workdir)
    for result in results:
        ok(result)
    rows = pd.read_csv(workdir / "cancer.csv").drop(columns=["target"])
    fitted = load_model(workdir / model).pipeline
    predictions = pd.read_csv(workdir / "out" / "preds.csv")
    np.testing.assert_array_equal(predictions["prediction"], fitted.predict(rows))
    np.testing.assert_allclose(predictions[["probability_0", "probability_1"]], fitted.predict_proba(rows), atol=1e-12)
    assert "were ignored: 'target'" in results[0].stderr
    for copy in (load_model(workdir / "out" / "copy.skops"), load_model(workdir / "out" / "model.joblib", "joblib")):
        np.testing.assert_array_equal(copy.pipeline.predict(rows), fitted.predict(rows))
    graph = (workdir / "out" / "model.onnx").read_bytes()
    np.testing.assert_allclose(predict_onnx(graph, rows, fitted[0], proba=True), fitted.predict_proba(rows), atol=1e-6)
    described = results[3].stdout
    assert "graph inputs" in described and "| `mean_radius` | mean radius | `tensor(double)` [rows, 1] |" in described
    example = json.loads(described.split("```json")[1].split("```")[0])
    assert example["mean_radius"] == [[float(rows["mean radius"].iloc[0])], [float(rows["mean radius"].iloc[1])]]
    compile((workdir / "out" / "pipeline.py").read_text(), "pipeline.py", "exec")


def test_regression_and_messy_data_train_end_to_end(workdir):
    diabetes_run, messy_run = run_all([
        ["train", "diabetes.csv", "--target", "target", "--models", "ridge", "--holdout", "0", "--out", "diabetes"],
        ["train", "messy.csv", "--target", "churned", "--models", "logistic_regression", "--cv", "3", "--out", "messy"],
    ], workdir)
    ok(diabetes_run), ok(messy_run)
    board = json.loads((workdir / "diabetes" / "leaderboard.json").read_text())
    assert board[0]["model"] == "ridge" and board[0]["metrics"]["r2"] > 0.3
    steps = json.loads((workdir / "messy" / "pipeline.json").read_text())["steps"]
    dropped = {c for s in steps if s["kind"] == "drop_columns" for c in s["columns"]}
    assert dropped == {"customer_id", "constant"} and {"tfidf", "date_parts", "onehot"} <= {s["kind"] for s in steps}


def test_bad_inputs_end_with_one_error_line_and_status_2(workdir):
    (workdir / "image.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (workdir / "broken.json").write_text('{"target": ')
    (workdir / "invalid.json").write_text(json.dumps({"target": "target", "steps": [{"kind": "impute",
                                                                                   "strategy": "mode"}]}))
    (workdir / "evil.skops").write_bytes(pickle.dumps({"not": "a model"}))
    breast_cancer().drop(columns=["mean radius", "mean area"]).to_csv(workdir / "partial.csv", index=False)
    cases = {
        "Cannot open 'absent.csv'": ["train", "absent.csv", "--target", "x"],
        "is a PNG image": ["train", "image.csv", "--target", "x"],
        "'gradient_descent' is not a known model": ["train", "cancer.csv", "--target", "target", "--models",
                                                    "gradient_descent"],
        "target 'diagnosis' is not a column": ["train", "cancer.csv", "--target", "diagnosis"],
        "not valid JSON": ["run", "broken.json", "--data", "cancer.csv"],
        "steps[0].strategy": ["run", "invalid.json", "--data", "cancer.csv"],
        "pickle": ["predict", "evil.skops", "cancer.csv", "--out", "p.csv"],
        "cannot read model file 'absent.skops'": ["export", "absent.skops", "--format", "onnx", "--out", "m.onnx"],
        "lacks column(s) the model needs: 'mean radius', 'mean area'": ["predict", "cancer/model.skops",
                                                                        "partial.csv", "--out", "p.csv"],
        "more than the 10.2 KB budget": ["profile", "cancer.csv", "--out", "r.html", "--memory-budget-mb", "0.01"],
        "expected a number above 0": ["train", "cancer.csv", "--target", "target", "--memory-budget-mb", "-5"],
    }
    results = run_all([*cases.values(), ["profile", "partial.csv", "--out", "report.html", "--minimal",
                                         "--sample", "50"]], workdir)
    for reason, result in zip(cases, results, strict=False):
        assert result.returncode == 2, (result.args, result.stderr)
        lines = [line for line in result.stderr.splitlines() if not line.startswith("note: ")]
        assert len(lines) == 1 and lines[0].startswith("error: ") and reason in lines[0], (result.args, lines)
    ok(results[-1])
    assert "50 of 569 rows" in (workdir / "report.html").read_text()


def test_train_options_offer_the_definitions_choices_and_keep_its_defaults():
    """Choices are the Literal types' args; options left out leave the definition's field defaults."""
    from types import SimpleNamespace
    from typing import get_args

    from pipeline_core.cli import build_parser, train_spec
    from pipeline_core.definition.choices import Task, TuningMethod
    from pipeline_core.definition.spec import EvaluationPlan, TuningPlan

    train = build_parser()._subparsers._group_actions[0].choices["train"]
    choices = {a.dest: tuple(a.choices) for a in train._actions if a.choices}
    assert (choices["task"], choices["tuning"]) == (get_args(Task), get_args(TuningMethod))
    args = build_parser().parse_args(["train", "data.csv", "--target", "y"])
    spec = train_spec(args, SimpleNamespace(sha256="", format="csv"))
    assert (spec.task, spec.evaluation, spec.tuning) == ("auto", EvaluationPlan(), TuningPlan())
    args = build_parser().parse_args(["train", "data.csv", "--cv", "3", "--tuning", "grid", "--holdout", "0"])
    spec = train_spec(args, SimpleNamespace(sha256="", format="csv"))
    assert (spec.evaluation.cv_folds, spec.evaluation.holdout, spec.tuning.method) == (3, 0.0, "grid")


def test_a_pipelines_quality_rules_are_checked_on_every_scored_file(workdir):
    """Issue 15 point 2: rules saved in the definition travel into the model and are reported by batch scoring
    (a notice on stderr and ``--rules-report``), while every row is still scored."""
    definition = json.loads((workdir / "cancer" / "pipeline.json").read_text())
    definition["rules"] = [{"kind": "range", "column": "mean radius", "max": 15},
                           {"kind": "not_null", "column": "customer id"}]
    (workdir / "with_rules.json").write_text(json.dumps(definition))
    ok(cli("run", "with_rules.json", "--data", "cancer.csv", "--out", "ruled", cwd=workdir))
    scored = ok(cli("predict", "ruled/model.skops", "cancer.csv", "--out", "ruled/preds.csv", "--rules-report",
                    "ruled/rules.csv", cwd=workdir))
    rows = pd.read_csv(workdir / "cancer.csv")
    report = pd.read_csv(workdir / "ruled" / "rules.csv")
    assert report["violations"].tolist() == [int((rows["mean radius"] > 15).sum()), len(rows)]
    assert report["example_values"][1] == "the column is not in this file"
    assert "2 of 2 quality rule(s) of the pipeline are broken" in scored.stderr
    assert len(pd.read_csv(workdir / "ruled" / "preds.csv")) == len(rows)

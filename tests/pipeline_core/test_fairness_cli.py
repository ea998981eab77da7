"""``python -m pipeline_core fairness``: a real model file and hold-out rows in, a JSON report out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline_core.artifacts.export import build_metadata, save_model
from pipeline_core.training.holdout import holdout_split
from pipeline_core.training.train import train
from tests.pipeline_core.group_frames import SENSITIVE, TARGET, lending_frame, lending_spec
from tests.pipeline_core.test_cli import ok, run_all


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """model.skops trained without the sensitive column; holdout.csv: its hold-out rows with target and group."""
    folder = tmp_path_factory.mktemp("fairness")
    frame, spec = lending_frame(biased=True, small_group_rows=60), lending_spec()
    result = train(spec, frame)
    save_model(result.pipeline, folder / "model.skops", "skops", build_metadata(result, frame))
    split = holdout_split(spec, frame)
    split.X_test.assign(**{TARGET: split.y_test}).to_csv(folder / "holdout.csv", index=False)
    return folder


def test_writes_groups_metrics_gaps_and_small_group_flags(folder):
    done = ok(run_all([["fairness", "model.skops", "holdout.csv", "--target", TARGET, "--sensitive", SENSITIVE,
                        "--out", "out/fairness.json", "--bootstrap", "50"]], folder)[0])
    assert "wrote out/fairness.json: 3 group(s)" in done.stdout
    assert "Accuracy differs by" in done.stdout
    report = json.loads((folder / "out" / "fairness.json").read_text())
    assert report["target"] == TARGET and report["sensitive"] == [SENSITIVE] and report["positive_label"] == "yes"
    groups = {g["group"]: g for g in report["groups"]}
    assert set(groups) == {"A", "B", "C"}
    assert sum(g["size"] for g in groups.values()) == report["rows"]
    assert set(groups["A"]["metrics"]) == {"accuracy", "selection_rate", "true_positive_rate", "false_positive_rate"}
    assert groups["C"]["too_small"] and report["small_groups"] == ["C"]
    assert len(groups["A"]["intervals"]["accuracy"]) == 2
    assert report["differences"]["accuracy"]["value"] > 0.1
    assert report["differences"]["accuracy"]["lowest_group"] == "B"
    assert 0 < report["ratios"]["accuracy"]["value"] < 1
    flags = {f["metric"]: f["status"] for f in report["flags"]}
    assert flags["accuracy"] == "disparity"
    assert report["rule"]["n_boot"] == 50 and report["rule"]["min_group_rows"] == 30
    assert {g["group"] for g in report["data_balance"]["groups"]} == {"A", "B", "C"}


@pytest.mark.parametrize(("args", "message"), [
    (["--target", TARGET, "--sensitive", "religion"], "error: sensitive column 'religion' is not in the data"),
    (["--target", "label", "--sensitive", SENSITIVE], "error: target 'label' is not a column of 'holdout.csv'"),
    (["--target", TARGET, "--sensitive", SENSITIVE, "--positive", "maybe"], "error: positive class 'maybe'"),
    (["--target", TARGET, "--sensitive", TARGET], "error: 'approved' is the target"),
    (["--target", TARGET], "error: the following arguments are required: --sensitive"),
])
def test_bad_input_is_one_line_and_a_non_zero_exit(folder, args, message):
    done = run_all([["fairness", "model.skops", "holdout.csv", "--out", "bad.json", *args]], folder)[0]
    assert done.returncode == 2
    assert done.stderr.startswith(message) and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (folder / "bad.json").exists()


def test_a_file_that_is_not_a_model_is_refused(folder):
    (folder / "fake.skops").write_bytes(b"not a model")
    done = run_all([["fairness", "fake.skops", "holdout.csv", "--target", TARGET, "--sensitive", SENSITIVE,
                     "--out", "x.json"]], folder)[0]
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "Traceback" not in done.stderr

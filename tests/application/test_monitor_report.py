"""Issue 17 point 6: ``python -m studio monitor`` writes the Monitor page's report headless and exits 3 on an
alert, from the test's real SQLite studio (a registered iris pipeline with logged inputs and outcomes)."""

from __future__ import annotations

import json

import pytest

from tests.application.test_registry_cli import cli


def test_a_crossed_threshold_exits_3_and_names_the_feature_and_the_accuracy(watched, tmp_path):
    out = tmp_path / "report.json"
    done = cli("studio", "monitor", "--pipeline", watched, "--since", "1d", "--granularity", "hour", "--out", out,
               "--max-psi", "0.2", "--min-accuracy", "0.9")
    assert done.returncode == 3, done.stderr
    report = json.loads(out.read_text())
    assert (report["rows"], report["requests"], report["labelled_rows"]) == (160, 2, 160)
    assert report["metric"] == "accuracy" and report["live_score"] < 0.9
    assert report["drift"][0]["feature"] == "petal length (cm)" and report["drift"][0]["drifted_buckets"] >= 1
    assert any(a.startswith("drift: 'petal length (cm)' reached PSI") for a in report["alerts"])
    assert any(a.startswith("performance: live accuracy") for a in report["alerts"])
    assert "alert: drift: 'petal length (cm)'" in done.stdout


def test_without_a_crossed_threshold_it_exits_0_and_html_is_tables_without_scripts(watched, tmp_path):
    out = tmp_path / "report.html"
    done = cli("studio", "monitor", "--pipeline", watched, "--since", "1d", "--out", out, "--max-psi", "100")
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert "<h1>Monitor report: iris</h1>" in page and "petal length (cm)" in page
    assert "<script" not in page.lower() and "://" not in page  # nothing runs, nothing is fetched


@pytest.mark.parametrize(("args", "message"), [
    (["--pipeline", "iris", "--since", "last tuesday", "--out", "r.json"], "--since 'last tuesday' is neither"),
    (["--pipeline", "iris", "--out", "r.txt"], "--out must end in .json or .html"),
    (["--pipeline", "nope", "--out", "r.json"], "nope"),
])
def test_bad_arguments_exit_2_with_one_line(watched, tmp_path, args, message):
    done = cli("studio", "monitor", *[tmp_path / a if a.startswith("r.") else a for a in args])
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]

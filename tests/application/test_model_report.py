"""The model report of a registered version (issue 18 point 4), built from real fits in a real SQLite studio:
every section for a classifier and a regressor, data values escaped, the command line's form and its errors."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys

import pytest

import storage
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.reporting.html import script_hash
from studio import model_report, registry
from studio.errors import DataError, StorageError
from studio.roles import Actor
from tests.apptest import REPO, store_frame
from tests.report_models import CLASSIFIER, HOSTILE, REGRESSOR, customers, register, register_both, spec_for

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

SECTIONS = ["summary", "data", "steps", "metrics", "tuning", "explanations", "bias", "errors", "rules", "lineage"]


@pytest.fixture
def registered(store) -> dict[str, int]:
    return register_both(store)


def _text(report: model_report.ModelReport) -> str:
    return report.html.decode("utf-8")


def _section(page: str, key: str) -> str:
    """The HTML of one ``<section id=key>``."""
    return re.search(rf'<section id="{key}">(.*?)</section>', page, re.S)[1]


def _scripts(page: str) -> list[str]:
    return re.findall(r"<script>(.*?)</script>", page, re.S)


def test_a_classifier_report_holds_every_section_and_escapes_the_data(registered):
    report = model_report.build_model_report(LOCAL, CLASSIFIER, registered[CLASSIFIER], sensitive=["region"],
                                             positive="yes")
    page = _text(report)
    assert [s.key for s in report.sections] == SECTIONS
    assert re.findall(r'<section id="([a-z]+)">', page) == SECTIONS
    assert report.file_name == "model-report-churn-b-model-b-v1.html"

    # data values never reach the page as markup: the hostile level and the pipeline's name are text
    assert HOSTILE not in page and "<b>model</b>" not in page
    for key in ("errors", "rules"):  # a slice and a row of the error analysis; an allowed value of a rule
        assert html.escape(HOSTILE) in _section(page, key)
    assert "churn &lt;b&gt;model&lt;/b&gt;" in page.split("</title>")[0]
    specs = re.findall(r'<script type="application/json" class="chart-spec" data-chart="chart-\d+">(.*?)</script>',
                       page, re.S)
    assert specs and all("<" not in spec for spec in specs)  # chart data: <, > and & escaped inside the JSON
    assert any(HOSTILE in json.dumps(json.loads(spec)) for spec in specs)  # ... and back intact once parsed

    # only the report's own two scripts (plotly.js and the drawing loop), each allowed by its hash, nothing fetched
    scripts = _scripts(page)
    assert len(scripts) == 2
    csp = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)[1])
    assert "default-src 'none'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert all(script_hash(s) in csp for s in scripts)
    assert "cdn." not in page.split("<script>")[0] and "src=" not in page.split("<script>")[0]

    # each section carries its content
    assert "Fitted step" in _section(page, "steps") and "Logistic regression" in _section(page, "steps")
    metrics = _section(page, "metrics")
    assert "Cross-validated (mean ± std)" in metrics and "Hold-out" in metrics and "Accuracy" in metrics
    assert "Confusion matrix" in page and "Permutation importance" in page
    tuning = _section(page, "tuning")
    assert "Trials" in tuning and "class=\"chart\"" in tuning
    explained = _section(page, "explanations")
    assert "Mean |SHAP value|" in explained and "Partial dependence" in explained
    bias = _section(page, "bias")
    assert "<td>east</td>" in bias and "<td>west</td>" in bias and "Selection rate" in bias
    errors = _section(page, "errors")
    assert "hold-out rows" in errors and "Excess errors" in errors
    lineage = _section(page, "lineage")
    for needed in ("Data sha256", "Definition version", "Training run", "scikit-learn", "Model file sha256"):
        assert needed in lineage
    outline = {s.key: s for s in report.sections}
    assert outline["bias"].summary.startswith("By region: 2 group(s)")
    assert outline["explanations"].charts >= 3 and outline["metrics"].charts >= 4


def test_a_regressor_report_has_its_own_charts_and_says_what_was_not_measured(registered):
    report = model_report.build_model_report(LOCAL, REGRESSOR, 1)
    page = _text(report)
    assert [s.key for s in report.sections] == SECTIONS
    assert "Predicted vs actual" in page and "Residuals" in page and "Confusion matrix" not in page
    assert "MAE" in _section(page, "metrics") or "RMSE" in _section(page, "metrics")
    assert "No sensitive column was named" in _section(page, "bias")
    assert "did not tune" in _section(page, "tuning")
    assert "mean absolute error" in _section(page, "errors")
    assert HOSTILE not in page


def test_bad_requests_fail_in_one_line(registered):
    with pytest.raises(StorageError, match="has no model version 9; its versions are 1"):
        model_report.build_model_report(LOCAL, REGRESSOR, 9)
    with pytest.raises(StorageError, match="There is no pipeline named 'nope'"):
        model_report.build_model_report(LOCAL, "nope", 1)
    with pytest.raises(DataError, match="sensitive column 'gender' is not in the data"):
        model_report.build_model_report(LOCAL, REGRESSOR, 1, sensitive=["gender"])


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "studio", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, timeout=600)


def test_the_command_line_writes_the_report_and_refuses_bad_input_in_one_line(registered, tmp_path):
    out = tmp_path / "report.html"
    done = cli("report", "--pipeline", REGRESSOR, "--version", "1", "--sensitive", "region", "--out", out)
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert "By region" in page and "<td>east</td>" in _section(page, "bias")
    assert f"report written to {out}" in done.stdout
    for args, reason in [
        (["--pipeline", REGRESSOR, "--version", "4"], "has no model version 4"),
        (["--pipeline", "nope", "--version", "1"], "There is no pipeline named 'nope'"),
        (["--pipeline", REGRESSOR, "--version", "1", "--sensitive", "gender"], "sensitive column 'gender'"),
        (["--pipeline", REGRESSOR, "--version", "0"], "expected a number of at least 1, got 0"),
    ]:
        never = tmp_path / "never.html"
        failed = cli("report", *args, "--out", never)
        assert failed.returncode == 2, (args, failed.stderr)
        assert failed.stderr.startswith("error: ") and reason in failed.stderr
        assert len(failed.stderr.strip().splitlines()) == 1 and "Traceback" not in failed.stderr
        assert not never.exists()


def test_parts_that_do_not_apply_say_why_instead_of_failing_the_report(store):
    frame = customers()
    dataset_id = store_frame(store, frame, "customers")
    no_holdout = spec_for("no hold-out", "churned", frame, [{"kind": "logistic_regression"}])
    no_holdout = no_holdout.model_copy(update={"evaluation": no_holdout.evaluation.model_copy(update={"holdout": 0})})
    register(store, "no hold-out", no_holdout, dataset_id)
    page = _text(model_report.build_model_report(LOCAL, "no hold-out", 1, sensitive=["region"]))
    for key in ("metrics", "explanations", "bias", "errors"):
        assert "this definition holds out no rows" in _section(page, key)
    assert "0.8" in _section(page, "metrics") or "0.9" in _section(page, "metrics")  # the CV scores still stand

    clusters = PipelineSpec(name="clusters", task="clustering", models=[{"kind": "kmeans"}],
                            columns={"select": ["tenure", "visits"]}, evaluation={"cv_folds": 3, "holdout": 0.25})
    register(store, "clusters", clusters, dataset_id)
    report = model_report.build_model_report(LOCAL, "clusters", 1)
    page = _text(report)
    assert [s.key for s in report.sections] == SECTIONS
    assert "On the training rows" in _section(page, "metrics") and "Cross-validated" not in _section(page, "metrics")
    for key in ("explanations", "errors"):
        assert "a clustering model has no target" in _section(page, key)


def test_a_version_whose_data_was_deleted_still_reports_what_the_registry_keeps(store, registered):
    dataset_id = storage.get_run(store, registry.model_version(LOCAL, REGRESSOR, 1).run_id).dataset_id
    storage.delete_dataset(store, dataset_id)
    report = model_report.build_model_report(LOCAL, REGRESSOR, 1, sensitive=["region"])
    page = _text(report)
    assert [s.key for s in report.sections] == SECTIONS
    assert "has been deleted" in _section(page, "data")
    assert "Ridge" in _section(page, "steps") and "R²" in _section(page, "metrics")
    for key in ("explanations", "bias", "errors"):
        assert "the training data was deleted" in _section(page, key)
    assert registry.model_version(LOCAL, REGRESSOR, 1).data_sha256 in _section(page, "lineage")

"""``python -m pipeline_core explain``: the contributions file, as a user runs the command."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.pipeline_core.frames import messy_frame
from tests.pipeline_core.test_cli import cli, ok, run_all

FEATURES = ["age", "income", "city", "signup", "review"]  # messy_frame's columns the default steps keep


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A churn classifier (gradient boosting) and a regressor of income (ridge), trained by the CLI on messy data."""
    folder = tmp_path_factory.mktemp("explain")
    frame = messy_frame()
    frame.to_csv(folder / "churn.csv", index=False)
    frame.drop(columns="churned").assign(score=frame["age"].fillna(40) * 2 + (frame["city"] == "lyon") * 5) \
        .to_csv(folder / "score.csv", index=False)
    for done in run_all([["train", "churn.csv", "--target", "churned", "--models", "gradient_boosting",
                          "--cv", "2", "--out", "churn"],
                         ["train", "score.csv", "--target", "score", "--models", "ridge", "--cv", "2",
                          "--out", "score"]], folder):
        ok(done)
    return folder


def test_regression_file_has_a_column_per_input_column_and_adds_up_to_the_prediction(folder):
    explained, predicted = run_all([["explain", "score/model.skops", "score.csv", "--out", "contributions.csv"],
                                    ["predict", "score/model.skops", "score.csv", "--out", "preds.csv"]], folder)
    ok(explained), ok(predicted)
    table = pd.read_csv(folder / "contributions.csv")
    assert list(table.columns) == [*FEATURES, "base_value", "prediction", "output_space"]
    assert len(table) == len(pd.read_csv(folder / "score.csv"))
    assert set(table["output_space"]) == {"prediction"}
    np.testing.assert_allclose(table[FEATURES].sum(axis=1) + table["base_value"], table["prediction"],
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose(table["prediction"], pd.read_csv(folder / "preds.csv")["prediction"], rtol=0,
                               atol=1e-6)
    assert "linear SHAP values" in explained.stderr and "wrote the contributions of 5 column(s)" in explained.stdout


def test_classifier_file_names_the_output_space_and_class(folder):
    ok(cli("explain", "churn/model.skops", "churn.csv", "--out", "churn.csv.out", cwd=folder))
    table = pd.read_csv(folder / "churn.csv.out")
    assert list(table.columns) == [*FEATURES, "base_value", "prediction", "predicted_class", "explained_class",
                                   "output_space"]
    assert set(table["output_space"]) == {"log-odds"} and set(table["explained_class"]) == {"yes"}
    assert set(table["predicted_class"]) <= {"yes", "no"}
    np.testing.assert_allclose(table[FEATURES].sum(axis=1) + table["base_value"], table["prediction"],
                               rtol=0, atol=1e-6)


def test_bad_input_ends_with_one_error_line_and_status_2(folder):
    pd.read_csv(folder / "churn.csv").drop(columns=["city", "review"]).to_csv(folder / "partial.csv", index=False)
    (folder / "empty.csv").write_text("age,income,city,signup,review\n")
    results = run_all([["explain", "churn/model.skops", "missing.csv", "--out", "x.csv"],
                       ["explain", "churn/model.skops", "partial.csv", "--out", "x.csv"],
                       ["explain", "churn/model.skops", "empty.csv", "--out", "x.csv"],
                       ["explain", "churn.csv", "churn.csv", "--out", "x.csv"]], folder)
    for result, reason in zip(results, ["missing.csv", "lacks column(s) the model needs: 'city', 'review'",
                                        "no rows", "churn.csv"], strict=True):
        assert result.returncode == 2, result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and reason in errors[0] and "Traceback" not in result.stderr
    assert not (folder / "x.csv").exists()

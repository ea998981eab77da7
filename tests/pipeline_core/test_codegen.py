"""The exported Python script reproduces the app's cross-validation scores on the raw file."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline_core.artifacts.codegen import python_script, script_from_metadata
from pipeline_core.artifacts.export import build_metadata
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition import steps as st
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec
from pipeline_core.errors import ModelError, SpecError
from pipeline_core.io.readers import read_path
from pipeline_core.training.train import train
from tests.pipeline_core.frames import messy_frame

ROOT = Path(__file__).resolve().parents[2]
# Runs several scripts in one interpreter (imports cost seconds), each as ``python script.py DATA``.
RUNNER = """
import runpy, sys
for script, data in zip(sys.argv[1::2], sys.argv[2::2]):
    sys.argv = [script, data]
    runpy.run_path(script, run_name="__main__")
"""


def custom_steps() -> list[st.Step]:
    """Row steps and every custom transformer, so their inline equivalents are exercised too."""
    return [
        st.DropDuplicates(), st.FilterRows(column="age_years", op=">", value="20"), st.DropMissingTarget(),
        st.Impute(columns="numeric", strategy="median", add_indicator=True), st.ClipOutliers(),
        st.Log(columns=["age_years"]), st.Scale(), st.Impute(columns="categorical", strategy="constant",
                                                             fill_value="missing"),
        st.OneHot(), st.DateParts(), st.Impute(columns="datetime"), st.Tfidf(columns="text", min_df=1),
        st.IsolationForestFlag(), st.VarianceThreshold(), st.PCA(n_components=6),
    ]


STOPS = {"early_stopping": True, "max_iter": 500, "learning_rate": 0.3, "n_iter_no_change": 5}


def cases(csv: Path) -> list[tuple[PipelineSpec, str]]:
    frame = read_path(csv).frame
    default = PipelineSpec(target="churned", models=[ModelSpec(kind="random_forest", params={"n_estimators": 50})],
                           evaluation=EvaluationPlan(cv_folds=4, seed=7), data={"file_name": csv.name})
    default = default.model_copy(update={"steps": default_steps(infer_schema(frame, default))})
    custom = PipelineSpec(
        name="custom", target="income", task="regression", models=[ModelSpec(kind="ridge", params={"alpha": 3.0})],
        columns={"rename": {"age": "age_years"}, "select": ["age_years", "income", "city", "signup", "review"]},
        steps=custom_steps(), evaluation=EvaluationPlan(cv_folds=3, holdout=0.25), data={"file_name": csv.name})
    clusters = PipelineSpec(name="groups", models=[ModelSpec(kind="kmeans")], columns={"select": ["age", "income"]},
                            steps=[st.Impute(columns="numeric"), st.Scale()])
    coded = [s.model_copy(update={"boosting": "codes"}) if isinstance(s, st.OneHot) else s for s in default.steps]
    boosting = default.model_copy(update={"models": [ModelSpec(kind="hist_gradient_boosting")], "steps": coded})
    # stopping early in every fold: the script refits the folds' mean rounds on every training row, as the app does
    stopping = default.model_copy(update={"models": [ModelSpec(kind="hist_gradient_boosting", params=STOPS)]})
    return [(default, "random_forest"), (custom, "ridge"), (boosting, "hist_gradient_boosting"),
            (stopping, "hist_gradient_boosting"), (clusters, "kmeans")]


def test_scripts_reproduce_the_apps_scores(tmp_path):
    csv = tmp_path / "customers.csv"
    messy_frame(300).to_csv(csv, index=False)
    frame = read_path(csv).frame
    expected, scripts = [], []
    for i, (spec, model) in enumerate(cases(csv)):
        result = train(spec, frame)
        expected.append(result)
        script = tmp_path / f"pipeline_{i}.py"
        script.write_text(python_script(spec, result.schema, result.task, model, result.best.params))
        scripts += [str(script), str(csv)]
    run = subprocess.run([sys.executable, "-c", RUNNER, *scripts], capture_output=True, text=True, timeout=900,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    reports = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert expected[3].best.rounds and expected[3].best.params == STOPS, "the stopping case stopped in every fold"
    for result, report in zip(expected[:-1], reports[:-1], strict=True):
        assert report["metric"] == result.metric
        assert set(report["cv"]) == set(result.best.metrics)
        for name, value in result.best.metrics.items():
            assert math.isclose(report["cv"][name], value, rel_tol=1e-9, abs_tol=1e-9), name
        for name, value in result.holdout.items():
            assert math.isclose(report["holdout"][name], value, rel_tol=1e-9, abs_tol=1e-9), name
    assert math.isclose(reports[-1]["silhouette"], expected[-1].best.metrics["silhouette"], rel_tol=1e-9)


def test_script_is_plain_python_with_only_pandas_numpy_and_sklearn(tmp_path):
    csv = tmp_path / "customers.csv"
    messy_frame().to_csv(csv, index=False)
    spec, model = cases(csv)[1]
    source = python_script(spec, infer_schema(read_path(csv).frame, spec), "regression", model, {"alpha": 3.0})
    compile(source, "pipeline.py", "exec")
    imported = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imported <= {"json", "sys", "warnings", "pathlib", "numpy", "pandas", "scipy", "sklearn"}
    assert "pipeline_core" not in source
    assert "class LogTransformer" in source and "def date_parts" in source and "class CappedPCA" in source
    assert "data = data[data['age_years'] > 20.0]" in source
    assert "Ridge(alpha=3.0, random_state=42)" in source


def test_a_saved_model_regenerates_its_script_from_metadata():
    frame = messy_frame()
    spec = PipelineSpec(target="churned", models=[ModelSpec(kind="decision_tree", params={"max_depth": 3})],
                        evaluation=EvaluationPlan(cv_folds=2))
    spec = spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})
    result = train(spec, frame)
    script = script_from_metadata(build_metadata(result, frame))
    assert script == python_script(spec, result.schema, "classification", "decision_tree", {"max_depth": 3})
    with pytest.raises(ModelError, match="does not record its definition"):
        script_from_metadata({"task": "classification"})


def test_values_a_script_cannot_spell_are_refused():
    frame = pd.DataFrame({"x": np.arange(30.0), "y": np.arange(30.0) % 2})
    spec = PipelineSpec(target="y", steps=[st.Scale()], models=[ModelSpec(kind="logistic_regression")])
    schema = infer_schema(frame, spec)
    with pytest.raises(SpecError, match="cannot write"):
        python_script(spec, schema, "classification", "logistic_regression", {"C": object()})


def test_a_model_whose_size_chose_category_codes_regenerates_them(monkeypatch):
    """``boosting="auto"`` depends on the training rows: the metadata records them, so the script matches."""
    monkeypatch.setattr(st.OneHot, "codes_from_rows", 100)  # a real fit; only the size at which codes start
    frame = messy_frame(300)
    spec = PipelineSpec(target="churned", models=[ModelSpec(kind="hist_gradient_boosting")],
                        evaluation=EvaluationPlan(cv_folds=2))
    spec = spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})
    result = train(spec, frame)
    metadata = build_metadata(result, frame)
    assert metadata["training_rows"] == result.training_rows == 240  # 300 rows less the 20% hold-out
    assert any("one code column each" in note and "240 training rows" in note for note in result.best.notes)
    script = script_from_metadata(metadata)
    assert "OrdinalEncoder" in script and "categorical_features=[0" in script
    assert script == python_script(spec, result.schema, "classification", "hist_gradient_boosting", {}, n_rows=240)
    assert "OrdinalEncoder" not in python_script(spec, result.schema, "classification", "hist_gradient_boosting", {})


@pytest.mark.parametrize("kind, step", [("clip_outliers", st.ClipOutliers()),
                                        ("filter_rows", st.FilterRows(column="x", op=">", value=1))])
def test_a_step_whose_script_form_is_missing_is_refused_not_skipped(monkeypatch, kind, step):
    from dataclasses import replace

    from pipeline_core.definition import registry, standalone

    bare = replace(registry.STEP_ENTRIES[kind], script=standalone.Constructed())
    monkeypatch.setitem(registry.STEP_ENTRIES, kind, bare)
    frame = pd.DataFrame({"x": np.arange(30.0), "y": np.arange(30.0) % 2})
    spec = PipelineSpec(target="y", steps=[step], models=[ModelSpec(kind="logistic_regression")])
    with pytest.raises(SpecError, match="script form"):
        python_script(spec, infer_schema(frame, spec), "classification", "logistic_regression", {})

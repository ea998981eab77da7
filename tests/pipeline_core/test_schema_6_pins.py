"""A regression definition saved before schema 6 re-runs as its user saw it; a new one gets the new defaults.

Schema 6 (issue 20 point 6) changed two regression defaults: ``target_transform="auto"`` fits histogram boosting to a
log target when the target is positive and skewed, and one-hot steps' ``boosting="auto"`` gives boosting one code
column per label for regression at any size. ``fixtures/spec_v5_regression.json`` was written by the code before
either change (commit c2b2ca7^: the default definition of a house-price table, no ``target_transform`` field), and
``V5_COMPILED`` is what that code compiled it to; the migrated definition must compile to the same structure.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.pipeline import Pipeline

from pipeline_core.artifacts.codegen import script_from_metadata
from pipeline_core.artifacts.export import build_metadata, predict_onnx, to_onnx
from pipeline_core.cli import main as cli_main
from pipeline_core.cli import with_default_steps
from pipeline_core.compiler import target as tt
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.compiler.compile import compile_pipeline, gives_codes
from pipeline_core.compiler.prepare import prepare
from pipeline_core.definition import steps as st
from pipeline_core.definition.spec import SCHEMA_VERSION, ModelSpec, load_spec
from pipeline_core.training.train import train
from tests.pipeline_core.frames import house_sales

FIXTURES = Path(__file__).parent / "fixtures"
NUMBERS = ["area", "lot", "year", "rooms", "baths", "garage_cars", "noise_a", "noise_b"]
LABELS = [f"label_{i}" for i in range(12)]
# Recorded by compiling spec_v5_regression.json on house_sales(300) with the code of c2b2ca7^ (before target
# transforms and regression's category codes): model step, then each column branch's transformers and columns.
_DENSE = ("FunctionTransformer",)  # float32 cast the compiler adds for models other than histogram boosting
V5_COMPILED = {
    kind: {"model": model, "branches": [
        (["SimpleImputer", "StandardScaler", *cast], NUMBERS),
        (["SimpleImputer", "OneHotEncoder", *cast], LABELS)]}
    for kind, model, cast in [("linear_regression", "LinearRegression", _DENSE),
                              ("random_forest", "RandomForestRegressor", _DENSE),
                              ("hist_gradient_boosting", "HistGradientBoostingRegressor", ())]}


def structure(pipeline: Pipeline) -> dict:
    columns = next(step for _, step in pipeline.steps if isinstance(step, ColumnTransformer))
    branches = [([type(s).__name__ for _, s in t.steps] if isinstance(t, Pipeline) else [type(t).__name__], list(c))
                for _, t, c in columns.transformers]
    return {"model": type(pipeline.steps[-1][1]).__name__, "branches": branches}


@pytest.fixture(scope="module")
def houses():
    return house_sales(300)


def v5() -> dict:
    return json.loads((FIXTURES / "spec_v5_regression.json").read_text())


def test_a_schema_5_regression_definition_loads_with_its_old_behaviour_pinned():
    spec = load_spec(v5())
    assert spec.schema_version == SCHEMA_VERSION == 9
    assert [m.target_transform for m in spec.models] == ["none", "none", "none"]
    assert [s.boosting for s in spec.steps if isinstance(s, st.OneHot)] == ["large"]
    assert (spec.open_choices.target_transform, spec.open_choices.one_hot_boosting) == ("none", "large")
    assert load_spec(spec.to_json()) == spec  # pinned for good: a saved copy stays pinned


def test_it_compiles_to_the_pipeline_schema_5_compiled(houses):
    spec = load_spec(v5())
    data = prepare(spec, houses)
    for model in spec.models:
        model, note = tt.resolve(model, "regression", data.y)  # what training settles first
        pipeline = compile_pipeline(spec, data.schema, task="regression", model=model, n_rows=len(houses))
        assert note is None and not gives_codes(pipeline, model)
        assert structure(pipeline) == V5_COMPILED[model.kind], model.kind


def test_large_still_gives_codes_from_500000_rows_as_schema_5s_auto_did():
    step = st.OneHot(boosting="large")
    assert not step.codes_for(499_999, "regression") and step.codes_for(500_000, "regression")
    assert step.codes_for(500_000, "classification") and not step.codes_for(None, "regression")


def test_a_new_regression_definition_gets_the_log_target_and_category_codes(houses):
    spec = load_spec({"target": "price", "task": "regression", "models": [{"kind": "hist_gradient_boosting"}]})
    assert (spec.open_choices.target_transform, spec.open_choices.one_hot_boosting) == ("auto", "auto")
    spec = with_default_steps(spec, houses)
    assert [s.boosting for s in spec.steps if isinstance(s, st.OneHot)] == ["auto"]
    data = prepare(spec, houses)
    model, _ = tt.resolve(spec.models[0], "regression", data.y)
    pipeline = compile_pipeline(spec, data.schema, task="regression", model=model, n_rows=len(houses))
    assert model.target_transform == "log" and gives_codes(pipeline, model)
    assert isinstance(pipeline.steps[-1][1], TransformedTargetRegressor)


def test_choices_a_schema_5_definition_made_explicitly_are_kept():
    data = v5()
    data["models"][2]["target_transform"] = "log"
    data["steps"][4]["boosting"] = "codes"
    data["autopilot"] = {"time_budget_seconds": 30, "chosen": [{"kind": "hist_gradient_boosting"},
                                                               {"kind": "lightgbm", "target_transform": "log"}]}
    spec = load_spec(data)
    assert [m.target_transform for m in spec.models] == ["none", "none", "log"]
    assert spec.steps[4].boosting == "codes"
    assert [m.target_transform for m in spec.autopilot.chosen] == ["none", "log"]


def test_open_choices_pin_the_default_steps_and_models_of_a_schema_5_definition_without_them(houses):
    """The command line adds steps and the preselected models at run time; schema 5 ran them as they were."""
    old = load_spec({"schema_version": 5, "target": "price", "task": "regression",
                     "evaluation": {"cv_folds": 2, "seed": 3}})
    spec = with_default_steps(old, houses)
    assert [s.boosting for s in spec.steps if isinstance(s, st.OneHot)] == ["large"]
    result = train(spec, houses)
    assert {row.model: row.target_transform for row in result.leaderboard} == {
        "linear_regression": "none", "random_forest": "none", "hist_gradient_boosting": "none"}
    assert not any("code column" in note for row in result.leaderboard for note in row.notes)
    new = train(with_default_steps(load_spec({"target": "price", "task": "regression",
                                              "evaluation": {"cv_folds": 2, "seed": 3}}), houses), houses)
    boosting = next(row for row in new.leaderboard if row.model == "hist_gradient_boosting")
    assert boosting.target_transform == "log" and any("code column" in note for note in boosting.notes)


@pytest.fixture(scope="module")
def trained_v5(houses):
    data = v5()
    data["models"] = [m for m in data["models"] if m["kind"] == "hist_gradient_boosting"]
    data["models"][0]["params"] = {"max_iter": 30}
    data["evaluation"] = {"cv_folds": 2}
    return train(load_spec(data), houses)


def test_a_schema_5_models_script_and_onnx_stay_as_it_trained(trained_v5, houses, tmp_path):
    result = trained_v5
    metadata = build_metadata(result, houses)
    assert metadata["target_transform"] == "none" and json.loads(json.dumps(metadata["definition"]))[
        "open_choices"] == {"target_transform": "none", "one_hot_boosting": "large", "text_models": "preselected"}
    script = script_from_metadata(metadata)
    assert "TransformedTargetRegressor(" not in script
    path = tmp_path / "train_model.py"
    path.write_text(script)
    built = runpy.run_path(str(path))["build_pipeline"]()
    assert structure(built) == structure(result.pipeline) == V5_COMPILED["hist_gradient_boosting"]
    X = houses.drop(columns=["price"])
    graph = to_onnx(result.pipeline, X)
    np.testing.assert_allclose(predict_onnx(graph, X, result.pipeline[0]), result.pipeline.predict(X), rtol=1e-4)


def test_the_command_line_runs_a_schema_5_file_as_it_ran_then(houses, tmp_path):
    definition = tmp_path / "old.json"
    definition.write_text(json.dumps({"schema_version": 5, "name": "old", "target": "price", "task": "regression",
                                      "models": [{"kind": "hist_gradient_boosting", "params": {"max_iter": 20}}],
                                      "evaluation": {"cv_folds": 2}}))
    houses.to_csv(tmp_path / "houses.csv", index=False)
    assert cli_main(["run", str(definition), "--data", str(tmp_path / "houses.csv"), "--out",
                     str(tmp_path / "out")]) == 0
    written = load_spec((tmp_path / "out" / "pipeline.json").read_text())
    assert written.schema_version == 9 and written.models[0].target_transform == "none"
    assert [s.boosting for s in written.steps if isinstance(s, st.OneHot)] == ["large"]
    board = json.loads((tmp_path / "out" / "leaderboard.json").read_text())
    assert json.dumps(board).count('"log"') == 0


def test_a_new_definitions_models_default_to_auto():
    assert ModelSpec(kind="hist_gradient_boosting").target_transform == "auto"
    assert default_steps(infer_schema(house_sales(50), load_spec({"target": "price"})))[-1].boosting == "auto"

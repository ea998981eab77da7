"""A regression model fitted to a transformed target answers in the target's units, wherever the model goes."""

from __future__ import annotations

import runpy

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from pipeline_core.artifacts.bundle import dump_bundle, load_bundle
from pipeline_core.artifacts.codegen import script_from_metadata
from pipeline_core.artifacts.export import build_metadata, dump_model, load_model, predict_onnx, to_onnx
from pipeline_core.compiler import target as tt
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec, TuningPlan
from pipeline_core.errors import DataError, SpecError
from pipeline_core.training.train import train

BOOSTING = "hist_gradient_boosting"


def prices(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A price-like target: positive and right-skewed (log-normal in a number and a label), with missing values."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"size": rng.normal(size=n), "town": rng.choice(["north", "south", "east"], n)})
    frame["price"] = np.exp(11 + 0.8 * frame["size"] + 0.5 * (frame["town"] == "north") + rng.normal(0, 0.2, n))
    frame.loc[rng.random(n) < 0.05, "size"] = np.nan
    return frame


def spec_for(frame: pd.DataFrame, model: ModelSpec, **plans) -> PipelineSpec:
    spec = PipelineSpec(target="price", models=[model], evaluation=EvaluationPlan(cv_folds=3), **plans)
    return spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})


@pytest.fixture(scope="module")
def logged():
    frame = prices()
    result = train(spec_for(frame, ModelSpec(kind=BOOSTING, params={"max_iter": 30})), frame)
    return result, frame


def test_auto_takes_the_log_for_a_skewed_positive_target_on_boosting_only():
    skewed, symmetric = prices()["price"], pd.Series(np.random.default_rng(1).normal(size=300), name="price")
    chosen, note = tt.resolve(ModelSpec(kind=BOOSTING), "regression", skewed)
    assert chosen.target_transform == "log" and "positive and right-skewed" in note
    assert tt.resolve(ModelSpec(kind=BOOSTING), "regression", symmetric) == (
        ModelSpec(kind=BOOSTING, target_transform="none"), None)
    # a forest scored no better on a log target (benchmarks/bench_regression_defaults.py), so its registry says none
    assert tt.resolve(ModelSpec(kind="random_forest"), "regression", skewed)[0].target_transform == "none"
    assert tt.resolve(ModelSpec(kind=BOOSTING, target_transform="none"), "regression", skewed)[1] is None


def test_a_log_of_targets_at_or_below_minus_one_is_refused_naming_the_way_out():
    y = pd.Series([-3.0, 1.0, 2.0, 40.0], name="profit")
    with pytest.raises(DataError, match="target 'profit'.*choose 'yeo_johnson' or 'none'"):
        tt.resolve(ModelSpec(kind=BOOSTING, target_transform="log"), "regression", y)
    assert tt.resolve(ModelSpec(kind=BOOSTING, target_transform="yeo_johnson"), "regression", y)[0].target_transform \
        == "yeo_johnson"


def test_a_target_transform_on_a_classifier_is_refused():
    with pytest.raises(SpecError, match=r"models\[logistic_regression\].target_transform: 'log' applies to regression"):
        tt.resolve(ModelSpec(kind="logistic_regression", target_transform="log"), "classification",
                   pd.Series(["a", "b"]))


def test_training_records_the_settled_transform_and_predicts_in_the_targets_units(logged):
    result, frame = logged
    row = result.best
    assert row.target_transform == "log" and row.to_row().target_transform == "log"
    assert any("log(1 + target)" in note for note in row.notes)
    predicted = result.pipeline.predict(frame.drop(columns=["price"]))
    # in log units every prediction would be about 11; in the target's units they track the prices
    assert np.corrcoef(predicted, frame["price"])[0, 1] > 0.8
    assert 0.8 < np.median(predicted) / frame["price"].median() < 1.25
    assert result.holdout["r2"] > 0.7


def test_a_log_target_round_trips_through_skops_bundle_and_script(logged, tmp_path):
    result, frame = logged
    X = frame.drop(columns=["price"])
    expected = result.pipeline.predict(X)
    metadata = build_metadata(result, frame)
    assert metadata["target_transform"] == "log"
    np.testing.assert_array_equal(load_model(dump_model(result.pipeline, metadata=metadata)).pipeline.predict(X),
                                  expected)
    np.testing.assert_array_equal(load_bundle(dump_bundle(result.pipeline, metadata, frame)).pipeline.predict(X),
                                  expected)
    script = tmp_path / "train_model.py"
    script.write_text(script_from_metadata(metadata))
    assert "TransformedTargetRegressor(" in script.read_text() and "np.log1p" in script.read_text()
    data = tmp_path / "prices.csv"
    frame.to_csv(data, index=False)
    ns = runpy.run_path(str(script))  # the script's functions, without running its main
    rows, y = ns["training_rows"](ns["read_table"](str(data)))
    raw = pd.read_csv(data).drop(columns=["price"])
    from_script = ns["build_pipeline"]().fit(rows, y).predict(raw)
    # the app's pipeline fitted on the very rows the script reads (the saved one saw them in another order)
    np.testing.assert_allclose(from_script, clone(result.pipeline).fit(rows, y).predict(raw), rtol=1e-9)
    assert 0.8 < np.median(from_script) / frame["price"].median() < 1.25  # the script answers in prices too


def test_a_log_target_exports_to_onnx_in_the_targets_units(logged):
    result, frame = logged
    X = frame.drop(columns=["price"])
    graph = to_onnx(result.pipeline, X)  # export itself checks the graph against the pipeline
    np.testing.assert_allclose(predict_onnx(graph, X, result.pipeline[0]), result.pipeline.predict(X), rtol=1e-6)


def test_a_yeo_johnson_target_is_refused_by_onnx_with_its_entrys_reason():
    frame = prices()
    result = train(spec_for(frame, ModelSpec(kind=BOOSTING, params={"max_iter": 10},
                                             target_transform="yeo_johnson")), frame)
    assert result.best.target_transform == "yeo_johnson"
    with pytest.raises(Exception, match="Yeo-Johnson target needs its inverse"):
        to_onnx(result.pipeline, frame.drop(columns=["price"]))


def test_tuning_reaches_the_model_through_the_target_wrapper():
    frame = prices(200)
    spec = spec_for(frame, ModelSpec(kind=BOOSTING, params={"max_iter": 20},
                                     search={"max_leaf_nodes": {"type": "choice", "values": [4, 8]}}),
                    tuning=TuningPlan(method="grid", n_trials=2))
    result = train(spec, frame)
    row = result.best
    assert row.error is None and row.target_transform == "log"
    trials = pd.DataFrame(row.tuning_history)
    assert len(trials[trials["trial"] > 0]) == 2 and trials["score"].notna().all()  # a wrong name scores NaN
    assert tt.inner_model(result.pipeline[-1]).max_leaf_nodes == row.params.get("max_leaf_nodes", 31)

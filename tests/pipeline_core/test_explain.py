"""Explanations: contributions add up to the model's own output and come back in the user's columns.

Real fits on the small real frames of ``conftest`` (numeric columns, a categorical with missing values, a
date and free text), so the matrix holds one-hot levels, TF-IDF words, date parts and missing indicators.
"""

from __future__ import annotations

import lightgbm
import numpy as np
import pandas as pd
import pytest
import shap
import xgboost
from threadpoolctl import threadpool_limits

from pipeline_core.analysis.dependence import dependence_curves
from pipeline_core.analysis.explain import Explainer
from pipeline_core.analysis.explain_global import explain_global
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.compiler.compile import compile_pipeline
from pipeline_core.compiler.sources import matrix_sources
from pipeline_core.definition import steps as st
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.errors import DataError, ModelError

TOLERANCE = 1e-6


def fitted(frame: pd.DataFrame, target: str, model: str, task: str, extra: list[st.Step] | None = None,
           boosting: str = "auto"):
    """The compiled default pipeline for ``frame`` with ``model``, fitted; and the raw feature rows. ``boosting`` is
    the one-hot steps' choice for boosting (regression's default, category codes, leaves shap's tree explainer)."""
    spec = PipelineSpec.model_validate({"target": target, "models": [{"kind": model}]})
    schema = infer_schema(frame, spec)
    steps = [s.model_copy(update={"boosting": boosting}) if isinstance(s, st.OneHot) else s
             for s in default_steps(schema)]
    spec = spec.model_copy(update={"steps": [*steps, *(extra or [])]})
    pipeline = compile_pipeline(spec, schema, task=task, model=spec.models[0], n_rows=len(frame))
    X = frame.drop(columns=target)
    with threadpool_limits(1, user_api="openmp"):  # boosting's threads only fight each other on a shared machine
        return pipeline.fit(X, frame[target]), X


def raw_output(pipeline, X: pd.DataFrame, space: str) -> np.ndarray:
    """The model's own output in ``space``, per class column (or one column), computed without shap."""
    matrix = pipeline[:-1].transform(X)
    final = pipeline[-1]
    if space == "prediction":
        return final.predict(matrix).reshape(-1, 1)
    if space == "probability":
        return final.predict_proba(matrix)
    scores = final.decision_function(matrix)
    return scores.reshape(-1, 1) if scores.ndim == 1 else scores


def explained_reference(pipeline, X: pd.DataFrame, explanation) -> np.ndarray:
    """Per row, the raw output of the class the explanation explains."""
    outputs = raw_output(pipeline, X, explanation.output_space.split(" (")[0].replace("raw score", "log-odds"))
    if explanation.explained_class is None or outputs.shape[1] == 1:
        return outputs[:, 0]
    classes = [str(c) for c in pipeline.classes_]
    return outputs[np.arange(len(X)), [classes.index(c) for c in explanation.explained_class]]


def library_raw_output(final, matrix) -> np.ndarray:
    """LightGBM's, XGBoost's or CatBoost's raw score (log-odds, softmax logits or the prediction), one column per
    output, asked of the library itself."""
    if isinstance(final, lightgbm.LGBMModel):
        raw = final.predict(matrix, raw_score=True)
    elif isinstance(final, xgboost.XGBModel):  # the label classifier's own ``predict`` gives labels only
        raw = xgboost.XGBModel.predict(final, matrix, output_margin=True)
    else:
        raw = final.predict(matrix, prediction_type="RawFormulaVal")
    raw = np.asarray(raw, dtype=np.float64)
    return raw.reshape(-1, 1) if raw.ndim == 1 else raw


@pytest.mark.parametrize("model", ["lightgbm", "xgboost", "catboost"])
@pytest.mark.parametrize(("frame", "target", "task", "space"), [
    ("binary_frame", "diagnosis", "classification", "log-odds"),
    ("multiclass_frame", "species", "classification", "raw score (softmax logit)"),
    ("regression_frame", "progression", "regression", "prediction")])
def test_boosting_libraries_get_exact_tree_values_in_their_raw_score(request, model, frame, target, task, space):
    """shap asks the library for its own tree values (category splits included), so they add up to the raw score
    the library reports; XGBoost computes in float32, hence its relative tolerance."""
    data = request.getfixturevalue(frame)
    pipeline, X = fitted(data, target, model, task)
    rows = X.iloc[:40]
    explainer = Explainer(pipeline, None)  # exact tree values need no background
    explanation = explainer.explain(rows)
    assert (explainer.method, explanation.output_space, explainer.background_rows) == ("tree", space, 0)
    assert explanation.columns == list(pipeline[0].types)
    raw = library_raw_output(pipeline[-1], pipeline[:-1].transform(rows))
    if explanation.explained_class is None or raw.shape[1] == 1:
        expected = raw[:, 0]
    else:
        classes = [str(c) for c in pipeline.classes_]
        expected = raw[np.arange(len(rows)), [classes.index(c) for c in explanation.explained_class]]
        assert explanation.explained_class == [str(p) for p in pipeline.predict(rows)]
    tolerance = {"rtol": 1e-5, "atol": 1e-4} if model == "xgboost" else {"rtol": 0, "atol": TOLERANCE}
    np.testing.assert_allclose(explanation.outputs, expected, **tolerance)


@pytest.mark.parametrize(("model", "params"), [("lightgbm", {"objective": "poisson"}),
                                               ("xgboost", {"objective": "count:poisson"}),
                                               ("catboost", {"loss_function": "Poisson"})])
def test_a_library_model_with_another_objective_is_explained_in_its_prediction(regression_frame, model, params):
    """Their raw score would be on a log scale the caption could not name per library: permutation values are in
    the prediction the user sees."""
    spec = PipelineSpec.model_validate({"target": "progression", "models": [{"kind": model, "params": params}]})
    schema = infer_schema(regression_frame, spec)
    spec = spec.model_copy(update={"steps": default_steps(schema)})
    pipeline = compile_pipeline(spec, schema, task="regression", model=spec.models[0])
    X = regression_frame.drop(columns="progression")
    with threadpool_limits(1, user_api="openmp"):
        pipeline.fit(X, regression_frame["progression"])
    explanation = Explainer(pipeline, X).explain(X.iloc[:5])
    assert (explanation.method, explanation.output_space) == ("permutation", "prediction")
    np.testing.assert_allclose(explanation.outputs, pipeline.predict(X.iloc[:5]), rtol=1e-6)


@pytest.mark.parametrize(("model", "method", "space"), [
    ("hist_gradient_boosting", "tree", "log-odds"), ("random_forest", "tree", "probability"),
    ("gradient_boosting", "tree", "log-odds"), ("logistic_regression", "linear", "log-odds"),
])
def test_binary_contributions_add_up_to_the_models_raw_output(binary_frame, model, method, space):
    pipeline, X = fitted(binary_frame, "diagnosis", model, "classification")
    explainer = Explainer(pipeline, X)
    explanation = explainer.explain(X.iloc[:40])
    assert (explainer.method, explanation.output_space) == (method, space)
    assert explanation.columns == list(pipeline[0].types)  # the user's columns, not the encoded matrix
    assert set(explanation.explained_class) == {"malignant"}  # the positive class, named
    np.testing.assert_allclose(explanation.outputs, explained_reference(pipeline, X.iloc[:40], explanation),
                               rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize(("model", "method"), [("hist_gradient_boosting", "tree"), ("random_forest", "tree"),
                                               ("logistic_regression", "linear")])
def test_multiclass_rows_explain_their_predicted_class(multiclass_frame, model, method):
    pipeline, X = fitted(multiclass_frame, "species", model, "classification")
    explanation = Explainer(pipeline, X).explain(X)
    assert explanation.method == method
    assert explanation.explained_class == [str(p) for p in pipeline.predict(X)]
    np.testing.assert_allclose(explanation.outputs, explained_reference(pipeline, X, explanation),
                               rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize(("model", "method", "boosting"), [
    ("hist_gradient_boosting", "tree", "one_hot"), ("hist_gradient_boosting", "permutation", "auto"),
    ("random_forest", "tree", "auto"), ("ridge", "linear", "auto"), ("linear_regression", "linear", "auto")])
def test_regression_base_value_plus_contributions_is_the_prediction(regression_frame, model, method, boosting):
    """Boosting on one-hot columns gets shap's exact tree values; on category codes (regression's default) shap's
    tree values would not add up (it reads category splits as thresholds), so permutation values are used."""
    pipeline, X = fitted(regression_frame, "progression", model, "regression", boosting=boosting)
    explanation = Explainer(pipeline, X).explain(X.iloc[:60])
    table = explanation.frame()
    assert explanation.method == method and explanation.output_space == "prediction"
    assert list(table.columns) == [*pipeline[0].types, "base_value", "prediction", "output_space"]
    np.testing.assert_allclose(table["prediction"], pipeline.predict(X.iloc[:60]), rtol=0, atol=TOLERANCE)
    summed = table[list(pipeline[0].types)].sum(axis=1) + table["base_value"]
    np.testing.assert_allclose(summed, table["prediction"], rtol=0, atol=TOLERANCE)


def test_one_hot_and_tfidf_parts_sum_to_their_column(binary_frame):
    """The column's contribution is the sum of shap's own values for the features made from it."""
    pipeline, X = fitted(binary_frame, "diagnosis", "hist_gradient_boosting", "classification")
    rows = X.iloc[:30]
    explanation = Explainer(pipeline, X).explain(rows)
    matrix = pipeline[:-1].transform(rows)
    matrix = matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix, dtype=float)
    per_feature = shap.TreeExplainer(pipeline[-1]).shap_values(matrix)
    names = pipeline[:-1].get_feature_names_out()
    for column in ("city", "comment", "signup", "mean_texture"):  # one-hot, TF-IDF, date parts, missing indicator
        parts = [i for i, name in enumerate(names) if name.split("__")[0].endswith(f"[{column}]")
                 or name.split("__")[1] in (column, f"missingindicator_{column}")]
        assert len(parts) > 1, f"{column}: expected several encoded features"
        expected = per_feature[:, parts].sum(axis=1)
        np.testing.assert_allclose(explanation.contributions[:, explanation.columns.index(column)], expected,
                                   rtol=0, atol=TOLERANCE)


def test_columns_whose_names_contain_each_other_are_kept_apart():
    """'a' and 'a_b' are both one-hot encoded; names like 'a_b_x' must not be summed into 'a'."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.choice(["b_x", "y"], 300), "a_b": rng.choice(["x", "z"], 300),
                          "n": rng.normal(size=300)})
    frame["t"] = (frame["a"] == "b_x") * 2.0 + frame["n"]
    pipeline, X = fitted(frame, "t", "linear_regression", "regression")
    sources = matrix_sources(pipeline)
    names = pipeline[:-1].get_feature_names_out()
    alike = [sources.columns[sources.feature_column[i]] for i, name in enumerate(names) if name.endswith("__a_b_x")]
    assert sorted(alike) == ["a", "a_b"]  # level 'b_x' of 'a' and level 'x' of 'a_b': one name, two sources
    explanation = Explainer(pipeline, X).explain(X)
    assert np.abs(explanation.contributions[:, 0]).mean() > 10 * np.abs(explanation.contributions[:, 1]).mean()


def test_selection_keeps_the_trace_and_mixing_steps_fall_back_to_permuting_columns(binary_frame):
    selected, X = fitted(binary_frame, "diagnosis", "logistic_regression", "classification",
                         [st.SelectKBest(k=10)])
    assert matrix_sources(selected).traceable and len(matrix_sources(selected).feature_column) == 10
    mixed, X = fitted(binary_frame, "diagnosis", "logistic_regression", "classification", [st.PCA(n_components=5)])
    sources = matrix_sources(mixed)
    assert not sources.traceable and sources.mixed_by.startswith("pca_")
    explainer = Explainer(mixed, X)
    explanation = explainer.explain(X.iloc[:5])
    assert explainer.method == "permutation" and sources.mixed_by in explainer.describe()
    np.testing.assert_allclose(explanation.outputs, mixed.predict_proba(X.iloc[:5])[:, 1], rtol=0, atol=TOLERANCE)


def test_other_models_are_explained_by_permutation_on_a_named_background(regression_frame):
    pipeline, X = fitted(regression_frame, "progression", "knn", "regression")
    explainer = Explainer(pipeline, X, background_rows=30)
    explanation = explainer.explain(X.iloc[:4])
    assert explainer.method == "permutation" and explainer.background_rows == 30
    assert "30 background rows" in explainer.describe()
    np.testing.assert_allclose(explanation.outputs, pipeline.predict(X.iloc[:4]), rtol=0, atol=TOLERANCE)


def test_global_explanation_names_its_sample_and_orders_columns(binary_frame):
    pipeline, X = fitted(binary_frame, "diagnosis", "hist_gradient_boosting", "classification")
    summary = explain_global(Explainer(pipeline, X), X, max_rows=200)
    assert summary.rows_explained == 200 and summary.rows_available == len(X)
    assert "a random sample of 200 of 569 rows" in summary.sample_note()
    importance = summary.importance()
    assert list(importance["mean_abs_contribution"]) == sorted(importance["mean_abs_contribution"], reverse=True)
    assert set(importance["column"]) == set(pipeline[0].types)


def test_partial_dependence_curves_for_numbers_and_categories_with_missing_values(binary_frame):
    binary_frame["visits"] = np.arange(len(binary_frame)) % 7  # integers: scikit-learn refuses them as they are
    pipeline, X = fitted(binary_frame, "diagnosis", "hist_gradient_boosting", "classification")
    curves = dependence_curves(pipeline, X, ["mean_texture", "city", "comment", "signup", "visits"], rows=60)
    assert [c.column for c in curves] == ["mean_texture", "city", "visits"]  # text and dates have no axis
    numeric, category, counts = curves
    assert counts.grid == [float(v) for v in range(7)]
    assert not np.isnan(numeric.grid).any() and len(numeric.grid) > 5  # mean_texture has missing values
    assert set(category.grid) == {"Paris", "Lyon", "Nice", "Lille"}
    assert numeric.individual.shape == (60, len(numeric.grid)) and numeric.output == "probability of 'malignant'"
    np.testing.assert_allclose(numeric.individual.mean(axis=0), numeric.average)


def test_refusals_are_one_plain_sentence(binary_frame):
    pipeline, X = fitted(binary_frame, "diagnosis", "hist_gradient_boosting", "classification")
    explainer = Explainer(pipeline, X)
    with pytest.raises(DataError, match="lacks column.*'city'"):
        explainer.explain(X.drop(columns="city"))
    with pytest.raises(DataError, match="no rows"):
        explainer.explain(X.iloc[:0])
    spec = PipelineSpec.model_validate({"models": [{"kind": "kmeans"}]})
    schema = infer_schema(X, spec)
    spec = spec.model_copy(update={"steps": default_steps(schema)})
    clusters = compile_pipeline(spec, schema, task="clustering", model=spec.models[0]).fit(X)
    with pytest.raises(ModelError, match="clustering"):
        Explainer(clusters, X)


def test_a_log_link_regressor_is_explained_in_its_raw_score_and_says_so(regression_frame):
    spec = PipelineSpec.model_validate({"target": "progression",
                                        "models": [{"kind": "hist_gradient_boosting", "params": {"loss": "poisson"}}]})
    schema = infer_schema(regression_frame, spec)
    steps = [s.model_copy(update={"boosting": "one_hot"}) if isinstance(s, st.OneHot) else s
             for s in default_steps(schema)]  # shap's tree explainer cannot read category-code splits
    spec = spec.model_copy(update={"steps": steps})
    pipeline = compile_pipeline(spec, schema, task="regression", model=spec.models[0])
    X = regression_frame.drop(columns="progression")
    with threadpool_limits(1, user_api="openmp"):
        pipeline.fit(X, regression_frame["progression"])
    explanation = Explainer(pipeline, X).explain(X.iloc[:20])
    assert explanation.output_space == "raw score (log scale)"
    np.testing.assert_allclose(np.exp(explanation.outputs), pipeline.predict(X.iloc[:20]), rtol=1e-6)

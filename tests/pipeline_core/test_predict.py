"""Prediction checks the new rows against training first, then adds prediction columns."""

import numpy as np
import pandas as pd
import pytest

from pipeline_core.artifacts import predict as predict_module
from pipeline_core.artifacts.export import build_metadata
from pipeline_core.artifacts.predict import predict_frame
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec
from pipeline_core.errors import DataError, ModelError
from pipeline_core.training.train import train
from tests.pipeline_core.frames import diabetes, messy_frame


def trained(frame: pd.DataFrame, target: str | None, model: str):
    spec = PipelineSpec(target=target, models=[ModelSpec(kind=model)], evaluation=EvaluationPlan(cv_folds=2))
    spec = spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})
    result = train(spec, frame)
    return result.pipeline, build_metadata(result, frame)


@pytest.fixture(scope="module")
def churn():
    frame = messy_frame()
    pipeline, metadata = trained(frame, "churned", "logistic_regression")
    return pipeline, metadata, frame.drop(columns=["churned"])


def test_classifier_adds_prediction_and_one_probability_column_per_class(churn):
    pipeline, metadata, rows = churn
    result = predict_frame(pipeline, rows, metadata)
    assert list(result.frame.columns) == [*rows.columns, "prediction", "probability_no", "probability_yes"]
    np.testing.assert_array_equal(result.frame["prediction"], pipeline.predict(rows))
    np.testing.assert_allclose(result.frame[["probability_no", "probability_yes"]].sum(axis=1), 1.0)
    assert "prediction" not in rows  # the input frame is not modified


def test_missing_columns_are_refused_and_listed(churn):
    pipeline, metadata, rows = churn
    with pytest.raises(DataError, match=r"lacks column\(s\) the model needs: 'age', 'city'"):
        predict_frame(pipeline, rows.drop(columns=["age", "city"]), metadata)


def test_extra_columns_are_ignored_with_a_notice(churn):
    pipeline, metadata, rows = churn
    result = predict_frame(pipeline, rows.assign(note="hello"), metadata)
    assert any("'note'" in notice and "ignored" in notice for notice in result.notices)


def test_numeric_column_now_holding_text_is_refused_by_name(churn):
    pipeline, metadata, rows = churn
    rows = rows.assign(age=rows["age"].astype(object))
    rows.loc[3, "age"] = "forty"
    with pytest.raises(DataError, match=r"'age' held numbers in training but now holds text \(e\.g\. 'forty'\)"):
        predict_frame(pipeline, rows, metadata)


def test_numbers_read_as_text_are_accepted(churn):
    pipeline, metadata, rows = churn
    as_text = rows.assign(income=rows["income"].map(repr))
    result = predict_frame(pipeline, as_text, metadata)
    np.testing.assert_array_equal(result.frame["prediction"], pipeline.predict(rows))


def test_text_column_now_holding_numbers_is_refused(churn):
    pipeline, metadata, rows = churn
    with pytest.raises(DataError, match=r"'city' held text in training but now holds numbers"):
        predict_frame(pipeline, rows.assign(city=np.arange(len(rows))), metadata)


def test_unseen_categories_do_not_crash_and_are_reported(churn):
    pipeline, metadata, rows = churn
    rows = rows.copy()
    rows.loc[:4, "city"] = "atlantis"
    result = predict_frame(pipeline, rows, metadata)
    assert result.frame["prediction"].notna().all()
    assert any("'city': 5 row(s)" in notice and "'atlantis'" in notice for notice in result.notices)


def test_regressor_adds_only_a_prediction():
    frame = diabetes()
    pipeline, metadata = trained(frame, "target", "ridge")
    result = predict_frame(pipeline, frame.drop(columns=["target"]), metadata)
    assert [c for c in result.frame.columns if c not in frame.columns] == ["prediction"]


def test_without_metadata_the_pipeline_says_which_columns_it_needs(churn):
    pipeline, _, rows = churn
    assert len(predict_frame(pipeline, rows).frame) == len(rows)
    with pytest.raises(DataError, match="'income'"):
        predict_frame(pipeline, rows.drop(columns=["income"]))


def test_clusterer_that_cannot_label_new_rows_says_so():
    frame = diabetes().drop(columns=["target"]).head(120)
    pipeline, metadata = trained(frame, None, "agglomerative")
    with pytest.raises(ModelError, match="cannot label new rows"):
        predict_frame(pipeline, frame, metadata)


def test_empty_data_is_refused(churn):
    pipeline, metadata, rows = churn
    with pytest.raises(DataError, match="no rows"):
        predict_frame(pipeline, rows.head(0), metadata)


@pytest.mark.parametrize("classes", [2, 3])
def test_boosting_labels_and_probabilities_from_one_run_equal_predict_and_predict_proba(classes):
    frame = messy_frame(n=300, seed=classes)
    if classes == 3:
        frame["churned"] = np.where(frame["age"].fillna(40) > 45, "old", frame["churned"])
    pipeline, metadata = trained(frame, "churned", "hist_gradient_boosting")
    assert type(pipeline[-1]).__name__ == "HistGradientBoostingClassifier"  # the one-run path is the one tested
    rows = frame.drop(columns=["churned"])
    result = predict_frame(pipeline, rows, metadata)
    np.testing.assert_array_equal(result.frame["prediction"], pipeline.predict(rows))
    columns = [f"probability_{c}" for c in pipeline.classes_]
    assert len(columns) == classes
    np.testing.assert_array_equal(result.frame[columns].to_numpy(), pipeline.predict_proba(rows))


@pytest.mark.parametrize("values", [
    ["red", None, np.nan, "violet", "violet", pd.NA],
    [1, 2, 7, None],  # labels sent as numbers are compared as text
    [1.0, 2.5, np.nan],
    [True, False, None],
], ids=["text", "integers", "floats", "booleans"])
def test_the_few_rows_path_reports_unseen_levels_as_the_pandas_path_does(values, monkeypatch):
    """A request of a row or two is checked in plain Python (pandas costs ~50 µs a column per call); what it
    reports must be what the vectorised path reports for the same rows."""
    feature = {"name": "c", "type": "categorical", "levels": ["red", "1", "2", "1.0", "True"]}
    frame = pd.DataFrame({"c": pd.Series(values, dtype=object)})
    few = predict_module._unseen_levels(frame, feature)
    monkeypatch.setattr(predict_module, "_FEW_ROWS", 0)
    assert few == predict_module._unseen_levels(frame, feature)
    assert few  # every case holds a level unseen in training


@pytest.mark.parametrize("rows", [5, 40])  # a request's few rows are checked value by value, a batch by its levels
def test_unseen_categories_are_counted_per_row_and_named_whatever_the_batch_size(rows):
    features = [{"name": "city", "type": "categorical", "dtype": "object", "levels": ["lyon", "paris"]},
                {"name": "code", "type": "categorical", "dtype": "int64", "levels": ["1", "2"]}]
    seen = pd.DataFrame({"city": (["lyon", "paris", None, np.nan] * rows)[:rows], "code": ([1, 2] * rows)[:rows]})
    assert predict_module.check_columns(seen, features) == []
    unseen = seen.assign(city=["tokyo", "lima", "tokyo", *seen["city"][3:]], code=[3, *seen["code"][1:]])
    assert predict_module.check_columns(unseen, features) == [
        "'city': 3 row(s) have values not seen in training ('lima', 'tokyo'); the model treats them as unknown",
        "'code': 1 row(s) have values not seen in training ('3'); the model treats them as unknown"]

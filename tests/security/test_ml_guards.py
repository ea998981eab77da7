"""Data that fools or breaks models: leaky columns, awkward targets, extreme values, unusable columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_core.analysis.leakage import leakage_warnings
from pipeline_core.artifacts.predict import predict_frame
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.compiler.prepare import prepare
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec
from pipeline_core.definition.task import check_target, detect_task
from pipeline_core.errors import DataError
from pipeline_core.training.splits import cv_splitter, split_holdout
from pipeline_core.training.train import train
from tests.apptest import open_page, store_frame, texts


def spec_for(frame: pd.DataFrame, target: str, models: list[str], **evaluation) -> PipelineSpec:
    spec = PipelineSpec(target=target, models=[ModelSpec(kind=m) for m in models],
                        evaluation=EvaluationPlan(**{"cv_folds": 3, **evaluation}))
    return spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})


def signal_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    frame["y"] = np.where(frame["x"] > 0, "a", "b")
    return frame


# ---------------------------------------------------------------- leakage


def test_a_column_copying_the_target_is_flagged_before_training():
    frame = signal_frame().assign(y_copy=lambda f: f["y"].map({"a": "yes", "b": "no"}))
    assert any("'y_copy'" in w and "copy of the target" in w for w in leakage_warnings(frame, "y"))


# ---------------------------------------------------------------- targets


def test_infinite_and_missing_targets_are_dropped_with_the_count():
    frame = signal_frame().assign(y=lambda f: f["x"] * 3 + f["z"])
    frame.loc[:2, "y"] = [np.inf, -np.inf, np.nan]
    result = train(spec_for(frame, "y", ["ridge"]), frame)
    assert "dropped 3 rows whose target 'y' is missing or infinite" in result.report
    assert result.best.error is None


def test_the_train_page_shows_the_dropped_target_count_before_training(store, studio):
    frame = signal_frame()
    frame.loc[:3, "y"] = None
    dataset_id = store_frame(store, frame, "gaps")
    spec = spec_for(frame, "y", ["logistic_regression"]).to_dict()
    at = open_page("pages/train.py", dataset_id=dataset_id, spec=spec)
    assert not at.exception
    assert "dropped 4 rows whose target 'y' is missing or infinite" in " ".join(c.value for c in at.caption)


def imbalanced(n: int, rare: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    frame["y"] = "common"
    frame.loc[rng.choice(n, rare, replace=False), "y"] = "rare"
    return frame


def test_a_999_to_1_target_is_stratified_warned_and_ranked_by_a_balanced_metric():
    frame = imbalanced(10_000, 10)
    spec = spec_for(frame, "y", ["logistic_regression"], cv_folds=5, holdout=0.2)
    result = train(spec, frame)
    assert result.metric == "balanced_accuracy"
    assert any("imbalanced (smallest class 0.1%)" in line for line in result.report)
    assert result.best.error is None
    data = prepare(spec, frame)
    _, _, y_train, y_test = split_holdout(spec, data)
    assert (y_test == "rare").sum() >= 1
    for _, test in cv_splitter("classification", spec).split(np.zeros(len(y_train)), y_train):
        assert (y_train.iloc[test] == "rare").sum() >= 1  # every fold sees the rare class


def test_a_class_the_holdout_would_leave_short_of_folds_is_refused_with_advice():
    frame = imbalanced(5_000, 5)
    with pytest.raises(DataError, match=r"'rare' \(5\).*5 CV folds.*20% hold-out.*merge.*drop"):
        train(spec_for(frame, "y", ["logistic_regression"], cv_folds=5, holdout=0.2), frame)
    with pytest.raises(DataError, match=r"'rare' \(5\)"):
        check_target(frame["y"], "classification", 5, holdout=0.2)
    assert check_target(frame["y"], "classification", 5, holdout=0.0)  # without a hold-out, 5 rows suffice


def test_a_single_class_target_is_refused():
    with pytest.raises(DataError, match="single class"):
        check_target(pd.Series(["a"] * 20, name="y"), "classification", 5)


def test_a_numeric_target_with_few_values_asks_classification_or_regression(store, studio):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "stars": rng.integers(1, 6, size=200)})
    choice = detect_task(frame["stars"])
    assert choice.ambiguous and choice.task == "classification"
    at = open_page("pages/features.py", dataset_id=store_frame(store, frame, "stars"))
    at.selectbox(key="features_target").set_value("stars").run()
    assert not at.exception
    assert "confirm classification or regression" in texts(at, "warning")


# ---------------------------------------------------------------- columns


def test_all_missing_constant_and_id_like_columns_are_dropped_with_a_reason():
    frame = signal_frame().assign(empty=np.nan, same="x", row_id=lambda f: np.arange(len(f)),
                                  code=lambda f: [f"C-{i:05d}" for i in range(len(f))])
    result = train(spec_for(frame, "y", ["logistic_regression"]), frame)
    assert result.best.error is None
    reasons = {s.columns[0]: s.reason for s in result.spec.steps if s.kind == "drop_columns"}
    assert set(reasons) == {"empty", "same", "row_id", "code"}
    assert reasons["empty"].startswith("constant: has 0 distinct") and reasons["same"].startswith("constant")
    assert reasons["row_id"].startswith("id:") and reasons["code"].startswith("id:")


def test_a_50000_level_categorical_trains_with_rare_levels_grouped():
    n = 55_000
    frame = signal_frame(n).assign(city=[f"city {i % 50_000}" for i in range(n)])
    result = train(spec_for(frame, "y", ["logistic_regression"], cv_folds=2, holdout=0.0), frame, n_jobs=1)
    assert result.schema["city"].reason == "50,000 levels: rare ones are grouped when encoding"
    assert result.best.error is None and result.best.metrics["accuracy"] > 0.95


@pytest.mark.parametrize("model", ["logistic_regression", "random_forest", "hist_gradient_boosting"])
def test_infinite_and_absurdly_large_values_are_treated_as_missing_with_a_notice(model):
    frame = signal_frame()
    frame.loc[3, "z"], frame.loc[4, "z"], frame.loc[5, "z"], frame.loc[6, "x"] = 1e308, -1e308, 1e200, np.inf
    result = train(spec_for(frame, "y", [model]), frame)
    assert result.best.error is None and result.best.metrics["accuracy"] > 0.9
    notice = next(line for line in result.report if "infinite or too large" in line)
    assert "'z' (3)" in notice and "'x' (1)" in notice and "missing" in notice
    scored = predict_frame(result.pipeline, frame.drop(columns="y").head(10)).frame
    assert scored["prediction"].notna().all()


def test_categories_unseen_in_training_do_not_break_prediction():
    frame = signal_frame().assign(city=lambda f: np.where(f["x"] > 1, "paris", "lyon"))
    result = train(spec_for(frame, "y", ["logistic_regression"]), frame)
    new = frame.drop(columns="y").head(5).assign(city=["tokyo", "lima", None, "paris", "oslo"])
    scored = predict_frame(result.pipeline, new, {"features": [
        {"name": "x", "type": "numeric", "dtype": "float64"}, {"name": "z", "type": "numeric", "dtype": "float64"},
        {"name": "city", "type": "categorical", "dtype": "object", "levels": ["lyon", "paris"]}]})
    assert len(scored.frame) == 5
    assert any("not seen in training" in n and "'tokyo'" in n for n in scored.notices)

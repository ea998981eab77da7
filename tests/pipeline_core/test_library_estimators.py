"""XGBoost, CatBoost and LightGBM as registry models (issue 20 point 2): the user's labels in and out, one thread per
fit, nothing written beside the app, LightGBM's early stopping inside a pipeline, and the same numbers as the library
itself."""

from __future__ import annotations

from pathlib import Path

import catboost
import numpy as np
import pandas as pd
import pytest
import xgboost

from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.compiler.compile import compile_pipeline
from pipeline_core.definition.registry import WORKER_N_JOBS
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec
from pipeline_core.library_estimators import CatBoostLabelClassifier, XGBLabelClassifier
from pipeline_core.training.train import train
from tests.pipeline_core.frames import messy_frame

LONG = "customer cancelled within the first ninety days of the contract"


def churn_frame(classes: int) -> pd.DataFrame:
    """The messy frame (IDs, dates, free text, missing values) with long labels, two or three of them."""
    frame = messy_frame(300)
    labels = {"yes": LONG, "no": "stayed"}
    frame["churned"] = frame["churned"].map(labels)
    if classes == 3:
        frame.loc[frame["age"] > 50, "churned"] = "moved to a competitor's cheaper plan"
    return frame


def spec_for(frame: pd.DataFrame, kind: str, **params: object) -> PipelineSpec:
    spec = PipelineSpec(target="churned", models=[ModelSpec(kind=kind, params=params)],
                        evaluation=EvaluationPlan(cv_folds=3))
    return spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize(("ours", "theirs", "params"), [
    (XGBLabelClassifier, xgboost.XGBClassifier, {"n_estimators": 20, "n_jobs": 1}),
    (CatBoostLabelClassifier, catboost.CatBoostClassifier,
     {"iterations": 20, "thread_count": 1, "verbose": False, "allow_writing_files": False}),
])
def test_the_classifier_predicts_the_users_labels_one_per_row_as_the_library_scores_them(classes, ours, theirs,
                                                                                         params):
    rng = np.random.default_rng(classes)
    X = rng.normal(size=(200, 4))
    X[::9, 2] = np.nan
    names = np.array(["stayed", LONG, "moved to a competitor's cheaper plan"])[:classes]
    codes = (X[:, 0] > 0).astype(int) + (classes == 3) * (X[:, 1] > 0.8)
    y = names[codes]
    model = ours(random_state=0, **params).fit(X, y)
    library = theirs(random_state=0, **params).fit(X, np.searchsorted(np.sort(names), y))
    assert list(model.classes_) == sorted(names)
    predicted = model.predict(X)
    assert predicted.shape == (200,) and set(predicted) <= set(names)
    np.testing.assert_allclose(model.predict_proba(X), library.predict_proba(X))
    np.testing.assert_array_equal(predicted, model.classes_[np.ravel(library.predict(X)).astype(int)])


@pytest.mark.parametrize("kind", ["xgboost", "catboost"])
@pytest.mark.parametrize("classes", [2, 3])
def test_training_on_a_messy_table_with_long_labels_scores_and_predicts_them(kind, classes, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # CatBoost writes a catboost_info folder where it runs unless told not to
    frame = churn_frame(classes)
    small = {"n_estimators": 30} if kind == "xgboost" else {"iterations": 30}
    result = train(spec_for(frame, kind, **small), frame, n_jobs=1)
    assert result.best.error is None, result.best.error
    assert result.best.metrics["balanced_accuracy"] > 0.6
    predicted = result.pipeline.predict(frame.drop(columns="churned"))
    assert predicted.shape == (len(frame),) and set(predicted) == set(frame["churned"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("kind", "parameter"), [("xgboost", "n_jobs"), ("catboost", "thread_count")])
def test_a_fit_gets_one_thread_even_when_the_user_asks_for_every_core(kind, parameter):
    frame = churn_frame(2)
    spec = spec_for(frame, kind)
    schema = infer_schema(frame, spec)
    default = compile_pipeline(spec, schema, task="classification", model=spec.models[0])
    asked = ModelSpec(kind=kind, params={parameter: -1})
    capped = compile_pipeline(spec, schema, task="classification", model=asked)
    assert default.named_steps["model"].get_params()[parameter] == WORKER_N_JOBS
    assert capped.named_steps["model"].get_params()[parameter] == WORKER_N_JOBS
    small = {"n_estimators": 10} if kind == "xgboost" else {"iterations": 10}
    result = train(spec_for(frame, kind, **{parameter: -1}, **small), frame, n_jobs=1)
    assert any(f"{parameter}=-1 ran as 1" in note for note in result.best.notes)


def test_an_unknown_parameter_is_refused_by_name_with_the_librarys_own_listed():
    with pytest.raises(ValueError, match="'iteration' is not a parameter of 'catboost'.*iterations"):
        ModelSpec(kind="catboost", params={"iteration": 5})
    assert ModelSpec(kind="xgboost", params={"max_depth": 3}).params == {"max_depth": 3}


def test_nothing_is_written_where_catboost_regression_runs(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frame = messy_frame(200).drop(columns="churned")
    spec = PipelineSpec(target="income", models=[ModelSpec(kind="catboost", params={"iterations": 20})],
                        evaluation=EvaluationPlan(cv_folds=2))
    spec = spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})
    result = train(spec, frame, n_jobs=1)
    assert result.best.error is None, result.best.error
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("ours", "weighted"), [(XGBLabelClassifier, {"class_weight": "balanced"}),
                                                 (CatBoostLabelClassifier, {"auto_class_weights": "Balanced"})])
def test_weighing_classes_lifts_the_rare_class_as_scikit_learns_balanced_weights_do(ours, weighted):
    """XGBoost takes only per-row weights: ``class_weight="balanced"`` gives each row n / (k * its class's count),
    the weights CatBoost's own ``auto_class_weights`` and scikit-learn's ``class_weight`` use."""
    from sklearn.metrics import balanced_accuracy_score, recall_score

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = np.where(X[:, 0] + rng.normal(size=600) > 1.8, "rare but important outcome", "common")
    # CatBoost writes a catboost_info folder where it runs unless told not to
    small = ({"n_estimators": 30, "max_depth": 3} if ours is XGBLabelClassifier else
             {"iterations": 30, "depth": 3, "verbose": False, "allow_writing_files": False})
    plain = ours(**small).fit(X, y)
    balanced = ours(**small, **weighted).fit(X, y)
    rare = "rare but important outcome"
    assert recall_score(y, balanced.predict(X), pos_label=rare) > recall_score(y, plain.predict(X), pos_label=rare)
    assert balanced_accuracy_score(y, balanced.predict(X)) > balanced_accuracy_score(y, plain.predict(X))
    assert list(balanced.classes_) == ["common", rare]
    from pipeline_core.artifacts.skops_io import dump_model, load_model

    reloaded = load_model(dump_model(balanced)).pipeline  # the saved model's allow-list takes the weighted one
    np.testing.assert_allclose(reloaded.predict_proba(X), balanced.predict_proba(X))
    if ours is XGBLabelClassifier:
        assert reloaded.class_weight == "balanced"
        assert "class_weight" not in balanced.get_xgb_params()  # the booster never sees it (no unused warning)
        with pytest.raises(ValueError, match="class_weight must be 'balanced' or None"):
            ours(class_weight={"common": 1}).fit(X, y)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_lightgbm_stops_its_rounds_on_rows_it_holds_aside_under_the_seed_and_fits_as_its_own_without(task):
    """A pipeline cannot hand LightGBM rows to watch: ``validation_fraction`` holds that share of the fit's rows aside
    (stratified for classes), so ``n_iter_no_change`` ends the fit well before its ceiling, the same round each
    time under the same seed; without it the model is LightGBM's own, number for number. It saves and loads with
    the allow-list either way."""
    import lightgbm

    from pipeline_core.artifacts.skops_io import dump_model, load_model
    from pipeline_core.library_estimators import LGBMStoppingClassifier, LGBMStoppingRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 5))
    signal = X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=1.0, size=1500)
    y = np.where(signal > 0.4, LONG, "stayed") if task == "classification" else signal
    ours = LGBMStoppingClassifier if task == "classification" else LGBMStoppingRegressor
    theirs = lightgbm.LGBMClassifier if task == "classification" else lightgbm.LGBMRegressor
    common = {"n_estimators": 2000, "learning_rate": 0.1, "random_state": 3, "verbose": -1, "n_jobs": 1}
    stopping = [ours(validation_fraction=0.2, n_iter_no_change=20, **common).fit(X, y) for _ in range(2)]
    assert stopping[0].best_iteration_ == stopping[1].best_iteration_ < 2000
    assert stopping[0].booster_.num_trees() < 2000  # it stopped fitting too, not only predicting with fewer
    other_seed = ours(validation_fraction=0.2, n_iter_no_change=20, **{**common, "random_state": 4}).fit(X, y)
    assert other_seed.best_iteration_ != stopping[0].best_iteration_  # the held rows follow the seed
    plain = {**common, "n_estimators": 50}
    out = "predict_proba" if task == "classification" else "predict"
    np.testing.assert_allclose(getattr(ours(**plain).fit(X, y), out)(X),
                               getattr(theirs(**plain).fit(X, y), out)(X))
    reloaded = load_model(dump_model(stopping[0])).pipeline
    np.testing.assert_allclose(getattr(reloaded, out)(X), getattr(stopping[0], out)(X))
    assert reloaded.validation_fraction == 0.2
    if task == "classification":  # classes of one row cannot be stratified, and each stays in the fit
        rare = np.where(np.arange(1500) < 20, np.char.add("once ", np.arange(1500).astype(str)), y)
        fitted = ours(validation_fraction=0.2, n_iter_no_change=20, **common).fit(X, rare)
        assert set(fitted.classes_) == set(rare)

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, confusion_matrix, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.compiler.prepare import prepare
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec
from pipeline_core.training.evaluate import (
    calibration_frame,
    confusion_matrix_frame,
    evaluation_frames,
    learning_curve_frame,
    paired_fold_test,
    permutation_importance_frame,
    pr_curve_frame,
    residuals_frame,
    roc_curve_frame,
)
from pipeline_core.training.train import TrainResult, train

NUMERIC = ["mean_radius", "mean_texture", "mean_perimeter", "mean_area", "mean_smoothness", "mean_compactness"]


def _spec(frame: pd.DataFrame, target: str, kind: str, holdout: float = 0.3) -> PipelineSpec:
    spec = PipelineSpec(target=target, models=[ModelSpec(kind=kind)],
                        evaluation=EvaluationPlan(cv_folds=3, holdout=holdout))
    return spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})


def _train(frame: pd.DataFrame, target: str, kind: str) -> TrainResult:
    return train(_spec(frame, target, kind), frame)


@pytest.fixture(scope="module")
def binary(binary_source: pd.DataFrame) -> TrainResult:
    return _train(binary_source, "diagnosis", "logistic_regression")


@pytest.fixture(scope="module")
def multiclass(multiclass_source: pd.DataFrame) -> TrainResult:
    return _train(multiclass_source, "species", "logistic_regression")


@pytest.fixture(scope="module")
def regression(regression_source: pd.DataFrame) -> TrainResult:
    return _train(regression_source, "progression", "ridge")


class _LabelsOnly(ClassifierMixin, BaseEstimator):
    """A real classifier that only predicts labels: no probabilities, no decision scores."""

    def fit(self, X: pd.DataFrame, y: pd.Series) -> _LabelsOnly:
        self.classes_ = np.unique(y)
        self.majority_ = pd.Series(y).mode()[0]
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.full(len(X), self.majority_)


# ---- classification ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["binary", "multiclass"])
def test_confusion_counts_sum_to_rows_and_match_sklearn(name: str, request: pytest.FixtureRequest) -> None:
    result = request.getfixturevalue(name)
    frame = confusion_matrix_frame(result.pipeline, result.X_test, result.y_test)
    labels = list(result.pipeline.classes_)
    expected = confusion_matrix(result.y_test, result.pipeline.predict(result.X_test), labels=labels)
    assert frame["count"].sum() == len(result.y_test)
    assert len(frame) == len(labels) ** 2
    pivot = frame.pivot(index="actual", columns="predicted", values="count").loc[labels, labels]
    np.testing.assert_array_equal(pivot.to_numpy(), expected)


def test_binary_roc_is_one_curve_for_the_positive_class_with_sklearns_auc(binary: TrainResult) -> None:
    frame = roc_curve_frame(binary.pipeline, binary.X_test, binary.y_test)
    positive = binary.pipeline.classes_[1]
    proba = binary.pipeline.predict_proba(binary.X_test)[:, 1]
    assert frame["class"].unique().tolist() == [positive]
    assert frame["auc"].iloc[0] == pytest.approx(roc_auc_score(binary.y_test == positive, proba))
    assert frame["fpr"].is_monotonic_increasing and frame["tpr"].iloc[-1] == 1.0


def test_multiclass_roc_is_one_vs_rest_per_class(multiclass: TrainResult) -> None:
    frame = roc_curve_frame(multiclass.pipeline, multiclass.X_test, multiclass.y_test)
    proba = multiclass.pipeline.predict_proba(multiclass.X_test)
    classes = list(multiclass.pipeline.classes_)
    assert sorted(frame["class"].unique()) == sorted(classes)
    for i, label in enumerate(classes):
        auc = frame.loc[frame["class"] == label, "auc"].iloc[0]
        assert auc == pytest.approx(roc_auc_score(multiclass.y_test == label, proba[:, i]))


def test_roc_falls_back_to_decision_function(binary_frame: pd.DataFrame) -> None:
    X, y = binary_frame[NUMERIC].fillna(0), binary_frame["diagnosis"]
    model = make_pipeline(StandardScaler(), LinearSVC()).fit(X, y)
    frame = roc_curve_frame(model, X, y)
    expected = roc_auc_score(y == model.classes_[1], model.decision_function(X))
    assert frame["auc"].iloc[0] == pytest.approx(expected)


def test_curves_are_empty_with_a_reason_when_the_model_gives_no_scores(binary_frame: pd.DataFrame) -> None:
    X, y = binary_frame[NUMERIC], binary_frame["diagnosis"]
    model = _LabelsOnly().fit(X, y)
    for build in (roc_curve_frame, pr_curve_frame, calibration_frame):
        frame = build(model, X, y)
        assert frame.empty
        assert "no" in frame.attrs["reason"]
    assert list(roc_curve_frame(model, X, y).columns) == ["class", "fpr", "tpr", "auc"]


def test_pr_curve_average_precision_matches_sklearn(multiclass: TrainResult) -> None:
    frame = pr_curve_frame(multiclass.pipeline, multiclass.X_test, multiclass.y_test)
    proba = multiclass.pipeline.predict_proba(multiclass.X_test)
    for i, label in enumerate(multiclass.pipeline.classes_):
        ap = frame.loc[frame["class"] == label, "average_precision"].iloc[0]
        assert ap == pytest.approx(average_precision_score(multiclass.y_test == label, proba[:, i]))


def test_calibration_matches_sklearn_calibration_curve(binary: TrainResult) -> None:
    frame = calibration_frame(binary.pipeline, binary.X_test, binary.y_test, n_bins=5)
    positive = binary.pipeline.classes_[1]
    proba = binary.pipeline.predict_proba(binary.X_test)[:, 1]
    fraction, mean_predicted = calibration_curve(binary.y_test == positive, proba, n_bins=5)
    np.testing.assert_allclose(frame["fraction_positive"], fraction)
    np.testing.assert_allclose(frame["mean_predicted"], mean_predicted)
    assert frame["count"].sum() == len(binary.y_test)


def test_calibration_covers_every_class_for_multiclass(multiclass: TrainResult) -> None:
    frame = calibration_frame(multiclass.pipeline, multiclass.X_test, multiclass.y_test)
    assert sorted(frame["class"].unique()) == sorted(multiclass.pipeline.classes_)
    assert (frame.groupby("class")["count"].sum() == len(multiclass.y_test)).all()


# ---- regression -------------------------------------------------------------------------------


def test_residuals_are_actual_minus_predicted(regression: TrainResult) -> None:
    frame = residuals_frame(regression.pipeline, regression.X_test, regression.y_test)
    predicted = regression.pipeline.predict(regression.X_test)
    np.testing.assert_allclose(frame["predicted"], predicted)
    np.testing.assert_allclose(frame["residual"], regression.y_test.to_numpy() - predicted)


def test_residuals_refuse_a_classifier_with_a_reason(binary: TrainResult) -> None:
    frame = residuals_frame(binary.pipeline, binary.X_test, binary.y_test)
    assert frame.empty and "regression" in frame.attrs["reason"]


# ---- any supervised model ---------------------------------------------------------------------


def test_learning_curve_from_an_unfitted_pipeline(binary: TrainResult) -> None:
    frame = learning_curve_frame(clone(binary.pipeline), binary.X_test, binary.y_test, "classification",
                                 cv=3, scoring="accuracy", train_sizes=(0.5, 1.0), seed=0)
    assert list(frame.columns) == ["train_size", "split", "score_mean", "score_std"]
    assert sorted(frame["split"].unique()) == ["train", "validation"]
    assert frame["train_size"].nunique() == 2 and len(frame) == 4
    assert frame["score_mean"].between(0, 1).all()


def test_learning_curve_from_a_definition_uses_its_cv_and_metric(regression_frame: pd.DataFrame) -> None:
    spec = _spec(regression_frame, "progression", "ridge")
    data = prepare(spec, regression_frame)
    frame = learning_curve_frame(spec, data.X, data.y, data.task, train_sizes=(0.3, 1.0))
    validation = frame[frame["split"] == "validation"]
    assert validation["train_size"].max() == len(data.X) * 2 // 3  # 3 folds: two thirds train
    assert validation["score_mean"].iloc[-1] > 0  # R² of a ridge on diabetes


def test_permutation_importance_is_per_raw_column_and_sorted(binary: TrainResult) -> None:
    frame = permutation_importance_frame(binary.pipeline, binary.X_test, binary.y_test, scoring="accuracy",
                                         n_repeats=3, seed=0, max_rows=100)
    assert set(frame["feature"]) == set(binary.X_test.columns)
    assert frame["importance_mean"].is_monotonic_decreasing
    assert frame["feature"].iloc[0] in NUMERIC
    assert (frame["importance_std"] >= 0).all()


# ---- comparing two models ---------------------------------------------------------------------


def test_paired_test_finds_a_clear_difference_significant() -> None:
    a = [0.91, 0.93, 0.92, 0.94, 0.90]
    b = [0.85, 0.86, 0.84, 0.87, 0.85]
    result = paired_fold_test(a, b, n_train=400, n_test=100, metric="accuracy")
    assert result["significant"] and result["p_value"] < 0.05
    assert result["mean_difference"] == pytest.approx(0.066)
    assert result["method"] == "corrected paired t-test"
    assert result["sentence"].startswith("Model A is better by 0.066 accuracy; the difference is significant (p ")
    assert "corrected paired t-test over 5 folds" in result["sentence"]


def test_paired_test_calls_equal_scores_not_significant() -> None:
    scores = [0.9, 0.92, 0.91, 0.93, 0.9, 0.94]
    result = paired_fold_test(scores, list(scores))
    assert not result["significant"] and result["p_value"] == 1.0
    assert result["wilcoxon_p_value"] == 1.0
    assert "score the same" in result["sentence"]


def test_paired_test_without_sizes_is_scipys_paired_t_test() -> None:
    a, b = [0.80, 0.82, 0.79, 0.85, 0.81], [0.79, 0.80, 0.80, 0.82, 0.80]
    result = paired_fold_test(a, b)
    expected = stats.ttest_rel(a, b)
    assert result["method"] == "paired t-test"
    assert result["t"] == pytest.approx(expected.statistic)
    assert result["p_value"] == pytest.approx(expected.pvalue)
    assert result["wilcoxon_p_value"] is None


def test_correction_makes_the_test_more_cautious() -> None:
    a, b = [0.80, 0.82, 0.79, 0.85, 0.81], [0.79, 0.80, 0.80, 0.82, 0.80]
    plain = paired_fold_test(a, b)
    corrected = paired_fold_test(a, b, n_train=80, n_test=20)
    assert corrected["p_value"] > plain["p_value"]


def test_paired_test_adds_wilcoxon_from_six_folds_and_names_the_winner() -> None:
    a = [-3.1, -3.0, -3.2, -2.9, -3.1, -3.0]
    b = [-2.0, -2.1, -1.9, -2.0, -2.2, -2.0]
    result = paired_fold_test(a, b, metric="neg_root_mean_squared_error", names=("Ridge", "Random forest"))
    assert result["wilcoxon_p_value"] == pytest.approx(stats.wilcoxon(np.subtract(a, b)).pvalue)
    assert result["sentence"].startswith("Random forest is better by 1.02 RMSE (negated)")


def test_paired_test_refuses_unmatched_folds() -> None:
    with pytest.raises(ValueError, match="equally long"):
        paired_fold_test([0.9, 0.8, 0.7], [0.9, 0.8])


# ---- everything for one run -------------------------------------------------------------------


def test_evaluation_frames_for_classification(binary: TrainResult) -> None:
    frames = evaluation_frames(binary)
    assert set(frames) == {"confusion_matrix", "roc_curve", "pr_curve", "calibration", "permutation_importance",
                           "notes"}
    assert all(not frames[name].empty for name in set(frames) - {"notes"})
    assert frames["notes"]["frame"].tolist() == ["learning_curve"]


def test_evaluation_frames_for_regression(regression: TrainResult) -> None:
    frames = evaluation_frames(regression)
    assert set(frames) == {"residuals", "permutation_importance", "notes"}
    assert len(frames["residuals"]) == len(regression.y_test)


def test_evaluation_frames_say_so_without_hold_out_rows(multiclass_frame: pd.DataFrame) -> None:
    result = train(_spec(multiclass_frame, "species", "logistic_regression", holdout=0.0), multiclass_frame)
    frames = evaluation_frames(result)
    assert list(frames) == ["notes"]
    assert "no hold-out rows" in frames["notes"]["reason"].iloc[0]


def test_a_model_that_wins_every_fold_is_not_called_equivalent() -> None:
    """Issue 15 point 11: one model won all 5 folds, the corrected test is not significant; the verdict says what
    the test shows (and what it does not) and counts the per-fold wins."""
    a, b = [0.9672, 0.95, 0.96, 0.97, 0.955], [0.9879, 0.951, 0.975, 0.99, 0.956]
    result = paired_fold_test(a, b, n_train=120, n_test=30, metric="accuracy", names=("Tuned", "Untuned"))
    assert not result["significant"]
    assert (result["wins_a"], result["wins_b"], result["ties"]) == (0, 5, 0)
    sentence = result["sentence"]
    assert "Untuned did better on 5 of 5 folds" in sentence
    assert "equivalent" in sentence and "not evidence that the two are equivalent" in sentence
    assert "treat the two as equivalent" not in sentence


def test_wins_follow_the_metrics_direction_and_count_ties() -> None:
    result = paired_fold_test([-3.0, -2.0, -2.5], [-2.5, -2.0, -3.0], metric="neg_root_mean_squared_error")
    assert (result["wins_a"], result["wins_b"], result["ties"]) == (1, 1, 1)

"""Decision threshold tuning (issue 15 point 12): chosen on out-of-fold predictions of training rows only, inside
the saved model, and it lifts balanced accuracy on an imbalanced target. Real fits throughout."""

from __future__ import annotations

import json
from typing import get_args

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import TunedThresholdClassifierCV

from pipeline_core.artifacts.bundle import dump_bundle, load_bundle
from pipeline_core.artifacts.codegen import script_from_metadata
from pipeline_core.artifacts.export import build_metadata, dump_model, load_model, to_onnx, unconvertible_steps
from pipeline_core.artifacts.predict import predict_frame
from pipeline_core.compiler.compile import compile_pipeline
from pipeline_core.compiler.prepare import prepare
from pipeline_core.compiler.threshold import with_threshold
from pipeline_core.definition.choices import ThresholdMetric
from pipeline_core.definition.registry import SCAFFOLDING_TRUSTED, THRESHOLD_TRUSTED
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec, ThresholdPlan
from pipeline_core.definition.steps import Impute
from pipeline_core.errors import ModelError
from pipeline_core.training.results import decision_threshold
from pipeline_core.training.splits import split_holdout
from pipeline_core.training.train import train

FEATURES = ["a", "b", "c"]


def imbalanced(n: int = 900, seed: int = 7) -> pd.DataFrame:
    """About 7% rare rows, only partly separable: at 0.5 a plain logistic regression rarely predicts them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    rare = (x[:, 0] + 0.5 * rng.normal(size=n)) > 1.6
    return pd.DataFrame(x, columns=FEATURES).assign(label=np.where(rare, "rare event", "usual"))


def spec_for(tune: bool, **plan) -> PipelineSpec:
    return PipelineSpec(target="label", steps=[Impute(columns="numeric")],
                        models=[ModelSpec(kind="logistic_regression")],
                        evaluation=EvaluationPlan(cv_folds=3, metric="balanced_accuracy"),
                        threshold=ThresholdPlan(tune=tune, **plan))


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return imbalanced()


@pytest.fixture(scope="module")
def tuned(frame):
    return train(spec_for(True), frame, n_jobs=1)


def test_a_tuned_threshold_lifts_balanced_accuracy_over_the_default_half(frame, tuned):
    plain = train(spec_for(False), frame, n_jobs=1)
    assert plain.best.threshold is None and plain.summary(1.0).threshold is None
    cv_gain = tuned.best.metrics["balanced_accuracy"] - plain.best.metrics["balanced_accuracy"]
    holdout_gain = tuned.holdout["balanced_accuracy"] - plain.holdout["balanced_accuracy"]
    assert cv_gain > 0.05 and holdout_gain > 0.05, (cv_gain, holdout_gain)


def test_the_saved_model_carries_the_threshold_and_the_summary_names_it_and_its_metric(tuned):
    model = tuned.pipeline[-1]
    assert isinstance(model, TunedThresholdClassifierCV)
    chosen = tuned.summary(1.0).threshold
    assert chosen.value == pytest.approx(model.best_threshold_) and chosen.value != pytest.approx(0.5)
    assert (chosen.metric, chosen.positive_class, chosen.response) == ("balanced_accuracy", "usual", "probability")
    row = tuned.best.threshold
    assert len(row.folds) == 3 and row.value == pytest.approx(np.mean(row.folds))
    assert tuned.best.to_row().threshold == row  # stored with the leaderboard


def test_the_threshold_scored_on_the_hold_out_is_chosen_without_the_hold_out_rows(frame):
    """Hold-out rows made nonsense (features multiplied by 1000, shuffled) change nothing the threshold saw:
    the split depends on the target and the seed only, and the threshold is chosen on the training rows.

    Refit on all rows is off here: with it on, the model saved afterwards rightly chooses its threshold again on
    every row, hold-out included; the hold-out score still comes from the model that never saw them (the
    leaderboard's folds, checked below for the default)."""
    spec = spec_for(True).model_copy(update={"evaluation": EvaluationPlan(cv_folds=3, metric="balanced_accuracy",
                                                                          refit_all=False)})
    _, X_test, _, _ = split_holdout(spec, prepare(spec, frame))
    corrupted = frame.copy()
    rng = np.random.default_rng(0)
    corrupted.loc[X_test.index, FEATURES] = rng.permutation(corrupted.loc[X_test.index, FEATURES].to_numpy()) * 1000
    clean, again = train(spec, frame, n_jobs=1), train(spec, corrupted, n_jobs=1)
    assert again.summary(1.0).threshold.value == clean.summary(1.0).threshold.value
    assert again.best.threshold.folds == clean.best.threshold.folds
    assert again.holdout["balanced_accuracy"] != clean.holdout["balanced_accuracy"]  # the hold-out did change


def test_with_refit_on_the_leaderboards_threshold_still_ignores_the_hold_out_rows(frame, tuned):
    spec = spec_for(True)
    _, X_test, _, _ = split_holdout(spec, prepare(spec, frame))
    corrupted = frame.copy()
    corrupted.loc[X_test.index, FEATURES] = corrupted.loc[X_test.index, FEATURES].to_numpy()[::-1] * 1000
    again = train(spec, corrupted, n_jobs=1)
    assert again.best.threshold.folds == tuned.best.threshold.folds
    assert again.summary(1.0).threshold.value != tuned.summary(1.0).threshold.value  # the refit saw every row


def test_a_target_with_more_than_two_classes_ignores_the_plan_and_says_so():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(300, 2)), columns=["a", "b"]).assign(
        label=rng.choice(["x", "y", "z"], size=300))
    result = train(spec_for(True).model_copy(update={"steps": [Impute(columns="numeric")]}), frame, n_jobs=1)
    assert result.best.threshold is None and not isinstance(result.pipeline[-1], TunedThresholdClassifierCV)
    assert any("two-class targets only; this one has 3 classes" in note for note in result.best.notes)


def test_skops_round_trip_keeps_the_threshold_and_predicts_identically(frame, tuned):
    loaded = load_model(dump_model(tuned.pipeline, "skops", build_metadata(tuned, frame)))
    assert loaded.pipeline[-1].best_threshold_ == tuned.pipeline[-1].best_threshold_
    rows = frame.drop(columns="label").head(200)
    assert (loaded.pipeline.predict(rows) == tuned.pipeline.predict(rows)).all()
    scored = predict_frame(loaded.pipeline, rows, loaded.metadata).frame
    assert (scored["prediction"].to_numpy() == tuned.pipeline.predict(rows)).all()


def test_the_bundle_round_trips_with_the_threshold(frame, tuned):
    bundle = load_bundle(dump_bundle(tuned.pipeline, build_metadata(tuned, frame), frame))
    rows = frame.drop(columns="label").head(200)
    assert bundle.pipeline[-1].best_threshold_ == tuned.pipeline[-1].best_threshold_
    assert (bundle.pipeline.predict(rows) == tuned.pipeline.predict(rows)).all()


def test_the_script_builds_the_same_threshold_wrapper_and_scores_like_the_app(frame, tuned, tmp_path):
    import subprocess
    import sys

    source = script_from_metadata(build_metadata(tuned, frame))
    # balanced accuracy is the wrapper's own default scoring, so the script does not spell it out
    assert "('model', TunedThresholdClassifierCV(cv=3, estimator=LogisticRegression(" in source
    (tmp_path / "data.csv").write_text(frame.to_csv(index=False))
    (tmp_path / "train.py").write_text(source)
    done = subprocess.run([sys.executable, "train.py", "data.csv"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["cv"]["balanced_accuracy"] == pytest.approx(tuned.best.metrics["balanced_accuracy"], abs=1e-9)


def test_onnx_names_the_threshold_as_what_it_cannot_convert_before_any_export(tuned):
    [(path, cls, why)] = unconvertible_steps(tuned.pipeline)
    assert (path, cls) == ("model", "TunedThresholdClassifierCV") and "no converter" in why
    with pytest.raises(ModelError, match="TunedThresholdClassifierCV"):
        to_onnx(tuned.pipeline)


def test_mlflow_round_trips_with_the_threshold(frame, tuned, tmp_path):
    import mlflow.pyfunc

    from pipeline_core.artifacts.mlflow_export import save_mlflow_model

    folder = save_mlflow_model(tuned.pipeline, build_metadata(tuned, frame), frame, tmp_path / "model")
    rows = frame.drop(columns="label").head(200)
    predicted = mlflow.pyfunc.load_model(str(folder)).predict(rows)
    np.testing.assert_array_equal(np.asarray(predicted), tuned.pipeline.predict(rows))


@pytest.mark.parametrize("metric", get_args(ThresholdMetric))
@pytest.mark.parametrize("model", ["logistic_regression", "svm"])
def test_every_threshold_metric_saves_with_only_the_declared_types_and_loads(frame, metric, model):
    """skops builds only the allow-listed types: the wrapper's scorer and each metric's function are declared
    (``registry.THRESHOLD_TRUSTED``); an SVM without probabilities thresholds its decision score."""
    import skops.io as sio

    spec = spec_for(True, metric=metric).model_copy(update={"models": [ModelSpec(kind=model)]})
    data = prepare(spec, frame)
    pipeline = with_threshold(compile_pipeline(spec, data.schema, task="classification", model=spec.models[0]),
                              spec, 2).fit(data.X, data.y)
    assert set(sio.get_untrusted_types(data=sio.dumps(pipeline))) <= {*THRESHOLD_TRUSTED, *SCAFFOLDING_TRUSTED}
    loaded = load_model(dump_model(pipeline)).pipeline
    np.testing.assert_array_equal(loaded.predict(data.X), pipeline.predict(data.X))
    chosen = decision_threshold(loaded)
    assert chosen.metric == metric and chosen.response == ("probability" if model != "svm" else "decision score")

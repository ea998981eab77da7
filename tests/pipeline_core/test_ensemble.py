"""Ensembles from out-of-fold predictions (issue 20 point 3): greedy selection and stacking, ranked like any model,
saved as one estimator. Real fits on small real and generated tables throughout."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.datasets import make_classification, make_friedman1
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import check_scoring
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import Pipeline

from pipeline_core.artifacts.bundle import dump_bundle, load_bundle
from pipeline_core.artifacts.codegen import script_from_metadata
from pipeline_core.artifacts.export import build_metadata, dump_model, load_model, to_onnx, unconvertible_steps
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.compiler.compile import compile_pipeline
from pipeline_core.compiler.prepare import prepare
from pipeline_core.definition.registry import ENSEMBLE_KINDS, ENSEMBLE_NOT_ONNX, ENSEMBLE_TRUSTED, trusted_types
from pipeline_core.definition.spec import ModelSpec, PipelineSpec, load_spec
from pipeline_core.ensembles import EnsembleClassifier, EnsembleRegressor
from pipeline_core.errors import ModelError
from pipeline_core.io.frames import training_values_sha256
from pipeline_core.training.ensemble import (
    GREEDY_ITERATIONS,
    FoldScorer,
    OutOfFold,
    combine,
    ensemble_first,
    greedy_selection,
    nested_folds,
    nested_selection,
    selection_basis,
)
from pipeline_core.training.results import ModelScore
from pipeline_core.training.splits import split_holdout
from pipeline_core.training.train import train
from tests.pipeline_core.test_cli import ENV

MEMBERS = ["logistic_regression", "random_forest", "hist_gradient_boosting"]
REGRESSORS = ["linear_regression", "random_forest", "hist_gradient_boosting"]


def classes_frame() -> pd.DataFrame:
    X, y = make_classification(600, 8, n_informative=5, random_state=0)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(8)]).assign(y=np.where(y, "yes", "no"))


def values_frame() -> pd.DataFrame:
    X, y = make_friedman1(500, n_features=6, noise=2.0, random_state=0)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(6)]).assign(y=y)


def spec_for(frame: pd.DataFrame, target: str, models: list[str], **evaluation) -> PipelineSpec:
    spec = PipelineSpec.model_validate({"target": target, "models": [{"kind": k} for k in models],
                                        "evaluation": {"ensemble": True, "cv_folds": 4, **evaluation}})
    return spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})


@pytest.fixture(scope="module")
def classified():
    # ranked on log loss, where averaging probabilities helps on rows no selection saw; on accuracy this table's
    # nested ensemble scores below its best member (0.885 against 0.892), so a model alone would win
    frame = classes_frame()
    return train(spec_for(frame, "y", MEMBERS, metric="neg_log_loss"), frame), frame


@pytest.fixture(scope="module")
def regressed():
    frame = values_frame()
    return train(spec_for(frame, "y", REGRESSORS), frame), frame


def _rows(result):
    by_key = {row.model: row for row in result.leaderboard}
    members = [row for row in result.leaderboard if row.model not in ENSEMBLE_KINDS]
    return by_key["ensemble"], by_key["stacking"], members


def _out_of_fold(frame: pd.DataFrame, estimators: list, task: str) -> tuple[OutOfFold, np.ndarray]:
    """Real models' out-of-fold outputs on four folds of ``frame``, stored as training stores them."""
    X, y = frame.drop(columns="y").to_numpy(), frame["y"].to_numpy()
    folds = [test for _, test in KFold(4, shuffle=True, random_state=0).split(X)]
    labels = np.unique(y) if task == "classification" else None
    oof = OutOfFold(task, labels, len(y), folds, y=y)
    for i, estimator in enumerate(estimators):
        method = "predict_proba" if task == "classification" else "predict"
        values = cross_val_predict(estimator, X, y, cv=[(np.setdiff1d(np.arange(len(y)), f), f) for f in folds],
                                   method=method)
        oof.outputs[str(i)] = values
    return oof, y


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_greedy_selection_is_never_worse_than_its_best_member_on_the_predictions_that_chose_it(task):
    if task == "classification":
        frame, metric = classes_frame(), "accuracy"
        estimators = [LogisticRegression(), RandomForestClassifier(50, random_state=0), GaussianNB()]
    else:
        frame, metric = values_frame(), "r2"
        estimators = [LinearRegression(), RandomForestRegressor(50, random_state=0), KNeighborsRegressor()]
    oof, y = _out_of_fold(frame, estimators, task)
    scorer = FoldScorer(oof, metric)
    outputs = list(oof.outputs.values())
    for subset in (outputs, outputs[::-1], outputs[1:]):
        counts = greedy_selection(subset, scorer)
        assert sum(counts) >= 1
        assert scorer.pooled(combine(subset, counts)) >= max(scorer.pooled(out) for out in subset)


def test_members_of_pure_noise_lift_the_selection_on_its_own_predictions_but_not_its_nested_score():
    """The case nested scores exist for: picks fitted to the rows they are scored on. Beside one real model, five
    columns of random class probabilities; the selection mixes some in and scores higher on the predictions that
    chose it, while each fold scored by a selection made on the other folds shows no gain."""
    frame = classes_frame()
    oof, y = _out_of_fold(frame, [LogisticRegression()], "classification")
    rng = np.random.default_rng(0)
    for i in range(5):
        noise = rng.dirichlet([1.0, 1.0], size=len(y))
        oof.outputs[f"noise{i}"] = 0.3 * noise + 0.7 * oof.outputs["0"]
    scorer = FoldScorer(oof, "accuracy")
    outputs = list(oof.outputs.values())
    counts = greedy_selection(outputs, scorer)
    alone = scorer.pooled(outputs[0])
    assert sum(counts[1:]) > 0 and scorer.pooled(combine(outputs, counts)) > alone
    nested = np.mean(nested_folds(outputs, scorer)["accuracy"])
    assert nested <= alone


@pytest.mark.parametrize("fixture", ["classified", "regressed"])
def test_the_ensembles_are_scored_on_the_members_folds(fixture, request):
    result, _ = request.getfixturevalue(fixture)
    greedy, stacking, members = _rows(result)
    assert len(greedy.folds[result.metric]) == len(members[0].folds[result.metric]) == 4  # the same folds
    assert "its scores are nested" in greedy.notes[1]
    assert np.isfinite(stacking.metrics[result.metric])


@pytest.mark.parametrize("fixture", ["classified", "regressed"])
def test_weights_are_pick_counts_and_the_saved_model_uses_them(fixture, request):
    result, frame = request.getfixturevalue(fixture)
    greedy = _rows(result)[0]
    counts = greedy.params["members"]
    assert all(isinstance(c, int) and c >= 1 for c in counts.values())
    assert 1 <= sum(counts.values()) <= GREEDY_ITERATIONS
    assert f"({sum(counts.values())} picks with replacement" in greedy.notes[0]
    assert result.best.model == "ensemble", "these tables were chosen because the greedy ensemble wins on them"
    model = result.pipeline[-1]
    assert [name for name, _ in model.members] == list(counts) and model.weights_ == list(counts.values())
    if result.task == "classification":
        proba = result.pipeline.predict_proba(frame.drop(columns="y").head(50))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_the_leaderboard_names_the_members_and_their_weights(classified):
    result, _ = classified
    greedy, stacking, _ = _rows(result)
    for kind, count in greedy.params["members"].items():
        label = {"random_forest": "Random forest", "hist_gradient_boosting": "Histogram gradient boosting",
                 "logistic_regression": "Logistic regression"}[kind]
        assert f"{label} ×{count}" in greedy.label
    assert greedy.label.startswith("Ensemble of ")
    assert stacking.label.startswith("Stacking of ") and stacking.label.endswith("by logistic regression")
    stored = result.leaderboard_rows()
    assert any(row.model == "ensemble" and row.params["members"] == greedy.params["members"] for row in stored)


def test_hold_out_score_is_the_refitted_members_on_the_hold_out_rows(classified):
    result, frame = classified
    _, X_test, _, y_test = split_holdout(result.spec, prepare(result.spec, frame))
    scorer = check_scoring(result.holdout_model, scoring=result.metric)
    assert result.holdout[result.metric] == pytest.approx(scorer(result.holdout_model, X_test, y_test))
    assert isinstance(result.holdout_model[-1], EnsembleClassifier) and isinstance(result.pipeline[-1],
                                                                                    EnsembleClassifier)
    # refitted on every row (issue 20 point 4): each member of the saved ensemble saw the hold-out rows too
    assert result.refit_rows == len(frame) and result.holdout_model is not result.pipeline


@pytest.mark.parametrize("fixture", ["classified", "regressed"])
def test_saved_with_skops_and_loaded_back_it_predicts_identically(fixture, request):
    result, frame = request.getfixturevalue(fixture)
    data = dump_model(result.pipeline, "skops", build_metadata(result, frame))
    assert set(sio.get_untrusted_types(data=data)) <= set(trusted_types())
    loaded = load_model(data)
    rows = frame.drop(columns="y")
    np.testing.assert_array_equal(loaded.pipeline.predict(rows), result.pipeline.predict(rows))
    assert loaded.metadata["model"] == "ensemble" and loaded.metadata["params"] == result.best.params


def test_the_bundle_round_trips_and_its_readme_names_the_members(classified):
    result, frame = classified
    data = dump_bundle(result.pipeline, build_metadata(result, frame), frame)
    rows = frame.drop(columns="y")
    np.testing.assert_array_equal(load_bundle(data).pipeline.predict(rows), result.pipeline.predict(rows))
    counts = result.best.params["members"]
    readme = zipfile.ZipFile(io.BytesIO(data)).read("README.md").decode()
    assert "weighted by how often each was picked: " + ", ".join(f"`{k}` ×{c}" for k, c in counts.items()) in readme


def test_onnx_and_the_script_refuse_an_ensemble_with_the_reason(classified):
    result, frame = classified
    assert [(cls, why) for _, cls, why in unconvertible_steps(result.pipeline)] == \
        [("EnsembleClassifier", ENSEMBLE_NOT_ONNX)]
    with pytest.raises(ModelError, match="an ensemble averages or stacks several whole pipelines"):
        to_onnx(result.pipeline)
    with pytest.raises(ModelError, match="is an ensemble .* export it as skops, a bundle or MLflow"):
        script_from_metadata(build_metadata(result, frame))


@pytest.mark.parametrize("stacked", [False, True])
def test_fit_from_scratch_stacks_or_weighs_and_round_trips(stacked, binary_source):
    """``fit`` (what a clone does, e.g. for the learning curve) builds the same kind of model without training's
    out-of-fold predictions; both kinds save with only the declared types."""
    spec = spec_for(binary_source, "diagnosis", ["logistic_regression", "decision_tree"])
    data = prepare(spec, binary_source)
    members = [compile_pipeline(spec, data.schema, task="classification", model=ModelSpec(kind=k))
               for k in ("logistic_regression", "decision_tree")]
    ensemble = EnsembleClassifier([(f"m{i}", Pipeline(p.steps[1:])) for i, p in enumerate(members)],
                                  weights=None if stacked else [2, 1],
                                  final_estimator=LogisticRegression() if stacked else None, cv=3)
    pipeline = Pipeline([members[0].steps[0], ("model", ensemble)]).fit(data.X, data.y)
    assert (pipeline[-1].final_estimator_ is not None) == stacked
    assert pipeline.score(data.X, data.y) > 0.85
    untrusted = set(sio.get_untrusted_types(data=sio.dumps(pipeline)))
    assert untrusted <= set(trusted_types()) and ENSEMBLE_TRUSTED[0] in untrusted
    back = load_model(dump_model(pipeline)).pipeline
    np.testing.assert_array_equal(back.predict_proba(data.X), pipeline.predict_proba(data.X))


def test_a_regression_ensemble_is_a_regressor(regressed):
    result, frame = regressed
    assert isinstance(result.pipeline[-1], EnsembleRegressor)
    assert result.holdout["r2"] > 0.7


def test_without_the_option_no_ensemble_is_built_and_old_definitions_load_without_it(binary_source):
    assert load_spec({"schema_version": 4, "target": "y"}).evaluation.ensemble is False
    spec = spec_for(binary_source, "diagnosis", ["logistic_regression", "decision_tree"], ensemble=False)
    board = train(spec, binary_source).leaderboard
    assert {row.model for row in board} == {"logistic_regression", "decision_tree"}


def test_models_without_probabilities_or_on_a_sample_are_left_out_and_the_report_says_why(binary_source):
    """An SVM without probabilities has nothing to average; with one member left there is no ensemble."""
    spec = spec_for(binary_source, "diagnosis", ["logistic_regression", "svm"])
    result = train(spec, binary_source)
    assert {row.model for row in result.leaderboard} == {"logistic_regression", "svm"}
    assert any("Support vector machine is not in the ensembles: it gives no class probabilities" in line
               for line in result.report)
    assert any("no ensemble was built" in line for line in result.report)


def test_the_cli_flag_ranks_ensembles_and_writes_their_members(tmp_path):
    values_frame().to_csv(tmp_path / "data.csv", index=False)  # where the nested ensemble wins (see ``regressed``)
    done = subprocess.run([sys.executable, "-m", "pipeline_core", "train", "data.csv", "--target", "y", "--models",
                           ",".join(REGRESSORS), "--cv", "4", "--ensemble", "--out", "run"], cwd=tmp_path, env=ENV,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    board = json.loads((tmp_path / "run" / "leaderboard.json").read_text())
    greedy = next(row for row in board if row["model"] == "ensemble")
    assert greedy["label"].startswith("Ensemble of ") and set(greedy["members"]) <= set(REGRESSORS)
    assert {row["model"] for row in board} == {*REGRESSORS, *ENSEMBLE_KINDS}
    assert json.loads((tmp_path / "run" / "pipeline.json").read_text())["evaluation"]["ensemble"] is True
    assert "best: ensemble" in done.stdout
    assert "the saved model was refitted on all 500 rows (training and hold-out)" in done.stdout


def test_ranked_on_balanced_accuracy_the_stacker_weighs_classes_like_its_members():
    """On a table with 8% positives, an unweighted stacker predicts the common class where its members, weighted,
    would not; ranked on balanced accuracy it is fitted with balanced class weights, and says so."""
    X, y = make_classification(800, 6, n_informative=4, weights=[0.92], random_state=1)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)]).assign(y=np.where(y, "rare", "common"))
    result = train(spec_for(frame, "y", ["logistic_regression", "random_forest"], metric="balanced_accuracy"), frame)
    stacking = _rows(result)[1]
    assert stacking.params["class_weight"] == "balanced"
    assert stacking.label.endswith("by logistic regression with balanced class weights")
    unweighted = train(spec_for(frame, "y", ["logistic_regression", "random_forest"], metric="accuracy"), frame)
    assert "class_weight" not in _rows(unweighted)[1].params
    assert stacking.metrics["balanced_accuracy"] > _rows(unweighted)[1].metrics["balanced_accuracy"]


def _scored(model: str, folds: list[float]) -> ModelScore:
    return ModelScore(model=model, label=model, metrics={"roc_auc": float(np.mean(folds))},
                      folds={"roc_auc": folds})


def test_an_ensemble_goes_first_when_the_single_model_ahead_leads_within_the_folds_standard_error():
    """A single model's CV score is its best configuration's on the folds that chose it; an ensemble within the
    standard error of their fold-by-fold differences ranks first, with the reason on its row and in the report.
    A lead beyond it, or an ensemble already first, leaves the order by score."""
    single = _scored("catboost", [0.80, 0.84, 0.78, 0.86, 0.82])  # mean 0.820
    close = _scored("stacking", [0.81, 0.83, 0.79, 0.84, 0.815])  # mean 0.817, differences scattered
    far = _scored("ensemble", [0.79, 0.83, 0.77, 0.85, 0.81])  # 0.010 behind on every fold
    ranked, report = ensemble_first([far, single, close], "roc_auc")
    assert [row.model for row in ranked] == ["stacking", "catboost", "ensemble"]
    assert "within the standard error" in ranked[0].notes[0] and "0.0030 better" in ranked[0].notes[0]
    assert report == [f"stacking: {ranked[0].notes[0]}"]

    far = _scored("ensemble", [0.79, 0.83, 0.77, 0.85, 0.81])
    ranked, report = ensemble_first([far, _scored("catboost", [0.80, 0.84, 0.78, 0.86, 0.82])], "roc_auc")
    assert [row.model for row in ranked] == ["catboost", "ensemble"] and report == [] and ranked[1].notes == []

    ahead = _scored("ensemble", [0.81, 0.85, 0.79, 0.87, 0.83])
    ranked, report = ensemble_first([_scored("catboost", [0.80, 0.84, 0.78, 0.86, 0.82]), ahead], "roc_auc")
    assert ranked[0] is ahead and report == [] and ahead.notes == []


def test_nested_selection_scores_each_fold_with_the_configuration_the_other_folds_chose():
    """The best configuration's own mean was chosen on the folds it is scored on; choosing on the others only
    scores a lucky configuration's lucky fold with the one the rest of the folds preferred."""
    steady = [0.80, 0.80, 0.80, 0.80]  # mean 0.800
    lucky = [0.95, 0.76, 0.76, 0.76]  # mean 0.8075: best on all four, by its first fold alone
    assert nested_selection([steady, lucky], "roc_auc") == [0.80, 0.76, 0.76, 0.76]
    assert nested_selection([lucky, steady], "roc_auc") == [0.80, 0.76, 0.76, 0.76]
    assert nested_selection([steady, [0.7, 0.7, 0.7, 0.7]], "roc_auc") == steady  # one best everywhere: its own
    losses = [[1.0, 2.0, 2.0], [3.0, 1.5, 1.5]]  # a loss (lower is better), and the same values read as scores
    assert nested_selection(losses, "davies_bouldin") == [3.0, 2.0, 2.0]
    assert nested_selection(losses, "neg_root_mean_squared_error") == [1.0, 1.5, 1.5]
    assert nested_selection([steady, [0.9, None, 0.9, 0.9], [0.9, float("nan"), 0.9, 0.9]], "roc_auc") == steady
    assert nested_selection([[0.9, 0.9], steady], "roc_auc") == steady  # another fold count: not the same folds
    assert nested_selection([], "roc_auc") == [] and nested_selection([[0.8]], "roc_auc") == []


def test_an_ensemble_is_compared_with_the_nested_score_of_choosing_the_best_single_configuration():
    """With the search's nested selection given, a single model that leads on the folds that chose it goes first
    only when choosing it on the other folds still leads the ensemble beyond their standard error."""
    single = _scored("xgboost", [0.942, 0.929, 0.932, 0.924, 0.947])  # mean 0.9348
    stacking = _scored("stacking", [0.936, 0.921, 0.925, 0.919, 0.938])  # mean 0.9278: behind on every fold
    assert ensemble_first([_scored("xgboost", single.folds["roc_auc"]), stacking], "roc_auc")[0][0].model == "xgboost"
    nested = [0.936, 0.928, 0.919, 0.902, 0.928]  # mean 0.9226: below the stacking
    ranked, report = ensemble_first([single, stacking], "roc_auc", nested)
    assert [row.model for row in ranked] == ["stacking", "xgboost"]
    assert ranked[0].notes[0] == (
        "ranked first although xgboost scores 0.0070 better on the folds that chose it: the best single "
        "configuration, chosen on the other folds only, scores 0.9226 on the folds it did not see, 0.0052 worse "
        "than this row")
    assert report == [f"stacking: {ranked[0].notes[0]}"]

    above = [0.95, 0.93, 0.93, 0.92, 0.94]  # ahead of the stacking on every fold, beyond the standard error
    stacking = _scored("stacking", [0.936, 0.921, 0.925, 0.919, 0.938])
    ranked, report = ensemble_first([_scored("xgboost", single.folds["roc_auc"]), stacking], "roc_auc", above)
    assert ranked[0].model == "xgboost" and report == [] and stacking.notes == []
    ranked, _ = ensemble_first([_scored("xgboost", single.folds["roc_auc"]), stacking], "roc_auc", [0.93, 0.92])
    assert ranked[0].model == "xgboost"  # a selection on other folds than the rows' is not compared


def test_the_note_says_better_and_worse_in_a_losss_own_direction():
    """A negated loss is shown as the loss: the nested score reads as a positive error, and "better" is lower."""
    def rmse(model: str, folds: list[float]) -> ModelScore:
        return ModelScore(model=model, label=model, metrics={"neg_root_mean_squared_error": float(np.mean(folds))},
                          folds={"neg_root_mean_squared_error": folds})

    single = rmse("lightgbm", [-0.50, -0.52, -0.48, -0.51, -0.49])  # RMSE 0.500
    greedy = rmse("ensemble", [-0.51, -0.53, -0.49, -0.52, -0.50])  # RMSE 0.510
    ranked, _ = ensemble_first([single, greedy], "neg_root_mean_squared_error", [-0.52] * 5)
    assert ranked[0].model == "ensemble" and ranked[0].notes[0] == (
        "ranked first although lightgbm scores 0.0100 better on the folds that chose it: the best single "
        "configuration, chosen on the other folds only, scores 0.5200 on the folds it did not see, 0.0100 worse "
        "than this row")


def test_a_recorded_selection_is_used_only_on_the_folds_targets_and_metric_it_was_scored_on():
    """The fingerprint changes with the metric, the folds' rows and the targets, and only with them."""
    y = np.where(np.arange(120) % 3 == 0, "yes", "no")
    oof = OutOfFold("classification", np.array(["no", "yes"]), 120, [np.arange(0, 60), np.arange(60, 120)], y=y)
    basis = selection_basis(oof, "roc_auc")
    assert basis == selection_basis(oof, "roc_auc") and basis != selection_basis(oof, "accuracy")
    shifted = OutOfFold(oof.task, oof.labels, oof.n_rows, [np.arange(1, 61), np.arange(61, 120)], y=oof.y)
    flipped = OutOfFold(oof.task, oof.labels, oof.n_rows, oof.folds, y=oof.y[::-1])
    assert basis != selection_basis(shifted, "roc_auc") and basis != selection_basis(flipped, "roc_auc")
    other = OutOfFold(oof.task, oof.labels, oof.n_rows, oof.folds, y=oof.y,
                      rows=training_values_sha256(pd.DataFrame({"x": np.arange(120.0)})))
    assert basis != selection_basis(other, "roc_auc")


def test_the_leaderboard_keeps_the_runs_order_and_says_why_the_kept_ensemble_is_first():
    """The displayed leaderboard does not re-sort by score: its first row is the model kept, and the note that
    explains a lower score ranked first comes with it; with the order by score there is nothing to explain."""
    from pipeline_core.reporting.leaderboard import leaderboard_frame, ranked_first_note

    ranked, _ = ensemble_first([_scored("catboost", [0.80, 0.84, 0.78, 0.86, 0.82]),
                                _scored("stacking", [0.81, 0.83, 0.79, 0.84, 0.815])], "roc_auc")
    records = [row.to_dict() for row in ranked]
    assert list(leaderboard_frame(records, "roc_auc")["model"]) == ["stacking", "catboost"]
    assert ranked_first_note(records) == ranked[0].notes[0]
    assert ranked_first_note(records).startswith("ranked first although catboost scores 0.0030 better")

    in_order = [_scored("catboost", [0.80, 0.84, 0.78, 0.86, 0.82]).to_dict(),
                _scored("ensemble", [0.79, 0.83, 0.77, 0.85, 0.81]).to_dict()]
    assert list(leaderboard_frame(in_order, "roc_auc")["model"]) == ["catboost", "ensemble"]
    assert ranked_first_note(in_order) is None and ranked_first_note([]) is None

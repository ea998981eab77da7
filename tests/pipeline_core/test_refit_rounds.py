"""A configuration that stops early is refitted with its folds' mean rounds on every row (issue 20 point 4): the
saved model holds no rows aside to stop on. Real fits of every family the registry says can stop early."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_friedman1
from sklearn.model_selection import cross_val_score

from pipeline_core.artifacts.bundle import dump_bundle
from pipeline_core.artifacts.codegen import python_script
from pipeline_core.artifacts.export import build_metadata
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.compiler.prepare import prepare
from pipeline_core.definition.registry import MODELS
from pipeline_core.definition.spec import PipelineSpec, load_spec
from pipeline_core.ensembles import EnsembleRegressor
from pipeline_core.reporting.document import Text
from pipeline_core.reporting.model_sections import steps_section
from pipeline_core.training.holdout import learning_curve, training_split
from pipeline_core.training.results import LeaderboardRow
from pipeline_core.training.rounds import as_cross_validated, refit_rounds, stopped_rounds
from pipeline_core.training.splits import cv_splitter
from pipeline_core.training.train import train

STOPPING = {kind: entry for kind, entry in MODELS.items() if entry.early_stopping is not None}
# each family's count of the rounds a fitted model holds, by the parameter that sets them
FITTED_ROUNDS = {"max_iter": lambda m: m.n_iter_, "n_estimators": lambda m: m.booster_.current_iteration(),
                 "iterations": lambda m: m.tree_count_}


def stopping_params(kind: str) -> dict:
    """The family's portfolio configuration that stops early (the one the autopilot tries), with fewer rounds and
    a faster rate so the test fits quickly; it must still stop before its ceiling on these rows."""
    params = next(p for p in MODELS[kind].portfolio if MODELS[kind].early_stopping.asked(p))
    stopping = MODELS[kind].early_stopping
    return {**params, stopping.rounds: 2000, "learning_rate": 0.3}


def values_frame(n: int = 600) -> pd.DataFrame:
    X, y = make_friedman1(n, n_features=6, noise=1.0, random_state=0)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(6)]).assign(y=y)


def test_every_family_that_can_stop_early_is_in_the_registry_with_a_configuration_that_does():
    assert {"hist_gradient_boosting", "lightgbm", "catboost"} <= set(STOPPING)
    for kind, entry in STOPPING.items():
        assert entry.early_stopping.rounds in FITTED_ROUNDS, kind
        assert any(entry.early_stopping.asked(p) for p in entry.portfolio), kind
        assert not entry.early_stopping.asked({}), f"{kind}'s defaults are not a ceiling on small tables"


@pytest.mark.parametrize("kind", sorted(STOPPING))
def test_the_stopped_rounds_are_read_and_the_fixed_refit_fits_them_on_every_row(kind):
    stopping = MODELS[kind].early_stopping
    frame = values_frame()
    X, y = frame.drop(columns="y").to_numpy(), frame["y"].to_numpy()
    params = stopping_params(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stopped = MODELS[kind].build("regression", params, 0).fit(X, y)
        rounds = stopped_rounds(kind, stopped)
        assert rounds is not None and 1 <= rounds < 2000, "it stopped before its ceiling"
        fixed_params = stopping.fixed(params, rounds)
        fixed = MODELS[kind].build("regression", fixed_params, 0).fit(X, y)
    assert FITTED_ROUNDS[stopping.rounds](fixed) == rounds
    assert stopped_rounds(kind, fixed) is None, "the refit holds no rows aside and stops on nothing"
    assert not stopping.asked(fixed_params)
    # what a family without stopping parameters fits is never read as stopped
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = MODELS[kind].build("regression", {stopping.rounds: 20}, 0).fit(X, y)
    assert stopped_rounds(kind, plain) is None


def spec_for(frame: pd.DataFrame, models: list[dict], **evaluation) -> PipelineSpec:
    spec = PipelineSpec.model_validate({"target": "y", "models": models,
                                        "evaluation": {"cv_folds": 3, "holdout": 0.2, **evaluation}})
    return spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})


@pytest.fixture(scope="module")
def runs():
    """CatBoost's early-stopping configuration trained twice from the same definition."""
    frame = values_frame()
    spec = spec_for(frame, [{"kind": "catboost", "params": stopping_params("catboost")}])
    return [train(spec, frame) for _ in range(2)], frame


def test_the_leaderboard_records_each_folds_rounds_and_says_what_the_refit_fits(runs):
    (result, _), _ = runs
    row = result.leaderboard[0]
    assert len(row.rounds) == 3 and all(1 <= n < 2000 for n in row.rounds)
    mean = refit_rounds(row, result.spec.evaluation)
    assert mean == round(np.mean(row.rounds))
    assert any(f"fits their mean, {mean:,} rounds, on every row" in note for note in row.notes)
    stored = LeaderboardRow.model_validate(row.to_dict())
    assert stored.rounds == row.rounds
    assert LeaderboardRow.model_validate({"model": "catboost"}).rounds == [], "runs stored before load"


def test_both_refits_fit_the_folds_mean_rounds_on_every_row_they_are_given(runs):
    (result, _), frame = runs
    mean = refit_rounds(result.leaderboard[0], result.spec.evaluation)
    for model in (result.pipeline[-1], result.holdout_model[-1]):
        assert model.tree_count_ == mean and model.get_best_iteration() is None, "no rows held aside"
        assert model.get_params().get("eval_fraction") is None
    assert result.refit_rows == len(prepare(result.spec, frame).X)
    # the saved definition keeps the configuration as given: a re-run stops its folds again
    assert result.spec.models[0].params == stopping_params("catboost")


def test_a_re_run_stops_at_the_same_rounds_and_refits_the_same_model(runs):
    (first, second), frame = runs
    assert first.leaderboard[0].rounds == second.leaderboard[0].rounds
    assert first.leaderboard[0].folds == second.leaderboard[0].folds and first.holdout == second.holdout
    rows = frame.drop(columns="y")
    np.testing.assert_array_equal(first.pipeline.predict(rows), second.pipeline.predict(rows))


def test_an_ensembles_member_that_stopped_early_is_refitted_with_its_folds_mean_rounds():
    frame = values_frame(500)
    hist = {"kind": "hist_gradient_boosting", "params": stopping_params("hist_gradient_boosting")}
    result = train(spec_for(frame, [{"kind": "linear_regression"}, {"kind": "random_forest"}, hist], cv_folds=4,
                            ensemble=True), frame)
    assert result.best.model in ("ensemble", "stacking"), "this table was chosen because an ensemble wins on it"
    ensemble = result.pipeline[-1]
    assert isinstance(ensemble, EnsembleRegressor)
    members = dict(zip([name for name, _ in ensemble.members], ensemble.members_, strict=True))
    row = next(r for r in result.leaderboard if r.model == "hist_gradient_boosting")
    fitted = members["hist_gradient_boosting"][-1]
    assert len(row.rounds) == 4 and not fitted.do_early_stopping_
    assert fitted.n_iter_ == refit_rounds(row, result.spec.evaluation)


def test_the_model_card_states_the_rounds_the_saved_model_fits(runs):
    (result, _), _ = runs
    row = result.leaderboard[0]
    section = steps_section(result.spec, fitted=result.pipeline, model_kind=row.model, metric=result.metric,
                            params=row.params, threshold=None, rounds=row.to_dict()["rounds"])
    text = " ".join(block.text for block in section.blocks if isinstance(block, Text))
    mean = refit_rounds(row, result.spec.evaluation)
    assert f"The saved model fits their mean, {mean:,} rounds, on every row" in text
    plain = steps_section(result.spec, fitted=result.pipeline, model_kind=row.model, metric=result.metric,
                          params=row.params, threshold=None)
    assert not any("stopped early" in block.text for block in plain.blocks if isinstance(block, Text))


def test_the_model_files_metadata_and_bundle_readme_give_the_rounds_the_saved_model_fits(runs):
    (result, _), frame = runs
    mean = refit_rounds(result.leaderboard[0], result.spec.evaluation)
    metadata = build_metadata(result, frame)
    assert metadata["refit_rounds"] == mean and metadata["params"] == stopping_params("catboost")
    readme = zipfile.ZipFile(io.BytesIO(dump_bundle(result.pipeline, metadata, frame))).read("README.md").decode()
    assert f"the saved model fits their mean, {mean:,} rounds, on every row it was trained on" in readme


def test_a_schema_7_definition_refits_by_stopping_again_as_it_did_then():
    assert load_spec({"schema_version": 7}).evaluation.refit_rounds == "stopping"
    assert load_spec({"schema_version": 7, "evaluation": {"holdout": 0.3}}).evaluation.refit_rounds == "stopping"
    assert PipelineSpec().evaluation.refit_rounds == "folds"
    frame = values_frame()
    spec = spec_for(frame, [{"kind": "catboost", "params": stopping_params("catboost")}], refit_rounds="stopping")
    result = train(spec, frame)
    row = result.leaderboard[0]
    assert len(row.rounds) == 3, "the folds' rounds are recorded either way"
    assert refit_rounds(row, result.spec.evaluation) is None and not any("their mean" in n for n in row.notes)
    assert result.pipeline[-1].get_best_iteration() is not None, "the refit held rows aside and stopped on them"
    assert build_metadata(result, frame)["refit_rounds"] is None
    script = python_script(result.spec, result.schema, result.task, "catboost", row.params)
    assert "def fixed_rounds" not in script
    folds = result.spec.model_copy(update={"evaluation": result.spec.evaluation.model_copy(
        update={"refit_rounds": "folds"})})
    assert "def fixed_rounds" in python_script(folds, result.schema, result.task, "catboost", row.params)


def test_the_exported_script_refits_the_folds_rounds_and_scores_as_the_app(runs, tmp_path):
    """The standalone script reads its folds' rounds as the app does and fits their mean on the training rows:
    its CV and hold-out scores are the app's, for CatBoost's configuration (which stops on ``eval_fraction``)."""
    (result, _), frame = runs
    csv = tmp_path / "values.csv"
    frame.to_csv(csv, index=False)
    script = tmp_path / "train_model.py"
    script.write_text(python_script(result.spec, result.schema, result.task, "catboost", result.best.params))
    run = subprocess.run([sys.executable, str(script), str(csv)], capture_output=True, text=True, timeout=600,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    for name, value in result.best.metrics.items():
        assert math.isclose(report["cv"][name], value, rel_tol=1e-9, abs_tol=1e-9), name
    for name, value in result.holdout.items():
        assert math.isclose(report["holdout"][name], value, rel_tol=1e-9, abs_tol=1e-9), name


def test_the_learning_curve_refits_the_configuration_its_folds_cross_validated(runs):
    """The saved model's fixed rounds suit its own rows; the learning curve refits on shares of them, so its model
    stops early again, as in CV: on the run's own folds it scores exactly the leaderboard's fold scores."""
    (result, _), frame = runs
    row = result.leaderboard[0]
    again = as_cross_validated(result.holdout_model, "catboost", row.params, result.task, result.spec.evaluation.seed)
    assert again[-1].get_params()["eval_fraction"] == 0.1 and again[-1].get_params()["iterations"] == 2000
    assert result.holdout_model[-1].get_params().get("eval_fraction") is None, "the saved model is left as it is"
    split = training_split(result.spec, frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folds = cross_val_score(again, split.X_train, split.y_train, cv=cv_splitter(result.task, result.spec),
                                scoring=result.metric)
    np.testing.assert_allclose(folds, row.folds[result.metric], rtol=1e-9)
    curve = learning_curve(result.holdout_model, result.spec, split, result.metric, kind="catboost",
                           params=row.params)
    fixed = learning_curve(result.holdout_model, result.spec, split, result.metric)
    assert not np.allclose(curve["score_mean"], fixed["score_mean"]), "the curve refits the folds' configuration"

"""Train page: guidance without data or target, model choices from the registry, a background run to the end."""

from __future__ import annotations

import time

import pandas as pd
import pytest

import storage
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition.registry import MODELS, default_models
from pipeline_core.definition.spec import ModelSpec, PipelineSpec
from pipeline_core.definition.steps import Impute
from pipeline_core.io.samples import load_sample
from pipeline_core.training.progress import ProgressEvent
from storage import Store
from tests.apptest import store_frame, texts
from tests.pages.conftest import CHURN

JOB_TIMEOUT_S = 180


def wait_for_run(store: Store, run_id: int, timeout: float = JOB_TIMEOUT_S) -> storage.Run:
    """Poll the run row until the background job ends (the page itself polls the same row)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = storage.get_run(store, run_id)
        if run is not None and run.status not in ("queued", "running"):
            return run
        time.sleep(0.25)
    raise AssertionError(f"run {run_id} did not finish within {timeout} s: {storage.get_run(store, run_id)}")


def iris_spec(**changes) -> dict:
    return PipelineSpec(target="target", **changes).to_dict()


def test_without_data_points_to_the_data_page(app):
    at = app("pages/train.py")
    assert not at.exception
    assert "Data" in texts(at, "info")
    assert not at.button


def test_without_target_points_to_the_features_page(app, iris_id):
    at = app("pages/train.py", dataset_id=iris_id)
    assert not at.exception
    assert "target" in texts(at, "info")
    assert [link.proto.page for link in at.get("page_link")][-1].endswith("features")


def test_models_come_from_the_registry_with_defaults_preselected(app, iris_id):
    at = app("pages/train.py", dataset_id=iris_id, spec=iris_spec())
    assert not at.exception
    picker = at.multiselect(key="train_models")
    assert picker.value == default_models("classification")
    assert "Random forest" in picker.options
    assert "k-means" not in picker.options  # clustering models are not offered for classification
    assert "classification" in " ".join(m.value for m in at.markdown)


def test_a_target_no_model_can_learn_from_is_refused_before_training(store, app):
    frame = pd.DataFrame({"x": range(40), "label": ["a"] * 38 + ["b"] * 2})
    at = app("pages/train.py", dataset_id=store_frame(store, frame, "rare"),
             spec=PipelineSpec(target="label").to_dict())
    assert not at.exception
    assert "fewer rows than the 5 CV folds" in texts(at, "error")
    assert not at.button


def test_steps_that_leave_a_column_unencoded_are_refused_before_start(app, churn_id):
    """One cleaning step added before the target means no defaults: say so before a run fails."""
    spec = PipelineSpec(target="churned", steps=[Impute(columns="numeric")]).to_dict()
    at = app("pages/train.py", dataset_id=churn_id, spec=spec)
    assert not at.exception
    assert "no step encodes them" in texts(at, "error")
    assert not at.button
    assert [link.proto.page for link in at.get("page_link")][-1].endswith("clean")


def test_no_model_chosen_is_a_plain_error(app, iris_id):
    at = app("pages/train.py", dataset_id=iris_id, spec=iris_spec())
    at.multiselect(key="train_models").set_value([])
    at.button(key="train_start").click().run()
    assert not at.exception
    assert "at least one" in texts(at, "error")
    assert at.session_state["run_id"] is None


def test_training_runs_in_the_background_and_ends_with_a_summary(store, app, iris_id):
    at = app("pages/train.py", dataset_id=iris_id, spec=iris_spec())
    at.multiselect(key="train_models").set_value(["logistic_regression", "decision_tree"])
    at.number_input(key="train_folds").set_value(3)
    at.selectbox(key="train_metric").set_value("f1_macro")
    at.button(key="train_start").click().run()
    assert not at.exception
    spec = at.session_state["spec"]
    assert [m["kind"] for m in spec["models"]] == ["logistic_regression", "decision_tree"]
    assert spec["evaluation"]["cv_folds"] == 3
    assert spec["evaluation"]["metric"] == "f1_macro"
    run = wait_for_run(store, at.session_state["run_id"])
    assert run.status == "done", run.error
    at.run()
    assert not at.exception
    summary = texts(at, "success")
    assert "Best model" in summary and "F1 (macro)" in summary
    assert any(link.proto.page.endswith("compare") for link in at.get("page_link"))
    assert at.button(key="train_start").disabled is False


def test_an_active_run_shows_progress_and_can_be_cancelled(store, app, iris_id):
    models = [{"kind": "logistic_regression"}, {"kind": "knn"}, {"kind": "decision_tree"}]
    spec = PipelineSpec.model_validate(iris_spec(models=models))
    run = storage.create_run(store, dataset_id=iris_id)  # queued, as a job waiting for a worker leaves it
    event = ProgressEvent(phase="comparing", fraction=0.25, message="fold 1 of 5 done", n_models=3, models_done=1,
                          model_index=1, model_name="knn")  # the message no longer needs to name the model
    storage.update_run_progress(store, run.id, fraction=event.fraction, message=event.message, event=event)
    at = app("pages/train.py", dataset_id=iris_id, spec=spec.to_dict())
    at.session_state["run_id"] = run.id
    at.run()
    assert not at.exception
    assert at.button(key="train_start").disabled
    states = at.dataframe[0].value.set_index("Model")["Status"]
    assert states[MODELS["logistic_regression"].label] == "done"
    assert states[MODELS["knn"].label] == "training"
    assert states[MODELS["decision_tree"].label] == "waiting"
    at.button(key="train_cancel").click().run()
    assert not at.exception
    assert storage.get_run(store, run.id).status == "cancelled"
    assert "cancelled" in texts(at, "warning")


def test_the_tuning_time_limit_is_shown_and_held_to_the_servers_maximum(app, iris_id, monkeypatch):
    """Issue 14 point 8: the user sees how long a search may run; the input cannot exceed the server's maximum."""
    monkeypatch.setenv("PIPELINE_STUDIO_MAX_TUNING_MINUTES", "5")
    at = app("pages/train.py", dataset_id=iris_id, spec=iris_spec(tuning={"method": "optuna", "n_trials": 10_000}))
    assert not at.exception
    limit = at.number_input(key="train_timeout")
    assert (limit.value, limit.max) == (5, 5)  # the definition's 10 min default, lowered to the server's 5
    assert "Tuning stops after **5 min** per model, or after 10,000 trials" in " ".join(c.value for c in at.caption)


def test_halving_says_how_it_spends_the_trial_budget(app, iris_id):
    """Issue 15 point 10: '6 trials' became 8 fits; the page now says what halving does with the 6."""
    at = app("pages/train.py", dataset_id=iris_id, spec=iris_spec(tuning={"method": "halving", "n_trials": 6}))
    assert not at.exception
    assert ("Successive halving spends the 6 trials in 2 rounds: 4 candidates on 1/3 of the rows, then the best 2 "
            "on all rows.") in " ".join(c.value for c in at.caption)


def test_a_fourth_queued_job_of_one_session_is_refused_with_the_reason(store, app, iris_id, churn_id, monkeypatch):
    """Issue 14 point 8: one session queued hours of jobs and everyone else waited. Without sign-in the cap applies
    only when the server sets one (issue 19 point 5), per tab."""
    monkeypatch.setenv("PIPELINE_STUDIO_JOBS", "threads")  # nothing may start: the refusal comes first
    monkeypatch.setenv("PIPELINE_STUDIO_MAX_JOBS_PER_USER", "3")
    at = app("pages/train.py", dataset_id=iris_id, spec=iris_spec())
    owner = at.session_state["owner"]
    assert owner == f"draft:{at.session_state['draft_token']}"  # the tab's draft: a refresh keeps the count
    queued = [storage.create_run(store, dataset_id=churn_id, owner=owner).id for _ in range(3)]  # other tabs' jobs
    at.run()
    assert "You have 3 of at most 3 jobs queued or running." in [c.value for c in at.caption]
    at.button(key="train_start").click().run()
    assert not at.exception
    assert texts(at, "error") == ("you have 3 jobs queued or running, the limit is 3; wait for one to finish or "
                                  "cancel one")
    assert at.session_state["run_id"] is None
    assert sorted(run.id for run in storage.list_runs(store)) == queued


def test_class_weighting_can_be_set_and_lifts_balanced_accuracy_on_an_imbalanced_target(store, app):
    """Issue 15 point 12: an imbalanced target reached balanced accuracy 0.59 with no way to weight classes."""
    import numpy as np

    rng = np.random.default_rng(7)
    n = 600
    x = rng.normal(size=(n, 3))
    rare = (x[:, 0] + 0.5 * rng.normal(size=n)) > 1.6  # about 7% of rows, and only partly separable
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(label=np.where(rare, "rare event", "usual"))
    dataset_id = store_frame(store, frame, "imbalanced")
    scores = {}
    for weighted in (False, True):
        at = app("pages/train.py", dataset_id=dataset_id,
                 spec=PipelineSpec(target="label", steps=[Impute(columns="numeric")]).to_dict())
        at.multiselect(key="train_models").set_value(["logistic_regression"])
        at.number_input(key="train_folds").set_value(3)
        at.selectbox(key="train_metric").set_value("balanced_accuracy")
        at.checkbox(key="train_class_weight").set_value(weighted)
        at.button(key="train_start").click().run()
        assert not at.exception
        [model] = at.session_state["spec"]["models"]
        assert (model["params"].get("class_weight") == "balanced") is weighted
        run = wait_for_run(store, at.session_state["run_id"])
        assert run.status == "done", run.error
        scores[weighted] = run.leaderboard[0]["metrics"]["balanced_accuracy"]
    assert scores[True] > scores[False] + 0.05, scores


def test_catboost_weighed_in_its_own_words_shows_the_switch_on_and_unticking_it_removes_them(store, app, iris_id):
    """CatBoost weighs classes with ``auto_class_weights="Balanced"``: the switch reads and writes that parameter
    for it, as it does ``class_weight`` for the others, and its help names both."""
    catboost = ModelSpec(kind="catboost", params={"iterations": 20, "auto_class_weights": "Balanced"})
    at = app("pages/train.py", dataset_id=iris_id, spec=iris_spec(models=[catboost]))
    switch = at.checkbox(key="train_class_weight")
    assert switch.value is True and "(class_weight='balanced'; CatBoost: auto_class_weights='Balanced')" in switch.help
    assert "CatBoost" in switch.help.split("Applies to:")[1]
    at.number_input(key="train_folds").set_value(3)
    switch.uncheck()
    at.button(key="train_start").click().run()
    assert not at.exception
    assert [m["params"] for m in at.session_state["spec"]["models"]] == [{"iterations": 20}]
    run = wait_for_run(store, at.session_state["run_id"])
    assert run.status == "done", run.error


def test_after_switching_to_clustering_the_last_runs_summary_is_not_shown_as_this_ones(store, app, iris_id):
    """Issue 15 point 13: after switching the task, Train showed the previous run's summary as if it were new."""
    from tests.pages.test_compare_page import fast_spec, train_now

    run = train_now(store, iris_id, fast_spec())
    clustering = PipelineSpec(task="clustering", columns={"select": ["sepal length (cm)", "petal length (cm)"]})
    at = app("pages/train.py", dataset_id=iris_id, spec=clustering.to_dict())
    at.session_state["run_id"] = run.id
    at.run()
    assert not at.exception
    expected = f"Your last run, #{run.id}, was a **classification** run; the pipeline is now set up for **clustering**"
    assert expected in texts(at, "info")
    assert at.expander[0].label == f"Run #{run.id} (classification)"


def test_threshold_tuning_is_offered_for_two_classes_saved_in_the_definition_and_shown_after_the_run(store, app,
                                                                                                     iris_id):
    """Issue 15 point 12: the threshold is chosen on CV predictions, travels in the definition, and the summary says
    which threshold and which metric; a three-class target is not offered it."""
    from tests.pipeline_core.test_threshold import imbalanced

    at = app("pages/train.py", dataset_id=iris_id, spec=iris_spec())
    assert not at.exception
    assert "train_threshold" not in [c.key for c in at.checkbox]
    dataset_id = store_frame(store, imbalanced(600), "imbalanced")
    at = app("pages/train.py", dataset_id=dataset_id,
             spec=PipelineSpec(target="label", steps=[Impute(columns="numeric")]).to_dict())
    at.multiselect(key="train_models").set_value(["logistic_regression"])
    at.number_input(key="train_folds").set_value(3)
    at.checkbox(key="train_threshold").set_value(True)
    at.button(key="train_start").click().run()
    assert not at.exception
    assert at.session_state["spec"]["threshold"] == {"tune": True, "metric": "balanced_accuracy", "cv_folds": 3}
    run = wait_for_run(store, at.session_state["run_id"])
    assert run.status == "done", run.error
    at.run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "Decision threshold: predicts **usual** when its probability is at least **0." in text
    assert "chosen to maximise balanced accuracy (" in text and "the hold-out rows played no part" in text
    [board] = [frame for frame in at.dataframe if "Rank" in frame.value.columns]
    assert "Threshold (balanced accuracy)" in board.value.columns


def test_the_ensemble_option_is_saved_in_the_definition_and_its_row_names_the_members(store, app):
    """Issue 20 point 3: the checkbox sets ``evaluation.ensemble``; the run's leaderboard shows the greedy ensemble
    with its members and pick counts, and the stacker, beside the single models."""
    from tests.pipeline_core.test_ensemble import classes_frame

    dataset_id = store_frame(store, classes_frame(), "classes")
    at = app("pages/train.py", dataset_id=dataset_id,
             spec=PipelineSpec(target="y", steps=[Impute(columns="numeric")]).to_dict())
    at.multiselect(key="train_models").set_value(["logistic_regression", "random_forest", "hist_gradient_boosting"])
    at.number_input(key="train_folds").set_value(4)
    at.checkbox(key="train_ensemble").set_value(True)
    at.button(key="train_start").click().run()
    assert not at.exception
    assert at.session_state["spec"]["evaluation"]["ensemble"] is True
    run = wait_for_run(store, at.session_state["run_id"])
    assert run.status == "done", run.error
    at.run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)  # refit on all rows is on by default (issue 20 point 4)
    assert "Saved model: refitted on all **600** rows (training and hold-out)" in text
    [board] = [frame for frame in at.dataframe if "Rank" in frame.value.columns]
    names = list(board.value["Model"])
    assert any(name.startswith("Ensemble of ") and " ×" in name for name in names), names
    assert any(name.startswith("Stacking of ") for name in names), names


def test_the_autopilot_option_searches_within_its_budget_records_its_choices_and_re_trains_them(store, app, iris_id):
    """Issue 20 point 1: "Best model in a time budget" sets the definition's autopilot; the finished search's
    choices are written into the pipeline, so Start trains exactly those again, to the same leaderboard."""
    at = app("pages/train.py", dataset_id=iris_id, spec=iris_spec())
    at.checkbox(key="train_autopilot").check()
    at.number_input(key="train_budget").set_value(0.1)
    at.number_input(key="train_folds").set_value(3)
    at.button(key="train_start").click().run()
    assert not at.exception
    plan = at.session_state["spec"]["autopilot"]
    assert plan["time_budget_seconds"] == pytest.approx(6) and plan["chosen"] == []
    searched = wait_for_run(store, at.session_state["run_id"])
    assert searched.status == "done", searched.error
    at.run()
    assert not at.exception
    assert "Autopilot: **" in " ".join(m.value for m in at.markdown)
    chosen = at.session_state["spec"]["autopilot"]["chosen"]
    assert {m["kind"] for m in chosen} == {row["model"] for row in searched.leaderboard if row["model"] in MODELS}
    assert f"records the {len(chosen)} configurations its last search chose" in " ".join(c.value for c in at.caption)

    at.button(key="train_start").click().run()
    assert not at.exception
    again = wait_for_run(store, at.session_state["run_id"])
    assert again.status == "done" and again.id != searched.id
    assert [(r["model"], r["metrics"]) for r in again.leaderboard] == \
           [(r["model"], r["metrics"]) for r in searched.leaderboard]


def test_a_stopped_search_says_it_keeps_its_best_model_and_then_shows_it(store, app, iris_id):
    """Cancel on an autopilot run stops the search; the page says the best model is kept, then shows the run done."""
    at = app("pages/train.py", dataset_id=iris_id, spec=iris_spec())
    at.checkbox(key="train_autopilot").check()
    at.number_input(key="train_budget").set_value(10.0)
    at.number_input(key="train_folds").set_value(3)
    at.button(key="train_start").click().run()
    run_id = at.session_state["run_id"]
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while "best so far: " not in (storage.get_run(store, run_id).progress_message or ""):
        assert time.monotonic() < deadline, "the search never scored a model"
        time.sleep(0.05)
    storage.finish_run(store, run_id, status="cancelled", error="cancelled by the user")  # what Cancel does
    at.run()
    assert not at.exception
    assert f"You stopped run #{run_id}'s search" in texts(at, "info")
    while (run := storage.get_run(store, run_id)).status != "done":  # the job refits its best model, then closes
        assert time.monotonic() < deadline, f"run {run_id} still {run.status}"
        time.sleep(0.1)
    assert run.summary["autopilot"]["stopped"] == "cancelled"
    at.run()
    assert "you stopped it; the best model so far was kept" in " ".join(m.value for m in at.markdown)


def test_xgboost_and_catboost_are_offered_and_train_on_the_churn_samples_text_labels(store, app, churn_id):
    """Issue 20 point 2: the two libraries' models are in the picker and learn the sample's yes/no labels."""
    spec = PipelineSpec(target="churned", models=[ModelSpec(kind="xgboost", params={"n_estimators": 30}),
                                                  ModelSpec(kind="catboost", params={"iterations": 30})])
    spec = spec.model_copy(update={"steps": default_steps(infer_schema(load_sample(CHURN), spec))})
    at = app("pages/train.py", dataset_id=churn_id, spec=spec.to_dict())
    picker = at.multiselect(key="train_models")
    assert {"XGBoost", "CatBoost"} <= set(picker.options)
    assert picker.value == ["xgboost", "catboost"]
    at.number_input(key="train_folds").set_value(2)
    at.button(key="train_start").click().run()
    assert not at.exception
    run = wait_for_run(store, at.session_state["run_id"])
    assert run.status == "done", run.error
    at.run()
    assert not at.exception
    summary = texts(at, "success")
    assert "Best model" in summary and ("XGBoost" in summary or "CatBoost" in summary)


def test_the_refit_rounds_option_follows_the_definition_and_is_saved_in_it(store, app, iris_id):
    """Schema 8: boosting that stopped early is refitted with its folds' mean rounds, on by default; a definition
    saved before keeps stopping again, and the checkbox shows and changes which."""
    at = app("pages/train.py", dataset_id=iris_id, spec=iris_spec())
    box = at.checkbox(key="train_refit_rounds")
    assert box.value is True and "folds' rounds" in box.label
    box.uncheck()
    at.multiselect(key="train_models").set_value(["logistic_regression"])
    at.button(key="train_start").click().run()
    assert not at.exception
    assert at.session_state["spec"]["evaluation"]["refit_rounds"] == "stopping"
    assert wait_for_run(store, at.session_state["run_id"]).status == "done"
    old = iris_spec()
    old["schema_version"] = 7
    del old["evaluation"]["refit_rounds"]
    at = app("pages/train.py", dataset_id=iris_id, spec=old)
    assert not at.exception and at.checkbox(key="train_refit_rounds").value is False

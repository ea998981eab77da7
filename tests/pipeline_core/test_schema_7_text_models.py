"""Schema 7 (issue 20 point 7): with TF-IDF features, the models a definition leaves open are logistic regression,
random forest and LightGBM, which reads the sparse TF-IDF columns as they are, instead of histogram gradient
boosting, which bins every one of them as a dense column; a definition saved before keeps the set it trained."""

from __future__ import annotations

import json

from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition.registry import ENSEMBLE_KINDS, default_models
from pipeline_core.definition.spec import EvaluationPlan, PipelineSpec, load_spec
from pipeline_core.definition.steps import Tfidf
from pipeline_core.training.train import train
from tests.apptest import open_page, store_frame
from tests.pipeline_core.frames import iris, messy_frame


def with_steps(spec: PipelineSpec, frame) -> PipelineSpec:
    return spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})


def test_a_definition_without_models_trains_lightgbm_in_boostings_place_when_text_feeds_the_models():
    frame = messy_frame(240)
    spec = with_steps(PipelineSpec(target="churned", evaluation=EvaluationPlan(cv_folds=2)), frame)
    assert any(isinstance(s, Tfidf) for s in spec.steps)
    result = train(spec, frame, n_jobs=1)
    models = [row for row in result.leaderboard if row.model not in ENSEMBLE_KINDS]
    assert {row.model for row in models} == {"logistic_regression", "random_forest", "lightgbm"}
    assert all(row.error is None for row in models)


def test_without_text_the_usual_set_is_left_open():
    frame = iris()
    spec = with_steps(PipelineSpec(target="target"), frame)
    assert spec.open_choices.preselected("classification", spec.steps) == default_models("classification")
    assert "hist_gradient_boosting" in default_models("classification")


def test_a_schema_6_definition_keeps_histogram_boosting_with_text():
    frame = messy_frame(240)
    current = with_steps(PipelineSpec(target="churned", evaluation=EvaluationPlan(cv_folds=2)), frame)
    saved = json.loads(current.to_json())
    saved["schema_version"] = 6
    del saved["open_choices"]["text_models"]
    old = load_spec(json.dumps(saved))
    assert old.schema_version == 9 and old.open_choices.text_models == "preselected"
    assert old.open_choices.preselected("classification", old.steps) == default_models("classification")
    assert current.open_choices.preselected("classification", current.steps) == [
        "lightgbm" if kind == "hist_gradient_boosting" else kind for kind in default_models("classification")]


def test_the_train_page_preselects_lightgbm_for_a_pipeline_with_text(store):
    frame = messy_frame(240)
    spec = with_steps(PipelineSpec(target="churned"), frame)
    at = open_page("pages/train.py", dataset_id=store_frame(store, frame, "reviews"), spec=spec.to_dict())
    assert not at.exception
    picker = at.multiselect(key="train_models")
    assert "lightgbm" in picker.value and "hist_gradient_boosting" not in picker.value
    # both names come from their registry labels
    assert "With TF-IDF text columns, *LightGBM* is preselected instead of *Histogram gradient boosting*" in picker.help
    # and the autopilot's help says which families its search leaves out over them
    assert ("Over this pipeline's TF-IDF text columns it leaves out *Histogram gradient boosting* and *CatBoost*: "
            "*LightGBM* reads the sparse word columns") in at.checkbox(key="train_autopilot").help

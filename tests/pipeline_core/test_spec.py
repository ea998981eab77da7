"""The pipeline definition: JSON round trip, validation messages that name the field, migrations."""

import json
from pathlib import Path

import pytest

from pipeline_core.definition.spec import (
    DEFAULT_TUNING_SECONDS,
    MAX_TUNING_SECONDS,
    SCHEMA_VERSION,
    ModelSpec,
    PipelineSpec,
    load_spec,
)
from pipeline_core.definition.steps import STEPS, Impute, OneHot
from pipeline_core.errors import SpecError

FIXTURES = Path(__file__).parent / "fixtures"


def full_spec() -> PipelineSpec:
    return PipelineSpec(
        name="churn", target="churned", task="classification",
        steps=[Impute(strategy="median", add_indicator=True), OneHot(columns=["city"])],
        models=[ModelSpec(kind="random_forest", params={"n_estimators": 50},
                          search={"max_depth": {"type": "int", "low": 2, "high": 8}})],
    )


def test_definition_round_trips_through_json_unchanged():
    spec = full_spec()
    assert load_spec(spec.to_json()) == spec
    assert load_spec(json.loads(spec.to_json())).content_hash() == spec.content_hash()


def test_content_hash_ignores_key_order_but_not_values():
    data = full_spec().to_dict()
    reordered = dict(reversed(list(data.items())))
    assert load_spec(reordered).content_hash() == full_spec().content_hash()
    data["evaluation"]["seed"] = 7
    assert load_spec(data).content_hash() != full_spec().content_hash()


def test_bad_step_parameter_is_named_by_its_path():
    data = {"steps": [{"kind": "impute"}, {"kind": "scale"}, {"kind": "impute", "strategy": "avg"}]}
    with pytest.raises(SpecError, match=r"steps\[2\]\.strategy: .*'mean', 'median'.*\(got 'avg'\)"):
        load_spec(data)


def test_unknown_step_and_model_are_refused_with_the_known_names():
    with pytest.raises(SpecError, match=r"steps\[0\].*'impute'"):
        load_spec({"steps": [{"kind": "run_shell"}]})
    with pytest.raises(SpecError, match=r"models\[0\]\.kind: 'xgb' is not a known model"):
        load_spec({"models": [{"kind": "xgb"}]})


def test_unknown_fields_are_refused_not_ignored():
    with pytest.raises(SpecError, match=r"steps\[0\]\.stratgy"):
        load_spec({"steps": [{"kind": "impute", "stratgy": "mean"}]})


def test_absurdly_deep_or_large_definitions_are_refused():
    deep: dict = {}
    node = deep
    for _ in range(50):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(SpecError, match="nested deeper"):
        load_spec(json.dumps({"name": "n", "data": deep}))
    with pytest.raises(SpecError, match="bytes; the limit"):
        load_spec(" " * 2_000_000)


def test_invalid_json_is_a_spec_error():
    with pytest.raises(SpecError, match="not valid JSON"):
        load_spec("{not json")


def test_definition_from_a_newer_version_is_refused_with_advice():
    with pytest.raises(SpecError, match="newer Pipeline Studio"):
        load_spec({"schema_version": SCHEMA_VERSION + 1})


def test_every_stored_fixture_version_still_loads():
    """A JSON fixture of every schema version ever released must keep loading."""
    files = sorted(FIXTURES.glob("spec_v*.json"))
    assert files, "keep one fixture per released schema version"
    for path in files:
        spec = load_spec(path.read_text())
        assert spec.schema_version == SCHEMA_VERSION


def test_every_registered_step_round_trips_with_defaults():
    for kind, cls in STEPS.items():
        required = {"columns": ["a"]} if kind == "drop_columns" else {}
        if kind == "filter_rows":
            required = {"column": "a", "op": ">", "value": 1}
        if kind == "keep_rows_passing_rule":
            required = {"rule": {"kind": "regex", "column": "a", "pattern": r"\d+"}}
        step = cls(**required)
        spec = PipelineSpec(steps=[step])
        assert load_spec(spec.to_json()).steps[0] == step


# ---- tuning time limit (issue 14 point 8) ---------------------------------------------------------------


def test_tuning_has_a_default_time_limit_and_an_upper_bound():
    assert PipelineSpec().tuning.timeout_seconds == DEFAULT_TUNING_SECONDS == 600
    with pytest.raises(SpecError, match=r"tuning\.timeout_seconds: Input should be less than or equal to 7200"):
        load_spec({"tuning": {"timeout_seconds": MAX_TUNING_SECONDS + 1}})
    with pytest.raises(SpecError, match=r"tuning\.timeout_seconds"):
        load_spec({"tuning": {"timeout_seconds": None}})  # schema 2 has no unlimited search


@pytest.mark.parametrize(("saved", "loaded"), [
    ({"method": "optuna", "n_trials": 10_000, "timeout_seconds": None}, DEFAULT_TUNING_SECONDS),
    ({"method": "optuna", "n_trials": 10_000}, DEFAULT_TUNING_SECONDS),
    ({"method": "grid", "timeout_seconds": 86_400}, MAX_TUNING_SECONDS),
    ({"method": "grid", "timeout_seconds": 30}, 30),
])
def test_a_schema_1_definition_gets_a_bounded_tuning_time_limit(saved, loaded):
    spec = load_spec({"schema_version": 1, "tuning": saved})
    assert (spec.schema_version, spec.tuning.timeout_seconds, spec.tuning.method) == (SCHEMA_VERSION, loaded,
                                                                                   saved["method"])
    assert load_spec(spec.to_json()) == spec


# ---- quality rules travel in the definition (issue 15 point 2) ------------------------------------------------


def test_a_schema_2_definition_loads_with_no_rules():
    spec = load_spec((FIXTURES / "spec_v2.json").read_text())
    assert spec.rules == [] and spec.schema_version == SCHEMA_VERSION == 9


def test_rules_round_trip_with_the_definition_and_change_its_hash():
    spec = load_spec((FIXTURES / "spec_v3.json").read_text())
    assert [r.kind for r in spec.rules] == ["not_null", "range", "allowed_values", "regex", "unique"]
    assert load_spec(spec.to_json()) == spec
    assert spec.content_hash() != spec.model_copy(update={"rules": spec.rules[:-1]}).content_hash()


@pytest.mark.parametrize(("rule", "message"), [
    ({"kind": "regex", "column": "id", "pattern": "(a+)+"}, r"rules\[0\]\.pattern: nested repetition"),
    ({"kind": "range", "column": "x"}, r"rules\[0\]: give a minimum, a maximum or both"),
    ({"kind": "no_such_rule", "column": "x"}, r"rules\[0\]"),
    ({"kind": "not_null", "column": ""}, r"rules\[0\]\.column"),
])
def test_a_bad_rule_in_a_definition_is_named_by_its_place(rule, message):
    with pytest.raises(SpecError, match=message):
        load_spec({"rules": [rule]})


# ---- decision threshold tuning travels in the definition (issue 15 point 12) --------------------------------


def test_a_schema_3_definition_loads_with_the_classifiers_own_threshold():
    spec = load_spec((FIXTURES / "spec_v3.json").read_text())
    assert spec.threshold.tune is False and spec.schema_version == SCHEMA_VERSION == 9


def test_the_threshold_plan_round_trips_and_changes_the_definitions_hash():
    spec = load_spec((FIXTURES / "spec_v4.json").read_text())
    assert (spec.threshold.tune, spec.threshold.metric, spec.threshold.cv_folds) == (True, "f1_macro", 4)
    assert load_spec(spec.to_json()) == spec
    untuned = spec.model_copy(update={"threshold": spec.threshold.model_copy(update={"tune": False})})
    assert spec.content_hash() != untuned.content_hash()


def test_a_threshold_metric_that_depends_on_which_class_is_positive_is_refused_by_name():
    with pytest.raises(SpecError, match=r"threshold\.metric"):
        load_spec({"threshold": {"tune": True, "metric": "precision"}})


# ---- refit on all rows (issue 20 point 4) --------------------------------------------------------------------


def test_a_schema_4_definition_keeps_saving_the_model_trained_on_the_training_rows():
    spec = load_spec((FIXTURES / "spec_v4.json").read_text())
    assert spec.evaluation.refit_all is False and spec.schema_version == SCHEMA_VERSION == 9
    assert load_spec({"schema_version": 4}).evaluation.refit_all is False


def test_new_definitions_refit_on_all_rows_and_the_choice_round_trips():
    assert load_spec({}).evaluation.refit_all is True
    spec = load_spec((FIXTURES / "spec_v5.json").read_text())
    assert (spec.evaluation.refit_all, spec.evaluation.ensemble) == (False, True)
    assert load_spec(spec.to_json()) == spec

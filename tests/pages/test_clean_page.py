"""Clean page: quality rules with a violations report, and the editable list of cleaning steps."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition.spec import PipelineSpec, load_spec
from tests.apptest import open_page, store_frame, texts

PAGE = "pages/clean.py"


@pytest.fixture
def people_id(store) -> int:
    frame = pd.DataFrame({
        "age": [25, np.nan, 140, 31, -2, np.nan, 44, 52],
        "city": ["paris", "lyon", None, "nice", "paris", "lyon", "paris", "nice"],
        "income": [10.0, 20.0, np.nan, 40.0, 50.0, 60.0, 70.0, 80.0],
    })
    return store_frame(store, frame, "people")


def rules(at) -> list[dict]:
    return (at.session_state.get("spec") or {}).get("rules", [])


def kinds(at) -> list[str]:
    return [step["kind"] for step in at.session_state["spec"]["steps"]]


def field(widgets, name: str):
    """The widget of the step form that edits field ``name`` (keys are ``clean_<digest>_<field>``)."""
    return next(w for w in widgets if re.fullmatch(rf"clean_[0-9a-f]{{10}}_{name}", w.key or ""))


def add_step(at, kind: str) -> None:
    at.selectbox(key="clean_add_kind").set_value(kind)
    at.button(key="clean_add_step").click().run()


def test_smoke_with_a_dataset(iris_id):
    at = open_page(PAGE, dataset_id=iris_id)
    assert not at.exception
    assert "No rules yet" in texts(at, "info")


def test_a_not_null_rule_reports_the_missing_values(people_id):
    at = open_page(PAGE, dataset_id=people_id)
    at.selectbox(key="clean_rule_kind").set_value("not_null")
    at.selectbox(key="clean_rule_column").set_value("age")
    at.button(key="clean_add_rule").click().run()
    assert not at.exception
    report = at.dataframe[0].value
    assert report.loc[0, "violations"] == 2
    assert report.loc[0, "example_rows"] == "1, 5"
    assert rules(at) == [{"kind": "not_null", "column": "age"}]


def test_a_range_rule_counts_values_outside_the_bounds(people_id):
    at = open_page(PAGE, dataset_id=people_id)
    at.selectbox(key="clean_rule_kind").set_value("range").run()
    at.selectbox(key="clean_rule_column").set_value("age")
    at.number_input(key="clean_rule_min").set_value(0)
    at.number_input(key="clean_rule_max").set_value(120)
    at.button(key="clean_add_rule").click().run()
    report = at.dataframe[0].value
    assert report.loc[0, "violations"] == 2
    assert report.loc[0, "example_values"] == "140.0, -2.0"


def test_a_bad_rule_shows_an_error_and_is_not_kept(people_id):
    at = open_page(PAGE, dataset_id=people_id)
    at.selectbox(key="clean_rule_kind").set_value("regex").run()
    at.text_input(key="clean_rule_pattern").input("(a+)+$")
    at.button(key="clean_add_rule").click().run()
    assert not at.exception
    assert "nested repetition" in texts(at, "error")
    assert rules(at) == []


def test_removing_a_rule(people_id):
    at = open_page(PAGE, dataset_id=people_id)
    at.session_state["spec"] = PipelineSpec(rules=[{"kind": "unique", "column": "city"}]).to_dict()
    at.run()
    at.button(key="clean_remove_rule").click().run()
    assert rules(at) == []


def test_a_rule_is_part_of_the_definition_and_becomes_a_training_filter(people_id):
    """Issue 15 point 2: rules live in the definition (saved, versioned, exported with it), and a rule can be
    turned into a row step that keeps the training rows passing it, made once however often it is clicked."""
    at = open_page(PAGE, dataset_id=people_id)
    at.selectbox(key="clean_rule_kind").set_value("range").run()
    at.selectbox(key="clean_rule_column").set_value("age")
    at.number_input(key="clean_rule_min").set_value(0)
    at.number_input(key="clean_rule_max").set_value(120)
    at.button(key="clean_add_rule").click().run()
    spec = load_spec(at.session_state["spec"])
    assert [r.describe() for r in spec.rules] == ["In range [0, 120]"]
    at.button(key="clean_rule_to_step").click().run()
    at.button(key="clean_rule_to_step").click().run()
    assert not at.exception
    steps = load_spec(at.session_state["spec"]).steps
    assert [s.kind for s in steps] == ["keep_rows_passing_rule"]
    assert steps[0].rule == spec.rules[0]
    assert "keep_rows_passing_rule" not in at.selectbox(key="clean_add_kind").options
    tab = at.tabs[1]
    assert any("In range \\[0, 120\\] on 'age'" in m.value for m in tab.markdown), [m.value for m in tab.markdown]


def test_adding_moving_and_removing_steps_changes_the_spec(people_id):
    at = open_page(PAGE, dataset_id=people_id)
    add_step(at, "impute")
    add_step(at, "scale")
    assert kinds(at) == ["impute", "scale"]
    at.button(key="clean_up_1").click().run()
    assert kinds(at) == ["scale", "impute"]
    at.button(key="clean_down_0").click().run()
    assert kinds(at) == ["impute", "scale"]
    at.button(key="clean_remove_0").click().run()
    assert kinds(at) == ["scale"]
    assert not at.exception


def test_editing_a_step_through_its_form_and_previewing_it(people_id):
    at = open_page(PAGE, dataset_id=people_id)
    add_step(at, "impute")
    field(at.selectbox, "strategy").set_value("mean")
    field(at.checkbox, "add_indicator").check()
    at.button(key="clean_apply").click().run()
    assert not at.exception
    assert at.session_state["spec"]["steps"][0] | {} == {
        "kind": "impute", "columns": "numeric", "strategy": "mean", "fill_value": None, "add_indicator": True,
    }
    assert any("missing values 3 → 0" in m.value for m in at.markdown)


def test_a_row_step_preview_counts_rows(people_id):
    at = open_page(PAGE, dataset_id=people_id)
    add_step(at, "filter_rows")
    field(at.selectbox, "column").set_value("city")
    field(at.selectbox, "op").set_value("==")
    field(at.text_input, "value").input("paris")
    at.button(key="clean_apply").click().run()
    assert at.session_state["spec"]["steps"][0]["value"] == "paris"
    assert any("kept 3 of 8 rows" in m.value for m in at.markdown)


def test_default_steps_can_be_added_on_an_empty_pipeline(people_id):
    at = open_page(PAGE, dataset_id=people_id)
    at.button(key="clean_add_defaults").click().run()
    assert not at.exception
    assert "impute" in kinds(at) and "onehot" in kinds(at)


@pytest.fixture
def inferred_columns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every column whose type is inferred from its values (each one reads the whole column)."""
    from pipeline_core.compiler import columns

    names: list[str] = []
    real = columns.infer_column

    def counted(series, *args, **kwargs):
        names.append(str(series.name))
        return real(series, *args, **kwargs)

    monkeypatch.setattr(columns, "infer_column", counted)
    return names


@pytest.mark.parametrize(("spec", "seed"), [({}, 17), ({"columns": {"rename": {"n": "count_id", "city": "town"}}}, 18)],
                         ids=["plain", "renamed"])
def test_default_steps_come_from_the_types_kept_per_dataset_not_a_new_pass_over_the_frame(store, spec, seed,
                                                                                           inferred_columns):
    """The defaults equal those inferred directly from the frame, and each column is read once per dataset."""
    rng = np.random.default_rng(seed)  # a frame of its own: no other test has inferred its types
    n = 300
    frame = pd.DataFrame({"n": np.arange(n), "x": rng.normal(size=n), "city": rng.choice(["a", "b", "c"], n),
                          "flag": rng.random(n) < 0.5, "note": [f"free text number {i}" for i in range(n)]})
    frame.loc[rng.random(n) < 0.1, "x"] = np.nan
    expected = default_steps(infer_schema(frame, PipelineSpec.model_validate(spec)))
    inferred_columns.clear()
    at = open_page(PAGE, dataset_id=store_frame(store, frame, "typed once"), spec=spec)
    for _ in range(3):
        at.session_state["spec"] = {**spec, "steps": []}  # an empty pipeline again: the offer comes back
        at.run()
        at.button(key="clean_add_defaults").click().run()
        assert not at.exception
        assert load_spec(at.session_state["spec"]).steps == expected
    renamed_numbers = ["count_id"] if spec else []  # a new name can make a number column look like an ID
    # read again once per columns section (common.data_schema and pipeline_schema share those types), not once
    # per default-step offer and step-order check
    assert sorted(inferred_columns) == sorted(["n", "x", "city", "flag", "note"] + renamed_numbers)


def test_step_numbers_never_skip_without_a_word(people_id):
    """Issue 15 point 9: steps are numbered as the version diff counts them (from 1, across pages); the steps
    another page edits are named where they sit."""
    spec = PipelineSpec(steps=[{"kind": "impute", "columns": "numeric"}, {"kind": "select_kbest", "k": 2},
                               {"kind": "pca"}, {"kind": "scale"}])
    at = open_page(PAGE, dataset_id=people_id, spec=spec.to_dict())
    assert not at.exception
    numbers = [m.value for m in at.tabs[1].markdown if re.fullmatch(r"\*\*\d+\.\*\*", m.value)]
    assert numbers == ["**1.**", "**4.**"]
    assert "Steps 2–3 (Keep the k best features (univariate), PCA) are edited on the Features page." in texts(
        at, "caption")


def test_a_step_that_needs_filled_values_before_the_imputation_is_named(people_id):
    """Issue 15 point 7: checked at edit time, saying which step must come first."""
    spec = PipelineSpec(steps=[{"kind": "bin", "columns": "numeric"}, {"kind": "impute", "columns": "numeric"}])
    at = open_page(PAGE, dataset_id=people_id, spec=spec.to_dict())
    assert not at.exception
    assert "Step 1 (Bin into intervals) needs values without gaps" in texts(at, "warning")
    at.button(key="clean_down_0").click().run()
    assert "needs values without gaps" not in texts(at, "warning")


def test_suggestions_merge_with_existing_steps_and_a_reset_replaces_them(people_id):
    """Issue 15 point 6: suggestions at any time, merged with the user's steps; a reset to the defaults."""
    spec = PipelineSpec(steps=[{"kind": "filter_rows", "column": "city", "op": "==", "value": "paris"},
                               {"kind": "polynomial", "columns": "numeric"}])
    at = open_page(PAGE, dataset_id=people_id, spec=spec.to_dict())
    assert at.button(key="clean_add_defaults").label == "Add suggested steps for my column types"
    at.button(key="clean_add_defaults").click().run()
    merged = kinds(at)
    assert merged[0] == "filter_rows" and "onehot" in merged
    assert merged.index("impute") < merged.index("polynomial")
    at.button(key="clean_reset_defaults").click().run()
    assert not at.exception
    assert "polynomial" not in kinds(at) and "filter_rows" not in kinds(at) and "onehot" in kinds(at)

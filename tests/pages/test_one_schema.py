"""One schema on every page (issue 15 point 5): the Data preview and Profile read the pipeline's names, types
and roles, not the raw file's."""

from __future__ import annotations

import pytest

from pipeline_core.definition.spec import load_spec
from tests.apptest import open_page, store_frame, texts
from tests.pages.test_compare_page import by_key, train_now
from tests.pipeline_core.frames import schema_frame, schema_spec


@pytest.fixture
def messy_id(store) -> int:
    return store_frame(store, schema_frame(), "messy")


def test_the_data_preview_shows_renamed_and_kept_columns(messy_id):
    """The preview showed the file's own names, so an applied rename was nowhere to be seen."""
    at = open_page("pages/data.py", dataset_id=messy_id, spec=schema_spec().to_dict())
    assert not at.exception
    preview = at.dataframe[0].value
    assert list(preview.columns) == ["record_id", "day", "size", "grade", "noise", "label"]
    assert "renamed: sz → size" in texts(at, "caption")
    assert "left out of the pipeline: comment" in texts(at, "caption")


def test_profile_types_a_date_column_as_the_model_does_and_reads_overrides_renames_and_drops(messy_id):
    """Profile called a date held as text "categorical" with a level per day, and ignored the definition."""
    at = open_page("pages/profile.py", dataset_id=messy_id, spec=schema_spec().to_dict())
    assert not at.exception
    stats = at.dataframe[0].value.set_index("column")
    assert list(stats.index) == ["record_id", "day", "size", "grade", "noise", "label"]
    assert stats.loc["day", "type"] == "datetime"
    assert stats.loc["grade", "type"] == "categorical"
    assert (stats.loc["noise", "role"], stats.loc["record_id", "role"], stats.loc["label", "role"]) == (
        "dropped", "identifier", "target")
    assert at.selectbox(key="profile_target").value == "label"


def test_profile_can_leave_out_what_never_reaches_the_model(messy_id):
    at = open_page("pages/profile.py", dataset_id=messy_id, spec=schema_spec().to_dict())
    at.toggle(key="profile_features_only").set_value(True).run()
    assert not at.exception
    assert list(at.dataframe[0].value["column"]) == ["day", "size", "grade", "label"]


def test_predict_drift_bins_and_names_columns_as_the_model_does(store, messy_id):
    """Drift went by dtype on the raw columns: a number column the model reads as labels was "numeric", a date
    held as text "categorical", and renamed columns kept their file names."""
    run = train_now(store, messy_id, schema_spec())
    at = open_page("pages/predict.py", dataset_id=messy_id, run_id=run.id)
    new = schema_frame(80, seed=1).drop(columns="label")
    at.file_uploader(key="predict_upload").upload("new.csv", new.to_csv(index=False).encode(), "text/csv")
    at.run()
    assert not at.exception
    table = by_key(at.container, "predict_drift_table").dataframe[0].value.set_index("Column")
    assert sorted(table.index) == ["day", "grade", "size"]
    assert (table.loc["grade", "Type"], table.loc["day", "Type"], table.loc["size", "Type"]) == (
        "categorical", "datetime", "numeric")


def test_profile_calls_a_date_held_as_text_a_date_without_any_definition(messy_id):
    """Data and the model said "datetime"; Profile said "categorical" with one level per day."""
    at = open_page("pages/profile.py", dataset_id=messy_id)
    assert not at.exception
    stats = at.dataframe[0].value.set_index("column")
    assert stats.loc["day", "type"] == "datetime" and stats.loc["record_id", "type"] == "id"


def test_rules_are_shown_under_pipeline_names_and_a_filter_from_one_trains(store, messy_id):
    """A rule names the file's column (scored files carry it), but the rules report showed that raw name, and a
    rule on a renamed column turned into a filter step that could not find its column, so training failed."""
    at = open_page("pages/clean.py", dataset_id=messy_id, spec=schema_spec().to_dict())
    at.selectbox(key="clean_rule_kind").set_value("range").run()
    picker = at.selectbox(key="clean_rule_column")
    assert "size · numeric ('sz' in the file)" in picker.options
    assert "comment · categorical · left out of the pipeline" in picker.options
    picker.set_value("sz")
    at.number_input(key="clean_rule_min").set_value(5)
    at.button(key="clean_add_rule").click().run()
    assert not at.exception
    spec = load_spec(at.session_state["spec"])
    assert spec.rules[0].column == "sz"  # checked on files as they come
    report = at.tabs[0].dataframe[0].value
    assert list(report["column"]) == ["size"]
    at.button(key="clean_rule_to_step").click().run()
    spec = load_spec(at.session_state["spec"])
    assert spec.steps[0].rule.column == "size"
    assert train_now(store, messy_id, spec).status == "done"


def test_step_forms_and_the_target_picker_list_columns_with_the_schemas_types(messy_id):
    """A type selector ("every categorical column") picked columns by types no page showed; the overridden
    'grade' is categorical for the model, so the step says it applies to it, and the lists carry each type."""
    at = open_page("pages/clean.py", dataset_id=messy_id, spec=schema_spec().to_dict(), clean_selected=4)
    assert not at.exception
    assert "Applies now to: grade (types and names" in texts(at, "caption")
    chosen = next(m for m in at.multiselect if m.label == "Chosen columns")
    assert "day · datetime" in chosen.options and "record_id · id · identifier" in chosen.options
    at = open_page("pages/features.py", dataset_id=messy_id, spec=schema_spec().to_dict())
    assert not at.exception
    assert "size · numeric" in at.selectbox(key="features_target").options

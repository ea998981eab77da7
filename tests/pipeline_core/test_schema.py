"""One schema (issue 15 point 5): names, types and roles from the definition plus the data, read alike by the
compiler, Profile, drift and permutation importance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_core.analysis.drift import drift_report
from pipeline_core.analysis.profile import summarise_schema
from pipeline_core.compiler.columns import infer_schema
from pipeline_core.compiler.compile import compile_pipeline
from pipeline_core.compiler.schema import columns_fingerprint, data_schema
from pipeline_core.definition.spec import ColumnsSpec, PipelineSpec
from pipeline_core.errors import DataError
from pipeline_core.training.evaluate import evaluation_frames
from pipeline_core.training.holdout import holdout_frames, holdout_split
from pipeline_core.training.train import train
from tests.pipeline_core.frames import schema_frame, schema_spec


def test_names_types_and_roles_follow_the_definition():
    frame = schema_frame()
    schema = data_schema(frame, schema_spec(frame))
    assert [c.raw for c in schema.columns] == list(frame.columns)
    assert schema.names == ["record_id", "day", "size", "grade", "noise", "label"]
    got = {c.name: (c.type, c.role) for c in schema.columns}
    assert got == {"record_id": ("id", "identifier"), "day": ("datetime", "feature"),
                   "size": ("numeric", "feature"), "grade": ("categorical", "feature"),
                   "comment": ("categorical", "dropped"), "noise": ("numeric", "dropped"),
                   "label": ("categorical", "target")}
    assert schema["grade"].reason == "set by you"
    assert "step" in schema["noise"].role_reason and "just noise" in schema["noise"].role_reason
    assert not schema["comment"].kept and "left out" in schema["comment"].role_reason
    assert schema.target == "label" and schema.raw_names()["size"] == "sz"


def test_the_schema_features_are_what_the_compiled_model_reads():
    frame = schema_frame()
    spec = schema_spec(frame)
    schema = data_schema(frame, spec)
    pipeline = compile_pipeline(spec, infer_schema(frame, spec), task="classification")
    assert pipeline[0].types == {name: schema[name].type for name in schema.features}


def test_the_view_reads_values_as_their_types_under_their_names():
    frame = schema_frame()
    schema = data_schema(frame, schema_spec(frame))
    view = schema.view(frame)
    assert list(view.columns) == schema.names
    assert pd.api.types.is_datetime64_any_dtype(view["day"])
    assert view["grade"].map(type).eq(str).all() and set(view["grade"]) == {"1", "2", "3"}
    assert view["size"] is not None and view["size"].equals(frame["sz"].rename("size"))
    assert list(schema.view(frame, dropped=False).columns) == ["day", "size", "grade", "label"]
    assert list(schema.view(frame, typed=False)["day"]) == list(frame["day"])


def test_a_definition_that_does_not_fit_the_data_is_refused_as_the_compiler_refuses_it():
    frame = schema_frame()
    with pytest.raises(DataError, match="gives two columns named 'day'"):
        data_schema(frame, PipelineSpec(columns=ColumnsSpec(rename={"sz": "day"})))


def test_the_fingerprint_changes_with_what_the_schema_depends_on():
    spec = schema_spec()
    assert columns_fingerprint(spec) == columns_fingerprint(spec.model_copy(update={"name": "other"}))
    renamed = spec.model_copy(update={"columns": spec.columns.model_copy(update={"rename": {"sz": "width"}})})
    assert columns_fingerprint(spec) != columns_fingerprint(renamed)
    assert columns_fingerprint(spec) != columns_fingerprint(spec.model_copy(update={"steps": spec.steps[:-1]}))


def test_profile_types_dates_overrides_and_roles_as_the_schema_does():
    """Profile called a date column held as text "categorical" with one level per day, ignored overrides and
    renames, and listed left-out columns."""
    frame = schema_frame()
    stats = summarise_schema(frame, data_schema(frame, schema_spec(frame))).overview.stats.set_index("column")
    assert list(stats.index) == ["record_id", "day", "size", "grade", "noise", "label"]
    assert stats.loc["day", "type"] == "datetime" and stats.loc["grade", "type"] == "categorical"
    assert stats.loc["noise", "role"] == "dropped" and stats.loc["record_id", "role"] == "identifier"
    assert np.isnan(stats.loc["grade", "mean"])  # labels: no mean of the codes
    assert pd.notna(stats.loc["size", "mean"])


def test_drift_bins_a_column_as_the_model_reads_it_and_names_it_as_the_pipeline_does():
    """Drift went by dtype: a number column the model reads as labels was "numeric" in drift."""
    frame = schema_frame()
    report = drift_report(frame[["grade", "sz"]], frame[["grade", "sz"]].iloc[:50],
                          kinds={"grade": "categorical"}, labels={"sz": "size"}).set_index("column")
    assert report.loc["grade", "type"] == "categorical" and pd.isna(report.loc["grade", "ks_statistic"])
    assert report.loc["size", "type"] == "numeric"


def test_permutation_importance_lists_only_the_model_features_under_their_names():
    """Importance permuted every raw column, so a dropped or left-out column was listed (at zero)."""
    frame = schema_frame()
    spec = schema_spec(frame)
    result = train(spec, frame)
    importance = evaluation_frames(result)["permutation_importance"]
    assert sorted(importance["feature"]) == sorted(data_schema(frame, spec).features)
    rebuilt = holdout_frames(result.pipeline, spec, holdout_split(spec, frame), result.metric)  # Compare's path
    assert sorted(rebuilt["permutation_importance"]["feature"]) == sorted(importance["feature"])
    assert "size" in set(importance["feature"]) and not {"sz", "noise", "comment", "record_id"} & set(
        importance["feature"])

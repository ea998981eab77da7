"""Column types: reusing a dataset's raw-column types must give what inferring under the definition gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_core.compiler.columns import (
    default_steps,
    infer_column,
    infer_schema,
    infer_schema_reusing,
    merge_default_steps,
)
from pipeline_core.definition import steps as st
from pipeline_core.definition.spec import ColumnsSpec, PipelineSpec
from pipeline_core.errors import DataError


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 300
    return pd.DataFrame({
        "ref": rng.permutation(n) * 1000 + 7,  # unique integers, not a sequence: an ID only by its name
        "row": np.arange(n),  # a sequence: an ID whatever its name
        "age": rng.integers(18, 90, n),
        "income": rng.normal(50_000, 9_000, n),
        "city": rng.choice(["paris", "lyon", "nice"], n),
        "note": [f"a rather long free text note number {i}" for i in range(n)],
        "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 30, n), unit="D"),
        "same": 1,
        "label": rng.choice(["yes", "no"], n),
    })


SPECS = [
    PipelineSpec(),
    PipelineSpec(target="label"),
    PipelineSpec(target="age", columns=ColumnsSpec(rename={"ref": "customer_id"})),  # becomes an ID by name
    PipelineSpec(target="label", columns=ColumnsSpec(rename={"row": "position", "city": "town", "income": "pay"})),
    PipelineSpec(target="label", columns=ColumnsSpec(rename={"age": "city", "city": "age"})),  # a swap
    PipelineSpec(target="label", columns=ColumnsSpec(select=["note", "ref_id", "day"], rename={"ref": "ref_id"})),
    PipelineSpec(target="label", columns=ColumnsSpec(types={"age": "categorical", "ref": "numeric"})),
]


@pytest.mark.parametrize("spec", SPECS, ids=range(len(SPECS)))
def test_reusing_raw_types_gives_the_schema_and_steps_of_a_fresh_inference(frame, spec):
    expected = infer_schema(frame, spec)
    got = infer_schema_reusing(infer_schema(frame), frame, spec)
    assert got == expected
    assert list(got) == list(expected)  # same order, so the same default steps in the same order
    assert default_steps(got) == default_steps(expected)


def test_a_rename_to_an_id_like_name_is_looked_at_again(frame):
    spec = PipelineSpec(columns=ColumnsSpec(rename={"ref": "customer_id"}))
    raw = infer_schema(frame)
    assert raw["ref"].type == "numeric"
    assert infer_schema_reusing(raw, frame, spec)["customer_id"].type == "id"


def test_only_renamed_numeric_columns_are_inferred_again(frame, monkeypatch):
    from pipeline_core.compiler import columns

    raw = infer_schema(frame)
    seen: list[str] = []
    real = columns.infer_column
    monkeypatch.setattr(columns, "infer_column", lambda values: seen.append(values.name) or real(values))
    spec = PipelineSpec(target="label", columns=ColumnsSpec(rename={"income": "pay", "city": "town"}))
    infer_schema_reusing(raw, frame, spec)
    assert seen == ["pay"]


def test_a_missing_selected_column_is_refused_as_before(frame):
    spec = PipelineSpec(columns=ColumnsSpec(select=["nope"]))
    with pytest.raises(DataError, match="nope"):
        infer_schema_reusing(infer_schema(frame), frame, spec)


# ---- issue 15 point 8: default steps that cannot produce constant or empty features ---------------------------


def test_date_only_columns_get_date_parts_without_the_hour():
    frame = pd.DataFrame({
        "day": pd.date_range("2020-01-01", periods=60),
        "day_text": [f"2021-03-{i % 28 + 1:02d}" for i in range(60)],
        "stamp": pd.date_range("2020-01-01", periods=60, freq="7h"),
        "y": range(60),
    })
    schema = infer_schema(frame)
    assert (schema["day"].date_only, schema["day_text"].date_only, schema["stamp"].date_only) == (True, True, False)
    parts = {tuple(s.columns) if isinstance(s.columns, list) else s.columns: s.parts
             for s in default_steps(schema) if s.kind == "date_parts"}
    assert parts == {("day", "day_text"): ["year", "month", "day", "dayofweek"],
                     ("stamp",): ["year", "month", "day", "dayofweek", "hour"]}
    only_dates = infer_schema(frame.drop(columns="stamp"))
    [step] = [s for s in default_steps(only_dates) if s.kind == "date_parts"]
    assert (step.columns, "hour" in step.parts) == ("datetime", False)


def test_suggested_steps_merge_with_the_users_own_and_cover_every_column_type():
    """Issue 15 point 6: a step added by hand no longer stops the defaults; nothing of the user's moves."""
    frame = pd.DataFrame({"x": [1.0, None, 3.0] * 20, "city": ["a", "b", None] * 20,
                          "when": pd.date_range("2020-01-01", periods=60), "y": [0, 1, 1] * 20})
    schema = infer_schema(frame, PipelineSpec(target="y"))
    mine = [st.FilterRows(column="x", op=">", value=0), st.Polynomial(columns="numeric"),
            st.Ordinal(columns="categorical")]
    merged = merge_default_steps(mine, schema)
    assert [s for s in merged if s in mine] == mine  # the user's steps, in their order
    kinds = [s.kind for s in merged]
    assert "onehot" not in kinds  # the user's ordinal encoding covers the labels
    assert kinds.index("impute") < kinds.index("polynomial")  # gaps are filled before the user's polynomial
    assert {"drop_missing_target", "date_parts", "scale"} <= set(kinds)
    assert merge_default_steps(merged, schema) == merged  # suggesting again adds nothing
    assert merge_default_steps([], schema) == default_steps(schema)


def test_a_few_long_labels_repeated_are_categorical_and_varied_prose_is_text():
    labels = ["Community-acquired pneumonia with pleural effusion", "Acute decompensated heart failure, reduced"]
    repeated = infer_column(pd.Series(labels * 60, name="diagnosis"))
    prose = infer_column(pd.Series([f"the patient reported a mild cough on day {i}" for i in range(120)], name="n"))
    assert (repeated.type, prose.type) == ("categorical", "text")
    assert "several words" in repeated.reason

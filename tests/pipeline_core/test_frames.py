"""Data-page helpers: paging, column plans, frame hashes and merging on keys with a name mapping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.errors import DataError, SpecError
from pipeline_core.io import frames


def test_pages_cover_every_row_and_clamp_out_of_range_pages():
    frame = pd.DataFrame({"x": range(250)})
    assert frames.n_pages(len(frame), 100) == 3
    assert list(frames.page_of(frame, 3, 100)["x"]) == list(range(200, 250))
    assert list(frames.page_of(frame, 9, 100)["x"]) == list(range(200, 250))
    assert len(frames.page_of(frame, 0, 100)) == 100
    assert frames.n_pages(0, 100) == 1


def test_frame_hash_changes_with_values_names_and_types():
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    same = frames.stored_table_sha256(frame.copy())
    assert frames.stored_table_sha256(frame) == same
    assert frames.stored_table_sha256(frame.assign(a=[1, 3])) != same
    assert frames.stored_table_sha256(frame.rename(columns={"a": "c"})) != same
    assert frames.stored_table_sha256(frame.astype({"a": "float64"})) != same


def test_the_two_frame_hashes_differ_exactly_where_their_meanings_do():
    """A stored table's identity counts row labels; the training-values hash (provenance) does not."""
    from pipeline_core.training.provenance import provenance

    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    relabelled = frame.set_axis([10, 11])
    assert frames.stored_table_sha256(relabelled) != frames.stored_table_sha256(frame)
    assert frames.training_values_sha256(relabelled) == frames.training_values_sha256(frame)
    assert frames.training_values_sha256(frame.assign(a=[1, 3])) != frames.training_values_sha256(frame)
    assert provenance(PipelineSpec(), frame)["frame_sha256"] == frames.training_values_sha256(frame)


def test_check_rename_drops_no_op_renames_and_refuses_clashes():
    assert frames.check_rename(["a", "b"], {"a": "a", "b": " B "}) == {"b": "B"}
    with pytest.raises(SpecError, match="'b'"):
        frames.check_rename(["a", "b"], {"a": "b"})


def test_column_plan_round_trips_select_order_and_renames():
    columns = ["a", "b", "c"]
    plan = frames.column_plan(columns, ["C", "a"], {"c": "C"})
    assert list(plan["column"]) == ["c", "a", "b"]
    assert list(plan["keep"]) == [True, True, False]
    assert frames.plan_to_spec(plan, columns) == (["C", "a"], {"c": "C"})
    unchanged = frames.column_plan(columns, None, {})
    assert frames.plan_to_spec(unchanged, columns) == (None, {})


def test_plan_must_keep_a_column():
    plan = frames.column_plan(["a"], None, {}).assign(keep=False)
    with pytest.raises(SpecError, match="keep at least one"):
        frames.plan_to_spec(plan, ["a"])


def test_spec_columns_mirror_rename_and_select_and_keep_the_target():
    assert frames.spec_columns(["a", "b", "y"], ["B"], {"b": "B"}, target="y") == ["B", "y"]
    assert frames.spec_columns(["a", "b"], ["gone", "a"], {}) == ["a"]
    assert frames.spec_columns(["a", "b"], None, {"a": "A"}) == ["A", "b"]


def test_suggest_mapping_matches_names_that_differ_in_case_or_punctuation():
    assert frames.suggest_mapping(["customer_id", "city"], ["Customer ID", "city", "spend"]) == {
        "Customer ID": "customer_id"
    }


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [1, 2, 3], "city": ["Paris", "Lyon", "Nice"]})


@pytest.fixture
def orders() -> pd.DataFrame:
    return pd.DataFrame({"CustID": [1, 1, 3, 4], "amount": [10.0, 20.0, 5.0, 7.0], "city": ["P", "P", "N", "X"]})


def test_merge_maps_differing_key_names_and_suffixes_shared_columns(customers, orders):
    merged = frames.merge_frames(customers, orders, on=["customer_id"], mapping={"CustID": "customer_id"})
    assert list(merged.columns) == ["customer_id", "city", "amount", "city_right"]
    assert list(merged["customer_id"]) == [1, 1, 3]
    assert list(merged["amount"]) == [10.0, 20.0, 5.0]


@pytest.mark.parametrize(("how", "rows"), [("inner", 3), ("left", 4), ("right", 4), ("outer", 5)])
def test_merge_join_kinds_give_the_expected_number_of_rows(customers, orders, how, rows):
    merged = frames.merge_frames(customers, orders, on=["customer_id"], mapping={"CustID": "customer_id"}, how=how)
    assert len(merged) == rows


def test_merge_aligns_numeric_and_text_keys(customers):
    other = pd.DataFrame({"customer_id": ["1", "3"], "score": [0.5, 0.7]})
    merged = frames.merge_frames(customers, other, on=["customer_id"])
    assert list(merged["score"]) == [0.5, 0.7]


def test_merge_refuses_keys_that_are_numbers_on_one_side_and_words_on_the_other(customers):
    other = pd.DataFrame({"customer_id": ["one", "two"], "score": [1, 2]})
    with pytest.raises(DataError, match="numbers in one table and text"):
        frames.merge_frames(customers, other, on=["customer_id"])


def test_merge_names_missing_keys_and_bad_mappings(customers, orders):
    with pytest.raises(DataError, match="not in the second table; map them first"):
        frames.merge_frames(customers, orders, on=["customer_id"])
    with pytest.raises(DataError, match="choose at least one key"):
        frames.merge_frames(customers, orders, on=[])
    with pytest.raises(DataError, match="not in the second table"):
        frames.merge_frames(customers, orders, on=["customer_id"], mapping={"nope": "customer_id"})
    with pytest.raises(DataError, match="already has column"):
        frames.merge_frames(customers, orders, on=["city"], mapping={"CustID": "city"})


def test_merge_refuses_a_result_that_would_explode(monkeypatch):
    monkeypatch.setattr(frames, "MAX_MERGE_ROWS", 50)
    left = pd.DataFrame({"k": np.zeros(10), "a": range(10)})
    right = pd.DataFrame({"k": np.zeros(10), "b": range(10)})
    with pytest.raises(DataError, match="about 100 rows"):
        frames.merge_frames(left, right, on=["k"])

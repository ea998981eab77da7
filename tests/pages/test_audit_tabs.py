"""Compare's "Bias by group" and "Errors" tabs on real runs trained with a known bias."""

from __future__ import annotations

from tests.apptest import store_frame, texts
from tests.pages.test_compare_page import by_key, open_run, train_now
from tests.pipeline_core.group_frames import (
    SENSITIVE,
    houses_spec,
    lending_frame,
    lending_spec,
    sliced_regression_frame,
)


def test_bias_tab_flags_the_group_the_labels_treat_differently(store, app):
    dataset_id = store_frame(store, lending_frame(biased=True, small_group_rows=60), "loans")
    run = train_now(store, dataset_id, lending_spec())
    at = open_run(app, run, "Bias by group")
    assert not at.exception
    assert "Choose at least one sensitive column" in texts(at, "info")
    assert SENSITIVE in at.multiselect(key="compare_bias_columns").options  # dropped from the features, offered here
    assert at.selectbox(key="compare_bias_positive").value == "yes"
    at.multiselect(key="compare_bias_columns").set_value([SENSITIVE]).run()
    assert not at.exception
    flagged = texts(at, "error")
    assert "Accuracy differs by" in flagged and "'A' (highest) and 'B' (lowest)" in flagged
    assert "too few to judge" in texts(at, "warning") and "C" in texts(at, "warning")
    groups = by_key(at.container, "compare_bias_groups").dataframe[0].value
    assert list(groups["Group"]) == ["A", "B", "C"]
    assert groups.set_index("Group").loc["C", "Judged"] == "too small"
    gaps = by_key(at.container, "compare_bias_gaps").dataframe[0].value
    assert gaps.set_index("Metric").loc["Accuracy", "Verdict"] == "Disparity"
    balance = by_key(at.container, "compare_balance_groups").dataframe[0].value
    assert {"yes (rate)", "no (rate)", "Imbalance"} <= set(balance.columns)
    assert {"compare_bias_chart", "compare_balance_chart"} <= {c.key for c in at.get("plotly_chart")}
    assert "fewer than 30 rows is too small to judge" in " ".join(c.value for c in at.caption)
    at.selectbox(key="compare_bias_metric").set_value("true_positive_rate").run()
    assert not at.exception


def test_bias_tab_finds_nothing_when_groups_are_treated_alike(store, app):
    dataset_id = store_frame(store, lending_frame(biased=False, n=3000), "loans")
    run = train_now(store, dataset_id, lending_spec())
    at = open_run(app, run, "Bias by group")
    at.multiselect(key="compare_bias_columns").set_value([SENSITIVE]).run()
    assert not at.exception and not at.error
    assert "No metric differs between groups beyond the rule" in texts(at, "success")


def test_errors_tab_puts_the_planted_slice_first(store, app):
    frame = sliced_regression_frame()
    run = train_now(store, store_frame(store, frame, "houses"), houses_spec(frame))
    at = open_run(app, run, "Errors")
    assert not at.exception and not at.error
    slices = by_key(at.container, "compare_slices").dataframe[0].value
    assert (slices.iloc[0]["Column"], slices.iloc[0]["Slice"]) == ("region", "north")
    worst = by_key(at.container, "compare_worst_rows").dataframe[0].value
    assert worst["absolute error"].is_monotonic_decreasing
    assert "compare_slices_chart" in {c.key for c in at.get("plotly_chart")}
    at.session_state["compare_tab"] = "Bias by group"
    at.run()
    at.multiselect(key="compare_bias_columns").set_value(["region"]).run()
    assert not at.exception
    assert "MAE of " in texts(at, "error") and "times that of 'north' (highest" in texts(at, "error")
    assert "compare_bias_positive" not in {s.key for s in at.selectbox}  # no classes in regression


def test_a_run_without_holdout_rows_is_explained_without_a_traceback(store, app):
    dataset_id = store_frame(store, lending_frame(biased=False), "loans")
    run = train_now(store, dataset_id, lending_spec(holdout=0.0))
    at = open_run(app, run, "Errors")
    assert not at.exception
    assert "holds out no rows" in texts(at, "error")


def test_train_shows_label_balance_by_group_before_any_run(store, app):
    dataset_id = store_frame(store, lending_frame(biased=True, small_group_rows=20), "loans")
    at = app("pages/train.py", dataset_id=dataset_id, spec=lending_spec().to_dict())
    assert not at.exception
    options = at.multiselect(key="train_balance_columns").options
    assert SENSITIVE in options and "approved" not in options  # the dropped column is offered, the target not
    at.multiselect(key="train_balance_columns").set_value([SENSITIVE]).run()
    assert not at.exception and not at.error
    table = by_key(at.container, "train_balance_groups").dataframe[0].value
    assert list(table["Group"]) == ["A", "B", "C"] and table["Rows"].sum() == 1200
    assert {"yes (rate)", "no (rate)", "Imbalance"} <= set(table.columns)
    assert "1 group(s) have fewer than 30 rows: C" in texts(at, "warning")
    assert "train_balance_chart" in {c.key for c in at.get("plotly_chart")}

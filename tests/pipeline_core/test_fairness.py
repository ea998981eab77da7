"""Bias by group: real models trained on frames with a known bias, measured on their hold-out rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pipeline_core.analysis.fairness import fairness_report
from pipeline_core.analysis.groups import GroupRule, data_balance, group_rows, resolve_columns
from pipeline_core.errors import DataError
from pipeline_core.training.holdout import holdout_split
from pipeline_core.training.train import train
from tests.pipeline_core.group_frames import SENSITIVE, TARGET, lending_frame, lending_spec


def holdout_report(frame: pd.DataFrame, **rule) -> object:
    """Train without the sensitive column, then group the hold-out rows by it (read from the raw rows)."""
    spec = lending_spec()
    result = train(spec, frame)
    split = holdout_split(spec, frame)
    groups = group_rows(split.X_test, resolve_columns(split.X_test, [SENSITIVE], target=TARGET))
    return fairness_report(split.y_test, result.pipeline.predict(split.X_test), groups, "classification",
                           classes=list(result.pipeline.classes_), rule=GroupRule(**rule))


def test_the_sensitive_column_is_not_a_feature_but_is_in_the_holdout_rows():
    frame = lending_frame(biased=True)
    spec = lending_spec()
    result = train(spec, frame)
    assert SENSITIVE not in result.pipeline[0].types  # the model never reads it
    assert SENSITIVE in holdout_split(spec, frame).X_test  # the report can


def test_a_group_the_labels_treat_differently_is_flagged():
    report = holdout_report(lending_frame(biased=True))
    gaps = {g.metric: g for g in report.gaps}
    assert gaps["accuracy"].status == "disparity"
    assert gaps["accuracy"].lowest_group == "B" and gaps["accuracy"].highest_group == "A"
    low, high = gaps["accuracy"].difference_interval
    assert 0.1 < low <= gaps["accuracy"].difference <= high
    accuracy = {g.group: g.metrics["accuracy"] for g in report.groups}
    assert accuracy["A"] > 0.85 and accuracy["B"] < 0.7
    assert report.positive_label == "yes"
    assert "accuracy" in {g.metric for g in report.flagged}


def test_groups_treated_alike_are_not_flagged():
    report = holdout_report(lending_frame(biased=False, n=3000))
    assert report.flagged == []
    assert {g.status for g in report.gaps} == {"ok"}
    assert all(not g.too_small for g in report.groups)


def test_a_small_group_is_shown_flagged_and_left_out_of_the_gaps():
    report = holdout_report(lending_frame(biased=False, small_group_rows=40))  # about 12 hold-out rows
    small = next(g for g in report.groups if g.group == "C")
    assert small.too_small and small.size < 30 and small.intervals == {}
    assert small.metrics["accuracy"] is not None  # shown all the same
    assert report.small_groups == ["C"]
    assert {g.highest_group for g in report.gaps} | {g.lowest_group for g in report.gaps} <= {"A", "B"}
    assert "fewer than 30 rows is too small to judge" in report.rule_text


def test_a_rate_needs_enough_rows_of_its_class():
    groups = group_rows(pd.DataFrame({"g": ["a"] * 40 + ["b"] * 40}), ["g"])
    truth = pd.Series(["yes"] * 3 + ["no"] * 37 + ["yes"] * 20 + ["no"] * 20)
    report = fairness_report(truth, truth, groups, "classification", classes=["no", "yes"])
    rates = {g.group: g.metrics["true_positive_rate"] for g in report.groups}
    assert rates == {"a": None, "b": 1.0}  # 3 positives in group a: too few for a rate


def test_regression_errors_are_compared_as_a_ratio():
    rng = np.random.default_rng(0)
    groups = group_rows(pd.DataFrame({"g": ["a"] * 200 + ["b"] * 200}), ["g"])
    truth = pd.Series(rng.normal(size=400))
    noise = np.r_[rng.normal(0, 0.5, 200), rng.normal(0, 2, 200)]
    report = fairness_report(truth, truth + noise, groups, "regression")
    gaps = {g.metric: g for g in report.gaps}
    assert gaps["mae"].status == "disparity" and gaps["mae"].ratio < 0.5 and gaps["mae"].highest_group == "b"
    fair = fairness_report(truth, truth + rng.normal(0, 1, 400), groups, "regression")
    assert fair.flagged == []


def test_several_columns_give_one_group_per_combination_and_numbers_are_cut_into_ranges():
    frame = pd.DataFrame({"sex": ["F", "M"] * 100, "age": np.arange(200) % 70 + 18})
    groups = group_rows(frame, ["sex", "age"])
    labels = set(groups.labels())
    assert len(labels) == 8 and all(label.startswith(("sex=F, age=", "sex=M, age=")) for label in labels)
    assert "cut into 4 ranges" in groups.notes[0]


def test_data_balance_before_training():
    frame = lending_frame(biased=True, small_group_rows=10)
    groups = group_rows(frame, [SENSITIVE])
    balance = data_balance(frame[TARGET], groups, "classification")
    by_group = {g.group: g for g in balance.groups}
    assert sum(g.rows for g in balance.groups) == len(frame)
    assert by_group["C"].too_small and not by_group["A"].too_small
    assert abs(sum(by_group["A"].label_rates.values()) - 1) < 1e-9
    assert by_group["A"].imbalance >= 1
    assert by_group["B"].label_rates["yes"] == pytest.approx((frame.loc[frame[SENSITIVE] == "B", TARGET] == "yes")
                                                             .mean())


def test_the_report_is_strict_json():
    report = holdout_report(lending_frame(biased=False, small_group_rows=40))
    document = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert {"groups", "differences", "ratios", "flags", "small_groups", "rule"} <= set(document)
    assert {"group", "size", "metrics", "too_small"} <= set(document["groups"][0])


@pytest.mark.parametrize(("names", "message"), [
    (["nope"], "sensitive column 'nope' is not in the data"),
    ([TARGET], "is the target"),
    ([" ", ""], "name at least one sensitive column"),
])
def test_bad_sensitive_columns_are_named(names, message):
    with pytest.raises(DataError, match=message):
        resolve_columns(lending_frame(biased=False), names, target=TARGET)


def test_a_renamed_column_is_found_by_its_new_name():
    frame = lending_frame(biased=False)
    assert resolve_columns(frame, ["group"], {SENSITIVE: "group"}) == [SENSITIVE]


def test_too_many_groups_are_refused():
    with pytest.raises(DataError, match="at most 60 can be compared"):
        group_rows(pd.DataFrame({"id": [f"x{i}" for i in range(100)]}), ["id"])


def test_an_unknown_positive_class_is_refused():
    groups = group_rows(pd.DataFrame({"g": ["a", "b"] * 20}), ["g"])
    with pytest.raises(DataError, match="positive class 'maybe' is not one of the model's classes: no, yes"):
        fairness_report(pd.Series(["yes", "no"] * 20), ["yes"] * 40, groups, "classification", positive="maybe",
                        classes=["no", "yes"])


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_bootstrap_counts_the_metrics_as_fairlearn_does(task):
    """The intervals' per-group metrics, on the sample itself, equal the MetricFrame's point estimates."""
    from pipeline_core.analysis.group_bootstrap import classification_parts, group_metrics, regression_parts

    rng = np.random.default_rng(1)
    groups = group_rows(pd.DataFrame({"g": rng.choice(["a", "b", "c"], 500, p=[0.5, 0.45, 0.05])}), ["g"])
    if task == "classification":
        truth = pd.Series(rng.choice(["no", "yes"], 500))
        predicted = np.where(rng.random(500) < 0.7, truth, rng.choice(["no", "yes"], 500))
        parts = classification_parts(truth.to_numpy(dtype=str), predicted.astype(str), "yes")
    else:
        truth = pd.Series(rng.normal(size=500))
        predicted = truth.to_numpy() + rng.normal(size=500)
        parts = regression_parts(truth.to_numpy(), predicted)
    report = fairness_report(truth, predicted, groups, task, rule=GroupRule(min_group_rows=1, min_class_rows=1))
    codes = pd.Categorical(groups.labels(), categories=["a", "b", "c"]).codes
    counted = group_metrics(codes, 3, parts, np.arange(500), min_class_rows=1)
    for row in report.groups:
        for name, value in row.metrics.items():
            assert counted[name][["a", "b", "c"].index(row.group)] == pytest.approx(value)
            low, high = row.intervals[name]
            assert low <= value + 1e-9 and high >= value - 1e-9 or row.group == "c"  # 25 rows: may miss


def test_intervals_on_ten_thousand_rows_in_eight_groups_are_computed():
    rng = np.random.default_rng(0)
    groups = group_rows(pd.DataFrame({"g": rng.choice(list("abcdefgh"), 10_000)}), ["g"])
    truth = pd.Series(rng.integers(0, 2, 10_000))
    report = fairness_report(truth, rng.integers(0, 2, 10_000), groups, "classification",
                             rule=GroupRule(n_boot=200))
    assert len(report.groups) == 8 and all(len(g.intervals["accuracy"]) == 2 for g in report.groups)
    assert report.flagged == []  # random predictions: every group alike

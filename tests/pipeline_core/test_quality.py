"""Data-quality rules: counts, examples, validation of rule parameters, safe regular expressions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_core.analysis.quality import MAX_VALUE_LENGTH, check, parse_rules, violating_rows
from pipeline_core.errors import DataError, SpecError


@pytest.fixture
def people() -> pd.DataFrame:
    return pd.DataFrame({
        "id": [1, 2, 3, 3, 5, 6],
        "age": [25, np.nan, 140, 31, -2, np.nan],
        "country": ["FR", "DE", "fr", "FR", None, "XX"],
        "code": ["AB1234", "AB12", "ZZ9999", "ab1234", None, "CD0001"],
    })


def test_not_null_counts_missing_values_and_gives_examples(people):
    report = check(people, parse_rules([{"kind": "not_null", "column": "age"}]))
    row = report.iloc[0]
    assert row["violations"] == 2
    assert row["example_rows"] == "1, 5"
    assert row["example_values"] == "missing, missing"
    assert row["share"] == pytest.approx(2 / 6)


def test_range_counts_values_outside_the_bounds_but_not_missing_ones(people):
    report = check(people, parse_rules([{"kind": "range", "column": "age", "min": 0, "max": 120}]))
    assert report.loc[0, "violations"] == 2
    assert report.loc[0, "example_values"] == "140.0, -2.0"
    assert report.loc[0, "rule"] == "In range [0, 120]"


def test_range_counts_text_that_is_not_a_number():
    frame = pd.DataFrame({"x": ["1", "2", "three"]})
    report = check(frame, parse_rules([{"kind": "range", "column": "x", "min": 0}]))
    assert report.loc[0, "violations"] == 1


def test_allowed_values_are_compared_as_text_and_case_sensitive(people):
    report = check(people, parse_rules([{"kind": "allowed_values", "column": "country", "values": ["FR", "DE"]}]))
    assert report.loc[0, "violations"] == 2  # "fr" and "XX"; the missing value is not checked


def test_allowed_values_on_a_numeric_column_accepts_numbers_given_as_text(people):
    report = check(people, parse_rules([{"kind": "allowed_values", "column": "id", "values": ["1", "2", "3"]}]))
    assert report.loc[0, "violations"] == 2


def test_unique_flags_every_row_holding_a_repeated_value(people):
    report = check(people, parse_rules([{"kind": "unique", "column": "id"}]))
    assert report.loc[0, "violations"] == 2
    assert report.loc[0, "example_rows"] == "2, 3"


def test_regex_must_match_the_whole_value(people):
    report = check(people, parse_rules([{"kind": "regex", "column": "code", "pattern": r"[A-Z]{2}\d{4}"}]))
    assert report.loc[0, "violations"] == 2  # "AB12" is too short, "ab1234" is lower case


def test_regex_counts_overlong_values_as_violations_without_matching_them():
    frame = pd.DataFrame({"t": ["a" * (MAX_VALUE_LENGTH + 1), "a"]})
    report = check(frame, parse_rules([{"kind": "regex", "column": "t", "pattern": "a+"}]))
    assert report.loc[0, "violations"] == 1


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(a*)*b", r"(?:x|(y+))*z"])
def test_regex_with_nested_repetition_is_refused(pattern):
    with pytest.raises(SpecError, match="nested repetition"):
        parse_rules([{"kind": "regex", "column": "t", "pattern": pattern}])


def test_invalid_regex_names_the_rule_field():
    with pytest.raises(SpecError, match=r"rules\[0\]\.pattern: not a valid regular expression"):
        parse_rules([{"kind": "regex", "column": "t", "pattern": "([a-z"}])


def test_range_without_bounds_or_with_crossed_bounds_is_refused():
    with pytest.raises(SpecError, match="minimum, a maximum or both"):
        parse_rules([{"kind": "range", "column": "age"}])
    with pytest.raises(SpecError, match="above the maximum"):
        parse_rules([{"kind": "range", "column": "age", "min": 5, "max": 1}])


def test_unknown_rule_kind_is_refused():
    with pytest.raises(SpecError, match=r"rules\[0\]"):
        parse_rules([{"kind": "sorted", "column": "age"}])


def test_rules_on_missing_columns_are_named(people):
    with pytest.raises(DataError, match="salary"):
        check(people, parse_rules([{"kind": "not_null", "column": "salary"}]))


def test_violating_rows_returns_whole_rows(people):
    rule = parse_rules([{"kind": "not_null", "column": "age"}])[0]
    rows = violating_rows(people, rule)
    assert list(rows.index) == [1, 5]
    assert list(rows.columns) == list(people.columns)


def test_rules_round_trip_as_json(people):
    raw = [{"kind": "range", "column": "age", "min": 0.0, "max": None}, {"kind": "unique", "column": "id"}]
    rules = parse_rules(raw)
    assert parse_rules([r.model_dump(mode="json") for r in rules]) == rules
    assert len(check(people, rules)) == 2

"""Leakage warnings: identifiers and near copies of the target are named; honest features are not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_core.errors import DataError
from pipeline_core.leakage import leakage_warnings


@pytest.fixture
def honest() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(size=n)
    return pd.DataFrame({
        "x": x,
        "city": rng.choice(["paris", "lyon", "nice"], n),
        "price": 3 * x + rng.normal(size=n),
        "label": np.where(x + rng.normal(size=n) > 0, "yes", "no"),
    })


def test_honest_features_raise_no_warning(honest):
    assert leakage_warnings(honest, "price") == []
    assert leakage_warnings(honest, "label") == []


def test_identifier_columns_are_named(honest):
    frame = honest.assign(customer_id=np.arange(1000, 1000 + len(honest)))
    warnings = leakage_warnings(frame, "label")
    assert len(warnings) == 1
    assert "'customer_id' looks like a row identifier" in warnings[0]


def test_a_numeric_near_copy_of_a_numeric_target_is_named(honest):
    frame = honest.assign(price_eur=honest["price"] * 0.92 + 0.001)
    warnings = leakage_warnings(frame, "price")
    assert any("'price_eur' correlates +1.000" in w for w in warnings)


def test_a_relabelled_copy_of_a_categorical_target_is_named(honest):
    frame = honest.assign(outcome_code=honest["label"].map({"yes": 1, "no": 0}))
    warnings = leakage_warnings(frame, "label")
    assert len(warnings) == 1
    assert "'outcome_code' maps one-to-one onto the target 'label'" in warnings[0]


def test_a_column_that_fixes_the_target_is_named(honest):
    detail = np.where(honest["label"] == "yes", np.where(honest["x"] > 0, "won-a", "won-b"), "lost")
    warnings = leakage_warnings(honest.assign(stage=detail), "label")
    assert any("every value of 'stage' goes with a single target value" in w for w in warnings)


def test_an_unknown_target_is_refused(honest):
    with pytest.raises(DataError, match="'nope'"):
        leakage_warnings(honest, "nope")

"""Bundled samples load offline, are deterministic, and the generated ones are as messy as promised."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline_core.errors import DataError
from pipeline_core.io.samples import CHURN, HOUSES, SAMPLE_INFO, SAMPLES, load_sample, sample_names


@pytest.mark.parametrize("name", sample_names())
def test_every_sample_loads_with_its_target(name):
    frame = load_sample(name)
    info = SAMPLE_INFO[name]
    assert len(frame) > 100 and info.target in frame.columns
    assert frame[info.target].notna().all()
    if info.task == "classification":
        assert frame[info.target].map(type).eq(str).all()  # class names, not codes
    else:
        assert pd.api.types.is_float_dtype(frame[info.target])


def test_names_registry_and_info_agree():
    assert sample_names() == list(SAMPLES) == list(SAMPLE_INFO)
    assert {"iris", "wine", "breast_cancer", "diabetes", CHURN, HOUSES} == set(sample_names())


def test_classification_targets_use_class_names():
    assert set(load_sample("iris")["target"]) == {"setosa", "versicolor", "virginica"}
    assert set(load_sample("breast_cancer")["target"]) == {"malignant", "benign"}


def test_unknown_sample_lists_the_choices():
    with pytest.raises(DataError, match="no sample named 'titanic'.*iris"):
        load_sample("titanic")


def test_load_returns_a_fresh_copy():
    first = load_sample(CHURN)
    first.loc[0, "age"] = -1
    assert load_sample(CHURN).loc[0, "age"] != -1


def test_churn_is_seeded_and_messy():
    frame = load_sample(CHURN)
    pd.testing.assert_frame_equal(frame, load_sample(CHURN))
    assert 1800 <= len(frame) <= 2200
    assert set(frame["churned"]) == {"yes", "no"} and 0.15 < (frame["churned"] == "yes").mean() < 0.4
    assert frame["customer_id"].is_unique
    assert frame["data_source"].nunique() == 1
    assert frame["signup_date"].dtype.kind == "M"
    for col in ["age", "monthly_charges", "plan", "payment_method", "review"]:
        assert frame[col].isna().any(), col
    assert (frame["age"] == 999).any() and frame["monthly_charges"].max() > 5 * frame["monthly_charges"].median()
    plan_share = frame["plan"].value_counts(normalize=True)
    assert plan_share.min() < 0.03  # a rare level
    assert frame["region"].str.strip().str.lower().nunique() < frame["region"].nunique()  # inconsistent spelling


def test_churn_reviews_carry_signal_about_the_target():
    frame = load_sample(CHURN)
    text = frame["review"].fillna("").str.lower()
    churned = frame["churned"] == "yes"
    negative = text.str.contains("expensive|slow|cancel|never answers|disappointed")
    positive = text.str.contains("great value|reliable|recommend|love")
    assert negative[churned].mean() > 2 * negative[~churned].mean()
    assert positive[~churned].mean() > 2 * positive[churned].mean()
    assert text.str.split().str.len()[text != ""].mean() >= 4


def test_house_prices_is_a_learnable_regression():
    frame = load_sample(HOUSES)
    pd.testing.assert_frame_equal(frame, load_sample(HOUSES))
    assert frame["price"].min() > 0
    assert frame[["area_sqm", "price"]].corr().iloc[0, 1] > 0.5
    assert frame["neighbourhood"].nunique() == 5 and frame["lot_size_sqm"].isna().any()

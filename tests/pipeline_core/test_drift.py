"""Drift report: PSI and KS per column, on real data shifted on purpose."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_core.analysis.drift import (
    COLUMNS,
    drift_from_reference,
    drift_report,
    drifted_columns,
    population_stability_index,
)
from pipeline_core.analysis.drift_reference import DriftReference, drift_reference
from pipeline_core.errors import DataError


def _halves(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    shuffled = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    middle = len(shuffled) // 2
    return shuffled.iloc[:middle], shuffled.iloc[middle:].reset_index(drop=True)


def test_report_has_one_row_per_training_column(binary_frame):
    report = drift_report(binary_frame, binary_frame)
    assert list(report.columns) == COLUMNS
    assert set(report["column"]) == set(map(str, binary_frame.columns))


def _stable(n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({
        "income": rng.lognormal(10, 0.5, n),
        "age": rng.integers(18, 90, n),
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1]),
        "signup": pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
        "note": [f"free text {i}" for i in range(n)],
    })


def test_random_halves_of_the_same_data_do_not_drift():
    train, new = _halves(_stable())
    report = drift_report(train, new)
    assert drifted_columns(report) == []
    assert (report["psi"] < 0.1).all()


def test_free_text_does_not_drift_just_because_every_value_is_new(binary_frame):
    train, new = _halves(binary_frame)
    assert not drift_report(train, new).set_index("column").loc["comment", "drifted"]


def test_shifted_numeric_column_drifts_by_psi_and_ks(binary_frame):
    train, new = _halves(binary_frame)
    new = new.assign(mean_radius=new["mean_radius"] * 1.5)
    row = drift_report(train, new).set_index("column").loc["mean_radius"]
    assert row["type"] == "numeric"
    assert row["drifted"]
    assert row["psi"] >= 0.2
    assert row["ks_statistic"] > 0.3
    assert row["ks_pvalue"] < 0.001


def test_changed_category_mix_drifts_without_a_ks_test(binary_frame):
    train, new = _halves(binary_frame)
    new = new.assign(city="Paris")
    row = drift_report(train, new).set_index("column").loc["city"]
    assert row["type"] == "categorical"
    assert row["drifted"]
    assert np.isnan(row["ks_pvalue"])


def test_column_arriving_empty_drifts(binary_frame):
    train, new = _halves(binary_frame)
    new = new.assign(mean_area=np.nan)
    row = drift_report(train, new).set_index("column").loc["mean_area"]
    assert row["drifted"]
    assert "missing" in row["note"]


def test_missing_column_is_reported_not_raised(binary_frame):
    train, new = _halves(binary_frame)
    report = drift_report(train, new.drop(columns=["mean_perimeter"])).set_index("column")
    assert report.loc["mean_perimeter", "drifted"]
    assert report.loc["mean_perimeter", "note"] == "missing from the new data"
    assert not report.loc["mean_radius", "drifted"]


def test_dates_are_compared_as_times():
    train, new = _halves(_stable())
    shifted = new.assign(signup=new["signup"] + pd.Timedelta(days=700))
    report = drift_report(train, shifted).set_index("column")
    assert report.loc["signup", "type"] == "datetime"
    assert report.loc["signup", "drifted"]
    assert not drift_report(train, new).set_index("column").loc["signup", "drifted"]


def test_numbers_arriving_as_text_are_counted_and_noted(binary_frame):
    train, new = _halves(binary_frame)
    new = new.assign(mean_smoothness=new["mean_smoothness"].astype(object))
    new.loc[: len(new) // 2, "mean_smoothness"] = "n/a"
    row = drift_report(train, new).set_index("column").loc["mean_smoothness"]
    assert row["drifted"]
    assert "not numbers" in row["note"]


def test_low_cardinality_numbers_are_binned_by_value():
    train = pd.DataFrame({"rooms": [1, 2, 3] * 100})
    assert not drift_report(train, train.copy()).loc[0, "drifted"]
    unseen = pd.DataFrame({"rooms": [7, 8, 9] * 100})
    assert drift_report(train, unseen).loc[0, "drifted"]


def test_psi_is_zero_for_equal_shares_and_grows_with_shift():
    same = population_stability_index(np.array([0.5, 0.5]), np.array([0.5, 0.5]))
    small = population_stability_index(np.array([0.5, 0.5]), np.array([0.55, 0.45]))
    large = population_stability_index(np.array([0.5, 0.5]), np.array([0.9, 0.1]))
    assert same == pytest.approx(0.0)
    assert 0 < small < 0.1 < large


def test_empty_new_data_is_refused(binary_frame):
    with pytest.raises(DataError, match="rows in both"):
        drift_report(binary_frame, binary_frame.iloc[:0])


def test_a_large_psi_from_a_small_sample_is_noted_as_noise_not_drift():
    frame = _stable()
    report = drift_report(frame.iloc[:150], frame.iloc[150:190].reset_index(drop=True)).set_index("column")
    noisy = report[report["psi"] >= 0.2]
    assert not noisy.empty  # PSI alone would cry wolf on 60 rows
    assert not noisy["drifted"].any()
    assert noisy["note"].str.contains("sampling noise").all()


def test_a_reference_without_the_rows_gives_the_same_psi_and_verdicts():
    """What a bundle ships (bins, counts, percentiles, round-tripped through JSON) stands in for the rows."""
    frame = _stable()
    rng = np.random.default_rng(3)
    frame["rooms"] = rng.integers(1, 5, len(frame)).astype(float)
    frame.loc[::11, "rooms"] = np.nan
    frame["member"] = rng.random(len(frame)) < 0.3
    train, new = _halves(frame)
    new = new.assign(income=new["income"] * 1.3, rooms=rng.integers(1, 7, len(new)),
                     signup=new["signup"] + pd.Timedelta(days=90), member=rng.random(len(new)) < 0.6)
    reference = DriftReference.model_validate_json(drift_reference(train).model_dump_json())
    from_rows = drift_report(train, new).set_index("column").sort_index()
    from_reference = drift_from_reference(reference, new).set_index("column").sort_index()
    np.testing.assert_array_equal(from_reference["psi"], from_rows["psi"])
    assert from_reference["drifted"].tolist() == from_rows["drifted"].tolist()
    assert from_rows.loc[["income", "rooms", "signup", "member"], "drifted"].all()
    assert not from_rows.loc[["age", "plan", "note"], "drifted"].any()
    assert from_reference.loc["rooms", "ks_statistic"] == pytest.approx(from_rows.loc["rooms", "ks_statistic"])
    np.testing.assert_allclose(from_reference["ks_statistic"], from_rows["ks_statistic"], atol=0.01)
    assert from_reference["note"].tolist() == from_rows["note"].tolist()

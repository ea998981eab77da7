"""Leakage warnings: identifiers and near copies of the target are named; honest features are not."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from pipeline_core.analysis import leakage
from pipeline_core.analysis.leakage import leakage_basis, leakage_warnings, target_warnings
from pipeline_core.compiler.columns import infer_column
from pipeline_core.errors import DataError


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


# ---- the split into a per-dataset basis and a per-target check gives the same warnings -------------


NEW_KINDS = ("identifies the class", "alone predicts", "distinct values in")
"""Warnings added after the split (issue 15 point 14): each fires only where none of the oracle's did."""


def _reference_warnings(frame: pd.DataFrame, target: str) -> list[str]:
    """The checks as they were before the split (a string group-by per column and target), as an oracle."""
    if len(frame) > leakage.SAMPLE_ROWS:
        frame = frame.sample(leakage.SAMPLE_ROWS, random_state=0)
    y, warnings = frame[target], []
    for col in (c for c in frame.columns if c != target):
        values, info = frame[col], infer_column(frame[col])
        if info.type == "constant":
            continue
        if info.type == "id":
            warnings.append(f"'{col}' looks like a row identifier ({info.reason.split(':')[0]}): a model could "
                            "memorise rows through it. ID-like columns are left out of the features; keep it that "
                            "way unless the ID carries meaning.")
            continue
        r = _reference_correlation(values, y)
        if r is not None and abs(r) > leakage.CORRELATION_LIMIT:
            warnings.append(f"'{col}' correlates {r:+.3f} with the target '{target}': it is almost a copy of it. "
                            "Keep it only if it is known before the target is.")
            continue
        both = pd.DataFrame({"x": values.astype(str), "y": y.astype(str)})[values.notna() & y.notna()]
        levels = both["x"].nunique()
        if levels < 2 or levels > leakage.MAX_LEVELS or len(both) < 2 * levels:
            continue
        if both.groupby("x")["y"].nunique().max() != 1:
            continue
        if both.groupby("y")["x"].nunique().max() == 1:
            warnings.append(f"'{col}' maps one-to-one onto the target '{target}' (each value goes with exactly "
                            "one target value and back): it is a relabelled copy of the target. Drop it.")
        elif len(both) >= leakage.MIN_ROWS_PER_LEVEL * levels:
            warnings.append(f"every value of '{col}' goes with a single target value: it determines "
                            f"'{target}' exactly. Check it is not recorded after the outcome.")
    return warnings


def _reference_correlation(values: pd.Series, y: pd.Series) -> float | None:
    def number(s: pd.Series) -> bool:
        return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)

    if not (number(values) and number(y)):
        return None
    both = pd.DataFrame({"x": values, "y": y}).dropna()
    if len(both) < 3 or both["x"].nunique() < 2 or both["y"].nunique() < 2:
        return None
    return float(both["x"].astype(float).corr(both["y"].astype(float)))


def _awkward_frame(n: int, seed: int) -> pd.DataFrame:
    """Columns whose text forms are easy to get wrong: -0.0 next to 0.0, 1 next to '1', missing values, dates."""
    rng = np.random.default_rng(seed)
    label = rng.choice(["yes", "no", "maybe"], n).astype(object)
    label[rng.random(n) < 0.05] = None
    frame = pd.DataFrame({
        "label": label,
        "code": pd.Series(label).map({"yes": 1.0, "no": -0.0, "maybe": 0.0}),  # -0.0 and 0.0: two texts
        "mixed": pd.Series(label).map({"yes": 1, "no": "1", "maybe": 2.5}).astype(object),  # 1 and '1': one text
        "grade": pd.Series(label).map({"yes": "a", "no": "b", "maybe": "c"}).astype("category"),
        "stage": np.where(label == "yes", rng.choice(["won-a", "won-b"], n), np.where(label == "no", "lost", "open")),
        "small_int": rng.integers(0, 3, n),
        "nullable": pd.array(rng.integers(0, 40, n), dtype="Int64"),
        "flag": rng.random(n) < 0.5,
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 5, n), unit="D"),
        "x": rng.normal(size=n),
        "x32": rng.normal(size=n).astype("float32"),
        "row_id": rng.permutation(n) + 10,
        "ticket": [f"T{i:06d}" for i in rng.permutation(n)],
        "constant": 7,
    })
    frame["price"] = 3 * frame["x"] + 0.0001 * rng.normal(size=n)
    frame["count"] = rng.integers(0, 60, n)
    frame.loc[rng.random(n) < 0.1, "x"] = np.nan
    return frame


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_warnings_are_those_of_the_unsplit_checks(seed, monkeypatch):
    monkeypatch.setattr(leakage, "SAMPLE_ROWS", 500)  # so the sampling path runs too
    frame = _awkward_frame(700, seed)
    for target in ["label", "code", "mixed", "grade", "small_int", "nullable", "flag", "x", "price", "count"]:
        kept = [w for w in leakage_warnings(frame, target) if not any(kind in w for kind in NEW_KINDS)]
        assert kept == _reference_warnings(frame, target), target


def test_the_awkward_frame_does_warn(monkeypatch):
    """The oracle comparison above is only worth something if the frame triggers every kind of warning."""
    warnings = " | ".join(leakage_warnings(_awkward_frame(700, 0), "label"))
    assert "'row_id' looks like a row identifier" in warnings
    assert "'ticket' looks like a row identifier" in warnings
    assert "'code' maps one-to-one onto the target 'label'" in warnings
    assert "'grade' maps one-to-one onto the target 'label'" in warnings
    assert "every value of 'stage' goes with a single target value" in warnings
    # 1 and '1' read the same as text, so two labels share a value and 'mixed' is no copy of the target; but 2.5
    # occurs on exactly the rows labelled 'maybe'
    assert "'mixed' maps" not in warnings
    assert "'mixed' identifies the class 'maybe' perfectly: the value '2.5' occurs on exactly its" in warnings
    assert "'price' correlates" in " | ".join(leakage_warnings(_awkward_frame(700, 0), "x"))


def test_one_basis_serves_every_target_and_a_rename():
    frame = _awkward_frame(300, 4)
    basis = leakage_basis(frame, rename={"code": "label_code"})
    renamed = frame.rename(columns={"code": "label_code"})
    for target in ["label", "grade", "x"]:
        assert target_warnings(basis, target) == leakage_warnings(renamed, target)
    kept = ["x", "label_code", "ticket"]
    assert target_warnings(basis, "label", kept) == leakage_warnings(renamed[kept + ["label"]], "label")
    with pytest.raises(DataError, match="'code'"):
        target_warnings(basis, "code")


def test_correlations_are_those_pandas_computes():
    frame = _awkward_frame(400, 3)
    basis = leakage_basis(frame)
    for x in basis.numbers:
        for y in basis.numbers:
            ours = leakage._numeric_correlation(basis.numbers[x], basis.numbers[y])
            theirs = _reference_correlation(frame[x], frame[y])
            assert ours == theirs or (ours is None and theirs is not None and np.isnan(theirs)), (x, y)


# ---- issue 15 point 14: near-perfect single-column predictors and high-cardinality identifiers ---------------


def _species(n: int = 600, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    species = rng.choice(["Parus major", "Cyanistes caeruleus", "Erithacus rubecula — juvenile plumage"], n)
    return pd.DataFrame({
        "species": species,
        "specimen_id": [f"S-{i:04d}" for i in rng.integers(0, 190, n)],  # repeats: 190 levels, not 95% unique
        "ring_colour": np.where(species == "Parus major", "blue", rng.choice(["red", "green"], n)),
        "wing_mm": np.where(species == "Parus major", 75.0, 60.0) + rng.normal(0, 0.5, n),
        "weight_g": rng.normal(18, 2, n),
        "site": rng.choice(["north", "south", "east"], n),
    })


def test_an_identifier_with_repeated_values_is_flagged():
    frame = _species()
    warnings = " | ".join(leakage_warnings(frame, "species"))
    levels = frame["specimen_id"].nunique()
    assert 150 < levels < 0.95 * len(frame)  # not unique enough to be typed an identifier
    assert f"'specimen_id' has {levels} distinct values in 600 rows and is named like an identifier" in warnings


def test_a_value_that_marks_exactly_one_class_is_flagged_with_it():
    frame = _species()
    warnings = " | ".join(leakage_warnings(frame, "species"))
    n = int((frame["species"] == "Parus major").sum())
    assert (f"'ring_colour' identifies the class 'Parus major' perfectly: the value 'blue' occurs on exactly its "
            f"{n:,} rows and no others") in warnings


def test_a_numeric_column_that_alone_predicts_the_class_is_flagged_with_its_score():
    frame = _species().drop(columns="ring_colour")
    frame["wing_mm"] = np.where(frame["species"] == "Cyanistes caeruleus", 50.0,
                                np.where(frame["species"] == "Parus major", 75.0, 62.0)) + np.random.default_rng(
                                    1).normal(0, 0.3, len(frame))
    [warning] = [w for w in leakage_warnings(frame, "species") if "wing_mm" in w]
    assert re.match(r"'wing_mm' alone predicts 'species' for 99\.\d% of rows \(binned into ranges; the most "
                    r"common class alone: 3\d\.\d%\)", warning), warning


def test_ordinary_columns_and_regression_targets_raise_no_new_warning():
    frame = _species()
    assert not [w for w in leakage_warnings(frame, "species") if "weight_g" in w or "'site'" in w]
    assert not [w for w in leakage_warnings(frame, "weight_g") if any(k in w for k in NEW_KINDS[:2])]

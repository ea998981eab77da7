"""Small, real data shared by the core tests.

Each frame is a slice of a scikit-learn dataset with the awkward columns real files
have: missing values, a categorical, a date and free text. ``*_frame`` fixtures are fresh
copies, so a test may mutate them; ``*_source`` fixtures are the session-wide originals,
read only, for module-scoped fixtures that train once and share the result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

WORDS = ["good", "service", "slow", "delivery", "great", "price", "poor", "quality", "friendly", "staff"]


def _messy_columns(n: int, seed: int) -> pd.DataFrame:
    """A categorical with NaN, a date and a short free-text column for ``n`` rows."""
    rng = np.random.default_rng(seed)
    city = pd.Series(rng.choice(["Paris", "Lyon", "Nice", "Lille"], size=n), dtype=object)
    city[rng.random(n) < 0.05] = None
    signup = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, size=n), unit="D")
    comment = [" ".join(rng.choice(WORDS, size=rng.integers(4, 9))) for _ in range(n)]
    return pd.DataFrame({"city": city, "signup": signup, "comment": comment})


def _with_missing(frame: pd.DataFrame, columns: list[str], share: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for col in columns:
        out.loc[rng.random(len(out)) < share, col] = np.nan
    return out


@pytest.fixture(scope="session")
def binary_source() -> pd.DataFrame:
    data = load_breast_cancer(as_frame=True)
    numbers = data.data.iloc[:, :6].rename(columns=lambda c: c.replace(" ", "_"))
    frame = pd.concat([_with_missing(numbers, ["mean_texture"], 0.05, 0), _messy_columns(len(numbers), 0)], axis=1)
    frame["diagnosis"] = np.where(data.target == 1, "benign", "malignant")
    return frame


@pytest.fixture(scope="session")
def multiclass_source() -> pd.DataFrame:
    data = load_iris(as_frame=True)
    numbers = data.data.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    frame = pd.concat([_with_missing(numbers, ["sepal_width"], 0.05, 1), _messy_columns(len(numbers), 1)], axis=1)
    frame["species"] = data.target_names[data.target]
    return frame


@pytest.fixture(scope="session")
def regression_source() -> pd.DataFrame:
    data = load_diabetes(as_frame=True, scaled=False)
    numbers = data.data.drop(columns=["sex"])
    frame = pd.concat([_with_missing(numbers, ["bmi"], 0.05, 2), _messy_columns(len(numbers), 2)], axis=1)
    frame["sex"] = np.where(data.data["sex"] == 1, "female", "male")
    frame["progression"] = data.target
    return frame


@pytest.fixture
def binary_frame(binary_source: pd.DataFrame) -> pd.DataFrame:
    """569 rows, target ``diagnosis`` (benign/malignant), numeric + city/signup/comment."""
    return binary_source.copy()


@pytest.fixture
def multiclass_frame(multiclass_source: pd.DataFrame) -> pd.DataFrame:
    """150 rows, target ``species`` (3 classes), numeric + city/signup/comment."""
    return multiclass_source.copy()


@pytest.fixture
def regression_frame(regression_source: pd.DataFrame) -> pd.DataFrame:
    """442 rows, target ``progression`` (numeric), numeric + sex/city/signup/comment."""
    return regression_source.copy()

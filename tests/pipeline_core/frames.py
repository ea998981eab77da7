"""Small real frames for core tests: NaN, categoricals, dates and free text."""

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris


def messy_frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 0.5, n)
    age = rng.normal(40, 12, n)
    city = rng.choice(["paris", "lyon", "nice", "lille"], n, p=[0.4, 0.3, 0.2, 0.1])
    good = rng.random(n) < 0.5
    review = np.where(good, "great service fast delivery love it", "slow delivery broken item awful support")
    score = 0.8 * good + 0.3 * (age > 40) + rng.normal(0, 0.3, n)
    frame = pd.DataFrame({
        "customer_id": np.arange(1000, 1000 + n), "age": age, "income": income, "city": city,
        "signup": pd.date_range("2021-01-01", periods=n, freq="36h").astype(str), "review": review,
        "constant": "x", "churned": np.where(score > 0.55, "yes", "no"),
    })
    frame.loc[rng.random(n) < 0.1, "age"] = np.nan
    frame.loc[rng.random(n) < 0.1, "city"] = None
    frame.loc[5, "income"] = 1e7  # an outlier
    return frame


def breast_cancer() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame


def iris() -> pd.DataFrame:
    frame = load_iris(as_frame=True).frame
    frame["target"] = frame["target"].map(dict(enumerate(load_iris().target_names)))
    return frame


def diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True).frame

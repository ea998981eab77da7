"""Small real frames for core tests: NaN, categoricals, dates and free text."""

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition import steps as st
from pipeline_core.definition.spec import ColumnsSpec, EvaluationPlan, ModelSpec, PipelineSpec


def messy_frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 0.5, n)
    age = rng.normal(40, 12, n)
    city = rng.choice(["paris", "lyon", "nice", "lille"], n, p=[0.4, 0.3, 0.2, 0.1])
    good = rng.random(n) < 0.5
    praise = ["great service", "fast delivery", "love it", "friendly staff", "would buy again", "well packed"]
    blame = ["slow delivery", "broken item", "awful support", "never again", "wrong size", "late refund"]
    extra = ["today", "again", "this week", "for my mother", "as a gift", "on sale", "twice", "in the rain"]
    review = [" ".join([*rng.choice(praise if g else blame, 2, replace=False), str(rng.choice(extra))]) for g in good]
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


def schema_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """A date column held as text, an ID, a column to rename, one to override, one to leave out, one to drop."""
    rng = np.random.default_rng(seed)
    size = rng.normal(10, 3, n)
    return pd.DataFrame({
        "record_id": np.arange(5000, 5000 + n),
        "day": pd.date_range("2022-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "sz": size,
        "grade": rng.integers(1, 4, n),  # numbers the user says are labels
        "comment": rng.choice(["ok", "late", "n/a"], n),  # left out by columns.select
        "noise": rng.normal(0, 1, n),  # dropped by a step
        "label": np.where(size + rng.normal(0, 1, n) > 10, "big", "small"),
    })


def schema_spec(frame: pd.DataFrame | None = None) -> PipelineSpec:
    spec = PipelineSpec(
        target="label",
        columns=ColumnsSpec(select=["record_id", "day", "size", "grade", "noise", "label"], rename={"sz": "size"},
                            types={"grade": "categorical"}),
        models=[ModelSpec(kind="logistic_regression")], evaluation=EvaluationPlan(cv_folds=3, holdout=0.3),
    )
    frame = schema_frame() if frame is None else frame
    steps = default_steps(infer_schema(frame, spec))
    return spec.model_copy(update={"steps": [*steps, st.DropColumns(columns=["noise"], reason="just noise")]})


def breast_cancer() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame


def iris() -> pd.DataFrame:
    frame = load_iris(as_frame=True).frame
    frame["target"] = frame["target"].map(dict(enumerate(load_iris().target_names)))
    return frame


def diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True).frame


def house_sales(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """A price table with the traits of real house sales (the Ames data in ``benchmarks/bench_regression_defaults``).

    The price is multiplicative (log-normal): size, age and quality scale it, so it is positive and skewed right.
    Twelve label columns of 2 to 60 levels, some levels rare, carry part of it; 5% of the values are missing.
    """
    rng = np.random.default_rng(seed)
    area = rng.lognormal(7.2, 0.3, n)
    frame = pd.DataFrame({"area": area.round(), "lot": rng.lognormal(9, 0.5, n).round(),
                          "year": rng.integers(1880, 2010, n), "rooms": np.clip(np.round(area / 250), 2, 12),
                          "baths": rng.integers(1, 4, n), "garage_cars": rng.integers(0, 4, n),
                          "noise_a": rng.normal(size=n), "noise_b": rng.uniform(size=n)})
    log_price = 11 + 0.6 * np.log(area / 1300) + 0.004 * (frame["year"] - 1950) + 0.05 * frame["garage_cars"]
    for i, levels in enumerate((2, 3, 4, 5, 6, 8, 10, 15, 20, 28, 40, 60)):
        weights = rng.dirichlet(np.full(levels, 0.7))  # uneven: some levels hold a few rows only
        codes = rng.choice(levels, n, p=weights)
        effect = rng.normal(0, 0.15 if i % 3 else 0.02, levels)  # every third column is nearly noise
        log_price = log_price + effect[codes]
        frame[f"label_{i}"] = pd.Series([f"L{i}_{c}" for c in codes], dtype=object)
    frame["price"] = np.exp(log_price + rng.normal(0, 0.12, n)).round(-2)
    for column in ("lot", "garage_cars", "label_3", "label_9", "label_11"):
        frame.loc[rng.random(n) < 0.05, column] = np.nan
    return frame

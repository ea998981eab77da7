"""Bundled sample datasets, so a first-time user can try everything without a file or a network.

The classic scikit-learn tables ship inside scikit-learn itself. The two generated tables
are seeded (identical on every machine) and deliberately realistic: the churn table has the
problems real uploads have (missing values, outliers, rare and inconsistently spelled
levels, an ID column, a constant column, dates and free-text reviews whose wording carries
signal about the target), so every cleaning step and the text features have something to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_core.errors import DataError

CHURN = "customer_churn (generated, messy)"
HOUSES = "house_prices (generated)"


@dataclass(frozen=True)
class SampleInfo:
    """What the UI needs to offer a sample: its target, task and a one-line description."""

    target: str
    task: str
    description: str


def _sklearn_frame(loader: Callable[..., object], classification: bool) -> pd.DataFrame:
    bunch = loader(as_frame=True)
    frame = bunch.frame.copy()  # type: ignore[attr-defined]
    if classification:
        names = np.asarray(bunch.target_names)  # type: ignore[attr-defined]
        frame["target"] = names[frame["target"].to_numpy()].astype(object)
    return frame


def _iris() -> pd.DataFrame:
    from sklearn.datasets import load_iris

    return _sklearn_frame(load_iris, classification=True)


def _wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    return _sklearn_frame(load_wine, classification=True)


def _breast_cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return _sklearn_frame(load_breast_cancer, classification=True)


def _diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    return _sklearn_frame(load_diabetes, classification=False)


# ---------------------------------------------------------------- customer churn (generated, messy)

_UNHAPPY = ["the app is slow and keeps crashing", "way too expensive for what you get", "support never answers",
            "billing charged me twice", "I am thinking about cancelling", "connection drops every evening",
            "disappointed with the service", "prices went up again", "waited an hour on the phone",
            "switching to a cheaper provider"]
_HAPPY = ["great value for the money", "support fixed my issue quickly", "reliable and fast",
          "love the new features", "never had a problem", "easy to use and friendly staff",
          "the best plan I have had", "would recommend to friends", "setup was quick", "excellent coverage"]
_NEUTRAL = ["I use it mostly for work", "the app got an update last month", "I moved house this year",
            "my family shares the plan", "I pay by card", "the website looks different now"]


def customer_churn(n: int = 2000, seed: int = 7) -> pd.DataFrame:
    """A telecom churn table with the usual mess; target ``churned`` is 'yes'/'no' (~27% yes)."""
    rng = np.random.default_rng(seed)
    signup = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 5 * 365, n), unit="D")
    tenure = ((pd.Timestamp("2024-06-30") - signup).days // 30).to_numpy()
    plan = rng.choice(["basic", "standard", "premium", "enterprise"], n, p=[0.45, 0.35, 0.19, 0.01])
    charges = np.round(np.select([plan == "basic", plan == "standard", plan == "premium"], [25.0, 45.0, 80.0], 150.0)
                       + rng.normal(0, 6, n), 2)
    calls = rng.poisson(1.5, n)
    churned = _churn_outcome(rng, tenure, charges, calls, plan)
    frame = pd.DataFrame({
        "customer_id": [f"C{100000 + i}" for i in range(n)],
        "signup_date": signup,
        "age": rng.normal(45, 14, n).clip(18, 90).round(),
        "plan": plan.astype(object),
        "region": _messy_regions(rng, n),
        "monthly_charges": charges,
        "support_calls": calls,
        "tenure_months": tenure,
        "payment_method": rng.choice(["card", "bank transfer", "paypal", "cheque"], n, p=[0.5, 0.3, 0.18, 0.02]),
        "data_source": "crm_export_v2",
        "review": _reviews(rng, churned),
        "churned": np.where(churned, "yes", "no").astype(object),
    })
    return _add_mess(frame, rng)


def _churn_outcome(rng: np.random.Generator, tenure: np.ndarray, charges: np.ndarray, calls: np.ndarray,
                   plan: np.ndarray) -> np.ndarray:
    logit = 0.1 - 0.04 * tenure + 0.02 * (charges - 45) + 0.45 * (calls - 1.5) + 0.5 * (plan == "basic")
    return rng.random(tenure.size) < 1 / (1 + np.exp(-logit))


def _messy_regions(rng: np.random.Generator, n: int) -> np.ndarray:
    regions = rng.choice(["north", "south", "east", "west", "islands"], n, p=[0.3, 0.3, 0.2, 0.19, 0.01]).astype(object)
    spelled = rng.random(n) < 0.03  # real exports mix case and stray spaces
    regions[spelled] = [f" {r.title()}" if i % 2 else r.upper() for i, r in enumerate(regions[spelled])]
    return regions


def _reviews(rng: np.random.Generator, churned: np.ndarray) -> list[str | None]:
    reviews: list[str | None] = []
    for unhappy in churned:
        mood = rng.random() < (0.75 if unhappy else 0.2)
        pool = _UNHAPPY if mood else _HAPPY
        parts = list(rng.choice(pool, size=rng.integers(1, 3), replace=False))
        if rng.random() < 0.5:
            parts.append(str(rng.choice(_NEUTRAL)))
        rng.shuffle(parts)
        reviews.append(". ".join(p[0].upper() + p[1:] for p in parts) + ".")
    return reviews


def _add_mess(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Missing values, data-entry outliers and blank reviews, in the proportions real exports show."""
    n = len(frame)
    for col, share in (("age", 0.08), ("monthly_charges", 0.03), ("plan", 0.02), ("payment_method", 0.05),
                       ("review", 0.12), ("region", 0.02)):
        frame.loc[rng.random(n) < share, col] = np.nan if frame[col].dtype.kind == "f" else None
    outliers = rng.choice(n, size=12, replace=False)
    frame.loc[outliers[:6], "monthly_charges"] = frame.loc[outliers[:6], "monthly_charges"] * 10
    frame.loc[outliers[6:9], "age"] = 999.0  # "unknown" typed as 999
    frame.loc[outliers[9:], "support_calls"] = 40
    return frame


# ---------------------------------------------------------------- house prices (generated)


def house_prices(n: int = 1500, seed: int = 11) -> pd.DataFrame:
    """A regression table: ``price`` from size, rooms, age, location and condition, with noise."""
    rng = np.random.default_rng(seed)
    hood = rng.choice(["centre", "riverside", "suburbs", "industrial", "hills"], n, p=[0.15, 0.2, 0.4, 0.1, 0.15])
    area = rng.gamma(6, 18, n).clip(25, 450).round(1)
    bedrooms = np.clip(np.round(area / 30 + rng.normal(0, 0.7, n)), 1, 8).astype(int)
    year = rng.integers(1900, 2024, n)
    condition = rng.choice(["poor", "fair", "good", "excellent"], n, p=[0.1, 0.3, 0.45, 0.15])
    distance = np.round(np.select([hood == "centre", hood == "riverside"], [1.5, 4.0], 9.0) + rng.gamma(2, 1.2, n), 1)
    garage = rng.random(n) < 0.55
    price = (2600 * area * np.select([hood == "centre", hood == "hills", hood == "industrial"], [1.6, 1.3, 0.75], 1.0)
             * np.select([condition == "poor", condition == "fair", condition == "excellent"], [0.8, 0.92, 1.15], 1.0)
             + 9000 * bedrooms + 15000 * garage - 6000 * distance + 300 * (year - 1960)
             + rng.normal(0, 25000, n))
    frame = pd.DataFrame({"area_sqm": area, "bedrooms": bedrooms, "bathrooms": np.clip(bedrooms // 2 + 1, 1, 4),
                          "year_built": year, "neighbourhood": hood.astype(object),
                          "condition": condition.astype(object), "distance_to_centre_km": distance,
                          "has_garage": garage, "lot_size_sqm": np.round(area * rng.uniform(1.2, 4, n), 0),
                          "price": np.round(price.clip(40_000), -2)})
    frame.loc[rng.random(n) < 0.04, "lot_size_sqm"] = np.nan
    return frame


# ---------------------------------------------------------------- registry

SAMPLES: dict[str, Callable[[], pd.DataFrame]] = {
    "iris": _iris,
    "wine": _wine,
    "breast_cancer": _breast_cancer,
    "diabetes": _diabetes,
    CHURN: customer_churn,
    HOUSES: house_prices,
}

SAMPLE_INFO: dict[str, SampleInfo] = {
    "iris": SampleInfo("target", "classification", "150 iris flowers, 4 measurements, 3 species."),
    "wine": SampleInfo("target", "classification", "178 wines, 13 chemical measurements, 3 cultivars."),
    "breast_cancer": SampleInfo("target", "classification", "569 tumour biopsies, 30 features, malignant/benign."),
    "diabetes": SampleInfo("target", "regression", "442 patients, 10 baseline measures, disease progression."),
    CHURN: SampleInfo("churned", "classification",
                      "2,000 customers with missing values, outliers, rare levels, dates and reviews."),
    HOUSES: SampleInfo("price", "regression", "1,500 houses: size, rooms, age, location, condition and price."),
}


def sample_names() -> list[str]:
    """Names to offer in the UI, in display order."""
    return list(SAMPLES)


def load_sample(name: str) -> pd.DataFrame:
    """A fresh copy of a bundled sample (callers may modify it freely)."""
    try:
        factory = SAMPLES[name]
    except KeyError:
        raise DataError(f"There is no sample named '{name}'. Choose one of: {', '.join(SAMPLES)}.") from None
    return factory()

"""Deterministic synthetic data for benchmarks: a mixed-type table with a learnable binary target.

The same ``(n_rows, seed)`` always gives the same frame, so timings and scores from
different runs and machines compare like for like.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

N_NUMERIC = 14
CATEGORY_LEVELS = (3, 5, 8, 12, 20, 30)
MISSING_SHARE = 0.05
SIGNAL = 3.0  # scales the log-odds: the Bayes accuracy is ~0.92 (see ``bayes_accuracy``), boosting reaches ~0.87


def mixed_frame(n_rows: int = 50_000, seed: int = 0) -> pd.DataFrame:
    """14 numeric columns (5% NaN, mixed scales), 6 categoricals (3–30 levels), binary ``target``.

    The target is a logistic function of a few numeric features (one interaction, one
    non-linear term) plus per-level effects of the categoricals; the rest is noise.
    """
    rng = np.random.default_rng(seed)
    numbers = rng.normal(size=(n_rows, N_NUMERIC))
    codes = [rng.integers(0, k, size=n_rows) for k in CATEGORY_LEVELS]
    logit = _log_odds(numbers, codes, np.random.default_rng(seed + 1))
    target = rng.random(n_rows) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame({f"num_{i:02d}": _rescale(numbers[:, i], i) for i in range(N_NUMERIC)})
    for j, column in enumerate(codes):
        frame[f"cat_{j}"] = pd.Series(np.char.add(f"c{j}_", column.astype(str)), dtype=object)
    for name in frame.columns[:N_NUMERIC]:
        frame.loc[rng.random(n_rows) < MISSING_SHARE, name] = np.nan
    frame["target"] = np.where(target, "yes", "no")
    return frame


def bayes_accuracy(n_rows: int = 50_000, seed: int = 0) -> float:
    """The best accuracy any model can reach on ``mixed_frame(n_rows, seed)`` (before the NaNs)."""
    rng = np.random.default_rng(seed)
    numbers = rng.normal(size=(n_rows, N_NUMERIC))
    codes = [rng.integers(0, k, size=n_rows) for k in CATEGORY_LEVELS]
    p = 1 / (1 + np.exp(-_log_odds(numbers, codes, np.random.default_rng(seed + 1))))
    return float(np.mean(np.maximum(p, 1 - p)))


def _log_odds(numbers: np.ndarray, codes: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    x = numbers
    linear = 1.2 * x[:, 0] - 1.0 * x[:, 1] + 0.7 * x[:, 2] + 0.8 * x[:, 3] * x[:, 4] + 0.9 * np.sin(2 * x[:, 5])
    effects = sum(rng.normal(0, 0.6, size=k)[c] for k, c in zip(CATEGORY_LEVELS[:4], codes[:4], strict=True))
    return SIGNAL * (linear + effects)


def _rescale(values: np.ndarray, i: int) -> np.ndarray:
    """Different units per column (e.g. ages, amounts, ratios), so scaling matters as in real data."""
    scale, offset = (1.0, 0.0) if i % 3 == 0 else (10.0 ** (i % 4), 5.0 * i)
    return values * scale + offset

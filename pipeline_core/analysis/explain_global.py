"""What drives a model overall: SHAP values of a seeded sample of rows, summed per user column.

The sample size depends on the explainer's cost per row (exact tree values are cheap, permutation values
call the model hundreds of times per row); it is recorded with the result so every chart can say on how
many rows it rests. :attr:`GlobalExplanation.importance` (mean absolute contribution) orders the columns
for the bar chart and the beeswarm, which plots every sampled row's contribution coloured by its value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from pipeline_core.analysis.explain import Explainer, Method, RowExplanations

SAMPLE_ROWS: dict[Method, int] = {"tree": 1000, "linear": 2000, "permutation": 100}
"""Rows explained for the global view, per method: enough for stable mean |SHAP|, within seconds on two cores."""


@dataclass
class GlobalExplanation:
    """Contributions of a sample of rows, the raw values of those rows, and how they were computed."""

    rows: RowExplanations
    values: pd.DataFrame  # the sampled rows' raw values, one column per user column (same order as ``rows``)
    rows_available: int
    background_rows: int
    description: str

    @property
    def rows_explained(self) -> int:
        return len(self.values)

    def importance(self) -> pd.DataFrame:
        """``column`` and ``mean_abs_contribution``, most important first."""
        mean_abs = np.abs(self.rows.contributions).mean(axis=0)
        frame = pd.DataFrame({"column": self.rows.columns, "mean_abs_contribution": mean_abs})
        return frame.sort_values("mean_abs_contribution", ascending=False, ignore_index=True)

    def top_columns(self, n: int) -> list[str]:
        return self.importance()["column"].head(n).tolist()

    def sample_note(self) -> str:
        """Which rows the values rest on, in words (the sample size is part of what a reader must know)."""
        sampled = (f"a random sample of {self.rows_explained:,} of {self.rows_available:,} rows"
                   if self.rows_explained < self.rows_available else f"all {self.rows_available:,} rows")
        return f"{self.description}; on {sampled}"


def explain_global(explainer: Explainer, frame: pd.DataFrame, *, max_rows: int | None = None,
                   seed: int = 0) -> GlobalExplanation:
    """SHAP values of a seeded sample of ``frame`` (raw columns), at most ``max_rows`` (default per method)."""
    limit = max_rows or SAMPLE_ROWS[explainer.method]
    sample = frame.sample(limit, random_state=seed) if len(frame) > limit else frame
    with threadpool_limits(1, user_api="openmp"):  # one long call: boosting's per-tree OpenMP loops only contend
        rows = explainer.explain(sample)
    values = sample[explainer.raw_columns].reset_index(drop=True)
    values.columns = list(explainer.columns)
    return GlobalExplanation(rows, values, len(frame), explainer.background_rows, explainer.describe())

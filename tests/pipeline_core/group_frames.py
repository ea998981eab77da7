"""Small real frames with a known bias by group, and a planted slice where a model errs, for the audit tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition import steps as st
from pipeline_core.definition.spec import PipelineSpec

TARGET = "approved"
SENSITIVE = "applicant_group"


def lending_frame(*, biased: bool, n: int = 1200, small_group_rows: int = 0, seed: int = 7) -> pd.DataFrame:
    """Loans approved from income and debt. With ``biased``, group B's labels ignore both (a coin flip), so a
    model that never sees the group is right about B half the time and about A almost always. A group "C"
    of ``small_group_rows`` rows is added when asked (too small to judge)."""
    rng = np.random.default_rng(seed)
    group = np.where(rng.random(n) < 0.5, "A", "B").astype(object)
    group[:small_group_rows] = "C"
    income = rng.normal(50, 15, n)
    debt = rng.normal(20, 10, n)
    approved = income - 1.5 * debt + rng.normal(0, 3, n) > 20
    if biased:
        coin = rng.random(n) < 0.5
        approved = np.where(group == "B", coin, approved)
    return pd.DataFrame({"income": income, "debt": debt, SENSITIVE: group,
                         TARGET: np.where(approved, "yes", "no")})


def lending_spec(**evaluation) -> PipelineSpec:
    """Logistic regression that never sees the sensitive column (a drop step), with a 30% hold-out."""
    return PipelineSpec(target=TARGET, models=[{"kind": "logistic_regression"}],
                        steps=[st.DropColumns(columns=[SENSITIVE], reason="not a lawful basis for a decision")],
                        evaluation={"cv_folds": 2, "holdout": 0.3, **evaluation})


def sliced_regression_frame(n: int = 1500, seed: int = 3) -> pd.DataFrame:
    """A price from size and rooms; in region "north" a noise term the features cannot explain is added."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["south", "east", "west", "north"], n)
    size = rng.uniform(30, 200, n)
    rooms = rng.integers(1, 7, n)
    price = 3 * size + 10 * rooms + rng.normal(0, 5, n) + np.where(region == "north", rng.normal(0, 120, n), 0)
    return pd.DataFrame({"size": size, "rooms": rooms, "region": region, "price": price})


def houses_spec(frame: pd.DataFrame) -> PipelineSpec:
    """Linear regression of the price with the default steps for ``frame``'s columns and a 30% hold-out."""
    spec = PipelineSpec(target="price", models=[{"kind": "linear_regression"}],
                        evaluation={"cv_folds": 2, "holdout": 0.3})
    return spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})

"""Step order that trains but fails on new rows is named at edit time (issue 15 point 7)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_core.artifacts.predict import predict_frame
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.compiler.order import order_problems
from pipeline_core.definition import steps as st
from pipeline_core.definition.spec import ModelSpec, PipelineSpec
from pipeline_core.errors import DataError
from pipeline_core.training.train import train

TYPES = {"x": "numeric", "z": "numeric", "when": "datetime", "city": "categorical"}


def test_polynomial_before_imputation_is_named_with_the_fix():
    steps = [st.Polynomial(columns="numeric"), st.Impute(columns="numeric")]
    [problem] = order_problems(steps, TYPES)
    assert problem.startswith("Step 1 (Polynomial / interaction features) needs values without gaps, but no "
                              "'Fill missing values' step comes before it for x, z. Add one above step 1 "
                              "(or move yours up)")
    assert order_problems(list(reversed(steps)), TYPES) == []


def test_a_global_step_needs_every_number_and_date_filled():
    steps = [st.Impute(columns="numeric"), st.PCA()]
    [problem] = order_problems(steps, TYPES)
    assert problem.startswith("Step 2 (PCA) needs values without gaps") and "for when." in problem
    assert order_problems([*steps[:1], st.Impute(columns="datetime"), st.PCA()], TYPES) == []


def test_labels_only_and_the_default_steps_raise_nothing():
    assert order_problems([st.Bin(columns=["city"])], {"city": "categorical"}) == []
    frame = pd.DataFrame({"x": [1.0, None, 3.0] * 10, "when": pd.date_range("2020", periods=30),
                          "city": ["a", "b", None] * 10, "y": [0, 1, 1] * 10})
    schema = infer_schema(frame, PipelineSpec(target="y"))
    types = {c: i.type for c, i in schema.items()}
    assert order_problems(default_steps(schema), types) == []


@pytest.mark.parametrize("kind", sorted(k for k, cls in st.STEPS.items() if cls.needs_filled))
def test_every_step_that_needs_filled_values_is_caught_out_of_order(kind):
    if st.STEPS[kind].stage == "column":  # judged by its place in its column chain
        steps = [st.STEPS[kind](columns="numeric"), st.Impute(columns="numeric")]
    else:  # global steps run after every column step wherever they sit: judged by whether any imputer exists
        steps = [st.STEPS[kind](), st.Scale(columns="numeric")]
    assert len(order_problems(steps, {"x": "numeric"})) == 1


def test_the_order_it_warns_about_really_fails_on_a_new_row_with_a_gap():
    """Why the warning exists: a filter drops the training rows with gaps, the model trains, and a new row with a
    gap cannot be scored."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=120), "z": rng.normal(size=120)})
    frame["y"] = (frame["x"] + frame["z"] > 0).astype(int)
    frame.loc[::10, "x"] = np.nan
    spec = PipelineSpec(target="y", models=[ModelSpec(kind="logistic_regression")], evaluation={"cv_folds": 2},
                        steps=[st.FilterRows(column="x", op="is not missing"), st.Polynomial(columns="numeric"),
                               st.Impute(columns="numeric")])
    assert order_problems(spec.steps, {"x": "numeric", "z": "numeric"})
    result = train(spec, frame)
    new = pd.DataFrame({"x": [np.nan], "z": [0.5]})
    with pytest.raises((DataError, ValueError)):
        predict_frame(result.pipeline, new)

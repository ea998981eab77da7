"""``prepare``: the model inputs, without copying the frame where nothing changes.

A million-row frame is the largest thing training holds, so every needless copy of it shows
in peak memory (issue 8: at most 3x the frame).
"""

import numpy as np
import pandas as pd

from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.compiler.prepare import prepare
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.transformers import FramePreparer
from tests.pipeline_core.frames import messy_frame


def shares(a: pd.Series, b: pd.Series) -> bool:
    return np.shares_memory(a.to_numpy(), b.to_numpy())


def defaults(frame: pd.DataFrame, **spec) -> PipelineSpec:
    base = PipelineSpec(target="churned", **spec)
    return base.model_copy(update={"steps": default_steps(infer_schema(frame, base))})


def test_when_every_row_is_kept_the_features_are_the_callers_columns_not_copies():
    frame = messy_frame()
    before = frame.copy()
    data = prepare(defaults(frame, columns={"rename": {"age": "age_years"}}), frame)
    assert list(data.X.columns) == [c for c in frame.columns if c != "churned"]  # raw names, no target
    assert shares(data.X["income"], frame["income"]) and shares(data.X["age"], frame["age"])
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is untouched, target included


def test_dropped_rows_are_left_out_once_and_rows_are_numbered_from_zero():
    frame = messy_frame()
    frame = frame.set_axis(range(1000, 1000 + len(frame)))  # an index that does not start at 0
    frame.loc[[1003, 1007], "churned"] = None
    data = prepare(defaults(frame), frame)
    assert len(data.X) == len(data.y) == len(frame) - 2
    assert list(data.X.index[:4]) == [0, 1, 2, 4] and (data.X.index == data.y.index).all()
    pd.testing.assert_series_equal(data.X["income"].reset_index(drop=True),
                                   frame["income"].drop([1003, 1007]).reset_index(drop=True))
    assert frame.index[0] == 1000  # the caller's index is unchanged


def test_the_pipelines_first_step_casts_without_copying_clean_number_columns():
    frame = messy_frame()
    X = frame.drop(columns="churned")
    X["income"] = X["income"].astype("float64")
    X.loc[0, "age"] = np.inf
    preparer = FramePreparer(rename={"income": "pay"}, types={"pay": "numeric", "age": "numeric"}).fit(X)
    out = preparer.transform(X)
    assert shares(out["pay"], X["income"])  # already clean float64: passed on as it is
    assert np.isnan(out.loc[0, "age"]) and np.isinf(X.loc[0, "age"])  # the unusable value is masked in a copy
    assert list(X.columns)[:3] == list(frame.drop(columns="churned").columns)[:3]

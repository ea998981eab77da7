"""Error analysis on real models' hold-out rows: a planted bad slice comes out on top."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_core.analysis.error_slices import error_analysis
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.errors import DataError
from pipeline_core.training.holdout import holdout_split
from pipeline_core.training.train import train
from tests.pipeline_core.group_frames import SENSITIVE, lending_frame, lending_spec, sliced_regression_frame


def fitted_holdout(spec: PipelineSpec, frame: pd.DataFrame):
    if not spec.steps:
        spec = spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})
    result = train(spec, frame)
    return result.pipeline, holdout_split(spec, frame)


def test_regression_finds_the_region_with_unexplained_noise():
    frame = sliced_regression_frame().assign(listing_id=lambda f: [f"L{i}" for i in range(len(f))])
    spec = PipelineSpec(target="price", models=[{"kind": "linear_regression"}],
                        evaluation={"cv_folds": 2, "holdout": 0.3})
    pipeline, split = fitted_holdout(spec, frame)
    assert "listing_id" not in pipeline[0].types  # the default steps drop an identifier
    analysis = error_analysis(split.X_test, split.y_test, pipeline.predict(split.X_test), "regression")
    worst = analysis.slices[0]
    assert (worst.column, worst.slice, worst.kind) == ("region", "north", "level")
    assert worst.error > 2 * analysis.overall and worst.excess_errors > 0
    assert all(s.rows >= analysis.min_slice_rows for s in analysis.slices)
    assert any(s.kind == "range" and s.column == "size" for s in
               error_analysis(split.X_test, split.y_test, split.y_test * 0 + split.y_test.mean(), "regression",
                              top_slices=100).slices)
    errors = analysis.worst_rows["absolute error"]
    assert errors.is_monotonic_decreasing and len(errors) == 20
    assert (analysis.worst_rows["region"] == "north").mean() > 0.8  # the worst rows come from that region too
    assert any(s.startswith("listing_id: every value is distinct") for s in analysis.skipped)


def test_classification_finds_the_group_the_model_cannot_see():
    frame = lending_frame(biased=True)
    pipeline, split = fitted_holdout(lending_spec(), frame)
    classes = list(pipeline.classes_)
    proba = pipeline.predict_proba(split.X_test)
    actual = proba[np.arange(len(proba)), [classes.index(c) for c in split.y_test]]
    analysis = error_analysis(split.X_test, split.y_test, pipeline.predict(split.X_test), "classification",
                              true_class_probability=actual)
    assert (analysis.slices[0].column, analysis.slices[0].slice) == (SENSITIVE, "B")  # a column the model never read
    assert analysis.error_name == "share misclassified"
    rows = analysis.worst_rows
    assert (rows["actual"] != rows["predicted"]).all()
    assert rows["probability of the actual class"].is_monotonic_increasing  # the most confident mistakes first
    assert set(rows["row in data"]) <= set(split.X_test.index)


def test_an_even_model_has_no_slice_far_above_the_overall_error():
    frame = lending_frame(biased=False)
    pipeline, split = fitted_holdout(lending_spec(), frame)
    analysis = error_analysis(split.X_test, split.y_test, pipeline.predict(split.X_test), "classification")
    assert all(s.column != SENSITIVE or s.error < analysis.overall + 0.05 for s in analysis.slices)
    assert "probability of the actual class" not in analysis.worst_rows


def test_a_perfect_model_has_no_worse_slice_and_no_wrong_rows():
    X = pd.DataFrame({"g": ["a", "b"] * 50})
    y = pd.Series(["x", "y"] * 50)
    analysis = error_analysis(X, y, y.to_numpy(), "classification")
    assert analysis.overall == 0 and analysis.slices == [] and analysis.worst_rows.empty


def test_clustering_and_empty_rows_are_refused():
    with pytest.raises(DataError, match="not clustering"):
        error_analysis(pd.DataFrame({"a": [1]}), pd.Series([1]), np.array([1]), "clustering")
    with pytest.raises(DataError, match="no rows"):
        error_analysis(pd.DataFrame({"a": []}), pd.Series([], dtype=float), np.array([]), "regression")

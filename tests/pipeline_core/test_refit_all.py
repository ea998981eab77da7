"""Refit on all rows (issue 20 point 4): after the hold-out score, the saved model is refitted on the training and
hold-out rows; every hold-out number keeps coming from the model trained without them. Real fits throughout."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from pipeline_core.artifacts.bundle import dump_bundle
from pipeline_core.artifacts.export import build_metadata
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.compiler.prepare import prepare
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.training.evaluate import evaluation_frames
from pipeline_core.training.splits import split_holdout
from pipeline_core.training.train import train


def spec_for(frame: pd.DataFrame, refit_all: bool, holdout: float = 0.25) -> PipelineSpec:
    spec = PipelineSpec.model_validate({"target": "diagnosis", "models": [{"kind": "knn"}],
                                        "evaluation": {"cv_folds": 3, "holdout": holdout, "refit_all": refit_all}})
    return spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})


@pytest.fixture(scope="module")
def both(binary_source):
    """The same definition trained with and without the refit."""
    return {refit: train(spec_for(binary_source, refit), binary_source) for refit in (True, False)}


def test_the_saved_model_saw_every_row_and_the_hold_out_model_did_not(both, binary_source):
    refitted, kept = both[True], both[False]
    rows = len(prepare(refitted.spec, binary_source).X)  # after the row steps: every row with a target
    assert refitted.pipeline[-1].n_samples_fit_ == refitted.refit_rows == rows
    assert refitted.holdout_model[-1].n_samples_fit_ == refitted.training_rows == rows - len(refitted.X_test)
    assert kept.pipeline[-1].n_samples_fit_ == kept.training_rows and kept.refit_rows is None
    assert kept.holdout_pipeline is None and kept.holdout_model is kept.pipeline


def test_the_refit_leaves_every_hold_out_number_unchanged(both):
    refitted, kept = both[True], both[False]
    assert refitted.holdout == kept.holdout and refitted.holdout
    assert [(r.model, r.folds) for r in refitted.leaderboard] == [(r.model, r.folds) for r in kept.leaderboard]
    matrices = [evaluation_frames(r)["confusion_matrix"] for r in (refitted, kept)]
    pd.testing.assert_frame_equal(*matrices)
    # the refitted model would have flattered itself on rows it has now seen
    seen = refitted.pipeline.score(refitted.X_test, refitted.y_test)
    assert seen >= refitted.holdout_model.score(refitted.X_test, refitted.y_test)


def test_the_summary_metadata_and_model_card_state_the_refit(both, binary_source):
    refitted = both[True]
    assert refitted.summary(1.0).refit_rows == refitted.refit_rows
    metadata = build_metadata(refitted, binary_source)
    assert metadata["refit_rows"] == refitted.refit_rows and build_metadata(both[False], binary_source)[
        "refit_rows"] is None
    readme = zipfile.ZipFile(io.BytesIO(dump_bundle(refitted.pipeline, metadata, binary_source))).read("README.md")
    assert f"refitted on all {refitted.refit_rows:,} rows (training and hold-out)" in readme.decode()


def test_without_hold_out_rows_there_is_nothing_to_refit_on(binary_source):
    result = train(spec_for(binary_source, True, holdout=0.0), binary_source)
    assert result.refit_rows is None and result.holdout_pipeline is None and result.holdout == {}


def test_the_split_is_the_same_so_a_stored_runs_rebuilt_hold_out_rows_are_the_ones_held_out(both, binary_source):
    refitted = both[True]
    _, X_test, _, _ = split_holdout(refitted.spec, prepare(refitted.spec, binary_source))
    assert np.array_equal(X_test.index, refitted.X_test.index)

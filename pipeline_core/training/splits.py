"""Which rows each fold and the hold-out see: the one owner of the seeded splits.

Training, tuning, evaluation and the rebuilt hold-out of a stored run all split through here, so the
same definition and data always give the same rows, whoever asks.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from pipeline_core.compiler.prepare import Prepared
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.errors import DataError


def split_holdout(spec: PipelineSpec, data: Prepared) -> tuple[Any, Any, Any, Any]:
    """The seeded (stratified) hold-out split; re-running it on the same data gives the same rows."""
    plan = spec.evaluation
    if plan.holdout <= 0:
        return data.X, None, data.y, None
    stratify = data.y if data.task == "classification" and plan.stratify else None
    if stratify is not None:
        _check_stratified_holdout(data.y, plan.holdout)
    return train_test_split(data.X, data.y, test_size=plan.holdout, random_state=plan.seed, stratify=stratify)


def _check_stratified_holdout(y: Any, holdout: float) -> None:
    """A stratified hold-out needs a row of every class on each side; scikit-learn's own refusal
    ("test_size = 600 should be greater or equal to the number of classes = 1000") names neither the
    setting nor the fix, so the same arithmetic is done here first (its ceil for the test side)."""
    n_rows, n_classes = len(y), int(pd.Series(y).nunique())
    n_test = math.ceil(holdout * n_rows)
    if n_test >= n_classes and n_rows - n_test >= n_classes:
        return
    name = getattr(y, "name", None)
    target = f"target '{name}'" if name is not None else "the target"
    if n_rows < 2 * n_classes:
        fix = "merge rare classes, or set the hold-out to 0 (cross-validation only)"
    else:
        fix = (f"raise the hold-out to at least {math.ceil(100 * n_classes / n_rows)}%, turn off stratification, "
               "merge rare classes, or set the hold-out to 0 (cross-validation only)")
    raise DataError(f"{target} has {n_classes:,} classes, but the {holdout:.0%} hold-out of {n_rows:,} rows keeps "
                    f"{n_test:,} for testing and {n_rows - n_test:,} for training: a stratified hold-out needs "
                    f"a row of every class on each side. To train, {fix}.")


def cv_splitter(task: str, spec: PipelineSpec) -> KFold | StratifiedKFold:
    plan = spec.evaluation
    cls = StratifiedKFold if task == "classification" and plan.stratify else KFold
    return cls(n_splits=plan.cv_folds, shuffle=True, random_state=plan.seed)

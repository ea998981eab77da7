"""Which rows each fold and the hold-out see: the one owner of the seeded splits.

Training, tuning, evaluation and the rebuilt hold-out of a stored run all split through here, so the
same definition and data always give the same rows, whoever asks.
"""

from __future__ import annotations

from typing import Any

from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from pipeline_core.compiler.prepare import Prepared
from pipeline_core.definition.spec import PipelineSpec


def split_holdout(spec: PipelineSpec, data: Prepared) -> tuple[Any, Any, Any, Any]:
    """The seeded (stratified) hold-out split; re-running it on the same data gives the same rows."""
    plan = spec.evaluation
    if plan.holdout <= 0:
        return data.X, None, data.y, None
    stratify = data.y if data.task == "classification" and plan.stratify else None
    return train_test_split(data.X, data.y, test_size=plan.holdout, random_state=plan.seed, stratify=stratify)


def cv_splitter(task: str, spec: PipelineSpec) -> KFold | StratifiedKFold:
    plan = spec.evaluation
    cls = StratifiedKFold if task == "classification" and plan.stratify else KFold
    return cls(n_splits=plan.cv_folds, shuffle=True, random_state=plan.seed)

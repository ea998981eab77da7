"""XGBoost's and CatBoost's classifiers, held to scikit-learn's contract for class labels.

Every other classifier in the registry takes the target as the user's labels and predicts them back, one label per
row; the pipeline, its scores, the threshold tuner, the ensembles and the scoring service rely on it. XGBoost's
classifier refuses anything but the codes 0..n-1 ("Invalid classes inferred from unique values of `y`"), and
CatBoost's predicts a column (shape ``(n, 1)``) for three classes or more. These subclasses change only that; their
parameters are the library's own, so tuning, the model card and the standalone script name them as the library's
documentation does. The standalone script defines the same classes from this module's source
(``definition.registry``), so it imports nothing here but numpy and the library: keep it that way.

:func:`classes_of` is the one place that asks a fitted model for its classes: CatBoost's regressor has a
``classes_`` too (an empty array), so ``hasattr(model, "classes_")`` would take it for a classifier.
"""

from __future__ import annotations

import catboost
import numpy as np
import xgboost


def classes_of(model: object) -> np.ndarray | None:
    """The labels a fitted classifier (or a pipeline ending in one) predicts, in its order; ``None`` for any other
    model (regressors, clustering), CatBoost's regressor with its empty ``classes_`` included."""
    classes = getattr(model, "classes_", None)
    return classes if classes is not None and len(classes) else None


class XGBLabelClassifier(xgboost.XGBClassifier):
    """XGBoost's classifier fitted on any labels: it learns their codes and predicts the labels back.

    ``class_weight="balanced"`` weighs each training row by the inverse of its class's frequency, as scikit-learn's
    classifiers do (XGBoost itself takes only per-row ``sample_weight``), so the Train page's switch and the
    autopilot weigh it like the others."""

    def __init__(self, *, class_weight: str | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.class_weight = class_weight

    def get_xgb_params(self) -> dict:
        params = super().get_xgb_params()
        params.pop("class_weight", None)  # ours, not the booster's (it would warn that it is unused)
        return params

    def fit(self, X: object, y: object, **kwargs: object) -> xgboost.XGBClassifier:
        labels, codes = np.unique(np.asarray(y), return_inverse=True)
        if self.class_weight == "balanced" and kwargs.get("sample_weight") is None:
            counts = np.bincount(codes)
            kwargs["sample_weight"] = len(codes) / (len(counts) * counts[codes])
        elif self.class_weight not in (None, "balanced"):
            raise ValueError(f"class_weight must be 'balanced' or None, not {self.class_weight!r}")
        self.labels_ = None  # while XGBoost fits, the classes it checks against are its codes 0..n-1
        super().fit(X, codes, **kwargs)
        self.labels_ = labels
        return self

    @property
    def classes_(self) -> np.ndarray:
        labels = getattr(self, "labels_", None)
        return np.arange(self.n_classes_) if labels is None else labels

    def predict(self, X: object, **kwargs: object) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X, **kwargs), axis=1)]


class CatBoostLabelClassifier(catboost.CatBoostClassifier):
    """CatBoost's classifier predicting one label per row for any number of classes."""

    def predict(self, data: object, prediction_type: str = "Class", **kwargs: object) -> object:
        out = super().predict(data, prediction_type=prediction_type, **kwargs)
        return np.asarray(out).ravel() if prediction_type == "Class" else out

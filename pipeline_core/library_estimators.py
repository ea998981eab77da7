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
    """XGBoost's classifier fitted on any labels: it learns their codes and predicts the labels back."""

    def fit(self, X: object, y: object, **kwargs: object) -> xgboost.XGBClassifier:
        labels, codes = np.unique(np.asarray(y), return_inverse=True)
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

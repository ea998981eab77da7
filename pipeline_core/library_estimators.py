"""XGBoost's and CatBoost's classifiers, held to scikit-learn's contract for class labels; LightGBM's models, able to
stop their rounds early inside a pipeline.

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

import warnings

import catboost
import lightgbm
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


class HeldAsideRounds:
    """LightGBM's rounds stopped on a share of the fit's own rows, under scikit-learn's names for it.

    LightGBM stops early only against rows it is given to watch (``eval_set``), which a pipeline's ``fit`` cannot
    pass. With ``validation_fraction`` and ``n_iter_no_change`` set (the names of scikit-learn's histogram gradient
    boosting, which does the same with ``early_stopping``), ``fit`` holds that share of its rows aside (seeded by
    ``random_state``, stratified for a classifier), fits on the rest, and stops once the held rows' loss has not
    improved for ``n_iter_no_change`` rounds; predictions then use the best round. Without both, the model fits
    as LightGBM's own, on every row."""

    def __init__(self, *, validation_fraction: float | None = None, n_iter_no_change: int | None = None,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change

    def fit(self, X: object, y: object, **kwargs: object) -> lightgbm.LGBMModel:
        if self.validation_fraction and self.n_iter_no_change and "eval_set" not in kwargs:
            X, y, kwargs = self._held_aside(X, y, kwargs)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The argument 'eval_set' is deprecated")
            return super().fit(X, y, **kwargs)

    def _held_aside(self, X: object, y: object, kwargs: dict) -> tuple[object, object, dict]:
        from sklearn.model_selection import train_test_split

        labels = np.asarray(y)
        every = np.arange(len(labels))
        classifier = isinstance(self, lightgbm.LGBMClassifier)
        try:  # stratified for classes, unless a class is too rare to have a row on both sides
            kept, held = train_test_split(every, test_size=self.validation_fraction, random_state=self.random_state,
                                          stratify=labels if classifier else None)
        except ValueError:
            kept, held = train_test_split(every, test_size=self.validation_fraction, random_state=self.random_state)
        if classifier:  # a class the fit would not see cannot be watched: its held rows go back to the fit
            unseen = ~np.isin(labels[held], labels[kept])
            kept, held = np.concatenate([kept, held[unseen]]), held[~unseen]

        def rows(data: object, which: np.ndarray) -> object:
            return data.iloc[which] if hasattr(data, "iloc") else data[which]

        # ``eval_set``, not LightGBM 4.7's newer ``eval_X``/``eval_y``: its classifier encodes the labels of the
        # former only, and fails on the latter's (the deprecation warning is silenced in ``fit``)
        stop = lightgbm.early_stopping(self.n_iter_no_change, first_metric_only=True, verbose=False)
        kwargs = {**kwargs, "eval_set": [(rows(X, held), rows(y, held))],
                  "callbacks": [*(kwargs.get("callbacks") or ()), stop]}
        weights = kwargs.get("sample_weight")
        if weights is not None:
            kwargs["sample_weight"] = np.asarray(weights)[kept]
            kwargs["eval_sample_weight"] = [np.asarray(weights)[held]]
        return rows(X, kept), rows(y, kept), kwargs


class LGBMStoppingClassifier(HeldAsideRounds, lightgbm.LGBMClassifier):
    """LightGBM's classifier, stopping early on held-aside rows when asked (:class:`HeldAsideRounds`)."""


class LGBMStoppingRegressor(HeldAsideRounds, lightgbm.LGBMRegressor):
    """LightGBM's regressor, stopping early on held-aside rows when asked (:class:`HeldAsideRounds`)."""

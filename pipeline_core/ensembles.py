"""Ensembles of compiled pipelines as one scikit-learn estimator (issue 20 point 3).

An ensemble's members are whole compiled pipelines after their ``prepare`` step (each keeps its own
encoding: histogram boosting may take category codes where a linear model takes one-hot columns), so the
saved model is ``Pipeline([("prepare", FramePreparer), ("model", Ensemble…)])`` like every other model:
pages, export and the scoring service find the prepared columns in its first step as usual.

Two ways to combine the members' outputs:

- weights (greedy ensemble selection, Caruana et al. 2004): the weighted mean of the members' class
  probabilities, or of their predictions for regression;
- a ``final_estimator`` (stacking): a simple model fitted on the members' out-of-fold outputs.

Training assembles a fitted ensemble from what cross-validation already computed (:func:`assembled`), so no
member is fitted twice; ``fit`` does the same work from scratch (for clones: the learning curve refits one),
computing a stacker's out-of-fold outputs on ``cv`` seeded folds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.utils.validation import check_is_fitted


class _Ensemble(BaseEstimator):
    """Shared by the classifier and the regressor: members, their weights or a stacker, and the fit."""

    def __init__(self, members: list[tuple[str, Any]], weights: list[float] | None = None,
                 final_estimator: Any = None, cv: int = 5, random_state: int = 0):
        self.members = members
        self.weights = weights
        self.final_estimator = final_estimator
        self.cv = cv
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> _Ensemble:
        fitted = [clone(m).fit(X, y) for _, m in self.members]
        stacked = None
        if self.final_estimator is not None:
            splitter = (StratifiedKFold if isinstance(self, ClassifierMixin) else KFold)(
                self.cv, shuffle=True, random_state=self.random_state)
            method = "predict_proba" if isinstance(self, ClassifierMixin) else "predict"
            outputs = [cross_val_predict(clone(m), X, y, cv=splitter, method=method) for _, m in self.members]
            stacked = stack_outputs(outputs)
        return assembled(self, fitted, y, stacked)

    def _member_outputs(self, X: Any) -> list[np.ndarray]:
        check_is_fitted(self, "members_")
        return [self._output(m, X) for m in self.members_]

    def _combined(self, X: Any) -> np.ndarray:
        outputs = self._member_outputs(X)
        if self.final_estimator_ is not None:
            return self._from_stacker(stack_outputs(outputs))
        weights = np.asarray(self.weights_, dtype=float)
        return np.tensordot(weights / weights.sum(), np.stack(outputs), axes=1)


class EnsembleClassifier(ClassifierMixin, _Ensemble):
    """Class probabilities of the members, weighted (or stacked by ``final_estimator``); predicts the most
    probable class. Every member must give probabilities (``predict_proba``)."""

    def _output(self, member: Any, X: Any) -> np.ndarray:
        proba = np.asarray(member.predict_proba(X), dtype=float)
        order = np.searchsorted(self.classes_, member.classes_)  # members saw the same labels; align anyway
        out = np.zeros((proba.shape[0], len(self.classes_)))
        out[:, order] = proba
        return out

    def _from_stacker(self, stacked: np.ndarray) -> np.ndarray:
        return self.final_estimator_.predict_proba(stacked)

    def predict_proba(self, X: Any) -> np.ndarray:
        return self._combined(X)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class EnsembleRegressor(RegressorMixin, _Ensemble):
    """The members' predictions, weighted (or stacked by ``final_estimator``)."""

    def _output(self, member: Any, X: Any) -> np.ndarray:
        return np.asarray(member.predict(X), dtype=float).ravel()

    def _from_stacker(self, stacked: np.ndarray) -> np.ndarray:
        return self.final_estimator_.predict(stacked)

    def predict(self, X: Any) -> np.ndarray:
        return self._combined(X)


def stack_outputs(outputs: list[np.ndarray]) -> np.ndarray:
    """A stacker's input from the members' outputs: one column per member (regression, or the second class of
    two), else one per member and class."""
    return np.column_stack([o[:, 1] if o.ndim == 2 and o.shape[1] == 2 else o for o in outputs])


def assembled(ensemble: _Ensemble, fitted: list[Any], y: Any, stacked: np.ndarray | None = None,
              stacked_y: Any = None) -> _Ensemble:
    """``ensemble`` made fitted from members already fitted on the rows of ``y`` (in ``members`` order) and, for
    stacking, the members' out-of-fold outputs (``stacked``, as :func:`stack_outputs` lays them out) on the rows
    whose targets are ``stacked_y`` (default: ``y``'s rows; a refit on more rows keeps the stacker's).

    Training calls this with its own refits and its cross-validation's out-of-fold outputs, so an ensemble
    costs no fit beyond its members' one refit each; ``fit`` calls it after doing that work itself.
    """
    if len(fitted) != len(ensemble.members):
        raise ValueError(f"{len(fitted)} fitted members for an ensemble of {len(ensemble.members)}")
    if isinstance(ensemble, ClassifierMixin):
        ensemble.classes_ = np.unique(np.asarray(y))
    ensemble.members_ = fitted
    ensemble.weights_ = list(ensemble.weights) if ensemble.weights is not None else [1.0] * len(fitted)
    ensemble.final_estimator_ = None
    if ensemble.final_estimator is not None:
        if stacked is None:
            raise ValueError("a stacked ensemble needs its members' out-of-fold outputs to fit its final estimator")
        ensemble.final_estimator_ = clone(ensemble.final_estimator).fit(stacked, y if stacked_y is None else stacked_y)
    return ensemble

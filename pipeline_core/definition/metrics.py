"""Which metrics each task reports, named as scikit-learn scorers, and which way each one is better.

This module owns metric direction: :func:`greater_is_better` for values as scorers report them (losses
negated, ``neg_*``), :func:`shown_greater_is_better` for values as the pages show them (losses positive).
Ranking, tuning, the paired test's verdict, the charts and the store's best run all ask these.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

CLASSIFICATION = ["accuracy", "balanced_accuracy", "precision_macro", "recall_macro", "f1_macro",
                  "roc_auc_ovr", "neg_log_loss"]
REGRESSION = ["r2", "neg_root_mean_squared_error", "neg_mean_absolute_error",
              "neg_mean_absolute_percentage_error"]
CLUSTERING = ["silhouette", "davies_bouldin", "calinski_harabasz"]
NEEDS_PROBA = {"neg_log_loss", "roc_auc_ovr"}
NEEDS_SCORES = {"roc_auc_ovr"}
LOWER_IS_BETTER = {"davies_bouldin"}  # scorers whose reported value is a loss that is not negated
EQUAL_CLASS = frozenset({"balanced_accuracy", "recall_macro", "f1_macro"})
"""Metrics that count every class alike, however rare: models ranked on one are fitted with balanced class weights
where they take them (the autopilot's candidates, an ensemble's stacker), so they learn what they are judged on."""
# the values a score can take, as shown (losses positive); ``None``: unbounded on that side. A mean ± std drawn
# past these (an accuracy of 0.98 ± 0.05) promises a score no model can reach, so charts clip to them.
BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "accuracy": (0.0, 1.0), "balanced_accuracy": (0.0, 1.0), "precision_macro": (0.0, 1.0),
    "recall_macro": (0.0, 1.0), "f1_macro": (0.0, 1.0), "roc_auc_ovr": (0.0, 1.0), "neg_log_loss": (0.0, None),
    "r2": (None, 1.0), "neg_root_mean_squared_error": (0.0, None), "neg_mean_absolute_error": (0.0, None),
    "neg_mean_absolute_percentage_error": (0.0, None), "silhouette": (-1.0, 1.0), "davies_bouldin": (0.0, None),
    "calinski_harabasz": (0.0, None),
}

LABELS = {
    "accuracy": "Accuracy", "balanced_accuracy": "Balanced accuracy", "precision_macro": "Precision (macro)",
    "recall_macro": "Recall (macro)", "f1_macro": "F1 (macro)", "roc_auc_ovr": "ROC AUC",
    "neg_log_loss": "Log loss (negated)", "r2": "R²", "neg_root_mean_squared_error": "RMSE (negated)",
    "neg_mean_absolute_error": "MAE (negated)", "neg_mean_absolute_percentage_error": "MAPE (negated)",
    "silhouette": "Silhouette", "davies_bouldin": "Davies-Bouldin", "calinski_harabasz": "Calinski-Harabasz",
}


def metrics_for(task: str) -> list[str]:
    return {"classification": CLASSIFICATION, "regression": REGRESSION, "clustering": CLUSTERING}[task]


def usable_metrics(task: str, estimator: Any) -> list[str]:
    """Drop the metrics an estimator cannot produce (log loss needs probabilities)."""
    names = metrics_for(task)
    has_proba = hasattr(estimator, "predict_proba")
    has_scores = has_proba or hasattr(estimator, "decision_function")
    return [m for m in names if (m not in NEEDS_PROBA or has_proba) and (m not in NEEDS_SCORES or has_scores)]


def primary_metric(task: str, requested: str, y: pd.Series | None) -> str:
    """The metric that ranks models: the user's choice, else one suited to the target."""
    if requested != "auto":
        if requested not in metrics_for(task):
            from pipeline_core.errors import SpecError

            raise SpecError(f"evaluation.metric: '{requested}' is not a {task} metric; use one of "
                            f"{', '.join(metrics_for(task))}")
        return requested
    if task == "classification":
        shares = y.value_counts(normalize=True) if y is not None else pd.Series([0.5])
        return "balanced_accuracy" if shares.min() < 0.2 else "accuracy"
    return {"regression": "r2", "clustering": "silhouette"}[task]


def greater_is_better(metric: str) -> bool:
    """Whether a larger reported value of ``metric`` is better (scikit-learn negates its losses, so mostly yes)."""
    return metric not in LOWER_IS_BETTER


def shown_value(metric: str, value: float) -> float:
    """The value as people read it: scikit-learn's negated losses (``neg_*``) come back positive."""
    return -value if metric.startswith("neg_") else value


def shown_greater_is_better(metric: str) -> bool:
    """Whether a larger *shown* value is better: pages show ``neg_*`` losses positive, where lower is better."""
    return greater_is_better(metric) != metric.startswith("neg_")


def better(metric: str, a: float, b: float) -> bool:
    """True when score ``a`` beats ``b`` for ``metric`` (NaN never wins)."""
    if np.isnan(a):
        return False
    if np.isnan(b):
        return True
    return a > b if greater_is_better(metric) else a < b

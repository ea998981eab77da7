"""Bias by group after training: the task's metrics per group with fairlearn's ``MetricFrame``.

Classification: accuracy, selection rate (share predicted positive), true and false positive
rates, for one positive class (the model's last class unless named: for a binary model, the
class scikit-learn treats as positive). Regression: MAE and RMSE. Each group gets its metrics;
the groups large enough to judge (:class:`~pipeline_core.analysis.groups.GroupRule`) get a
bootstrap confidence interval, and the gap between the highest and lowest of them is summarised
as a difference and a ratio, each with its interval, and flagged by the rule.

The metric functions are plain numpy rather than scikit-learn's, and the bootstrap intervals come from
:mod:`pipeline_core.analysis.group_bootstrap` (fairlearn's resampling, counted with numpy): fairlearn's own
``n_boot`` took a minute on 10,000 hold-out rows in 8 groups.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame

from pipeline_core.analysis.group_bootstrap import (
    Intervals,
    bootstrap_intervals,
    classification_parts,
    regression_parts,
)
from pipeline_core.analysis.groups import DataBalance, GroupRule, Groups, finite_or_none
from pipeline_core.errors import DataError
from pipeline_core.json_data import jsonable

LABELS = {"accuracy": "Accuracy", "selection_rate": "Selection rate", "true_positive_rate": "True positive rate",
          "false_positive_rate": "False positive rate", "mae": "MAE", "rmse": "RMSE"}
Status = Literal["ok", "possible", "disparity", "not judged"]


@dataclass(frozen=True)
class GroupMetrics:
    """One group's size and metrics; ``intervals`` holds [low, high] for groups large enough to judge."""

    group: str
    values: dict[str, str]
    size: int
    metrics: dict[str, float | None]
    intervals: dict[str, list[float | None]]
    too_small: bool


@dataclass(frozen=True)
class MetricGap:
    """How far apart the judged groups are on one metric, and whether the rule flags it."""

    metric: str
    difference: float | None
    difference_interval: list[float | None]
    ratio: float | None
    ratio_interval: list[float | None]
    highest_group: str
    lowest_group: str
    status: Status
    sentence: str


@dataclass(frozen=True)
class FairnessReport:
    """Metrics by group for one model on labelled rows, and the gaps between groups."""

    task: str
    columns: list[str]
    positive_label: str | None
    rows: int
    overall: dict[str, float | None]
    groups: list[GroupMetrics]
    gaps: list[MetricGap]
    rule: GroupRule
    rule_text: str
    notes: list[str] = field(default_factory=list)
    balance: DataBalance | None = None

    @property
    def flagged(self) -> list[MetricGap]:
        """The gaps the rule flags as a disparity: a possible one is noted, not flagged, since sampling noise
        alone puts a gap's estimate past the line often enough on a few hundred rows."""
        return [gap for gap in self.gaps if gap.status == "disparity"]

    @property
    def small_groups(self) -> list[str]:
        return [g.group for g in self.groups if g.too_small]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: per group its size and metrics, the differences and ratios, and the flags."""
        return _finite({
            "task": self.task, "sensitive": self.columns, "positive_label": self.positive_label, "rows": self.rows,
            "overall": self.overall,
            "groups": [asdict(g) for g in self.groups],
            "differences": {g.metric: {"value": g.difference, "interval": g.difference_interval,
                                       "highest_group": g.highest_group, "lowest_group": g.lowest_group}
                            for g in self.gaps},
            "ratios": {g.metric: {"value": g.ratio, "interval": g.ratio_interval} for g in self.gaps},
            "flags": [{"metric": g.metric, "status": g.status, "sentence": g.sentence} for g in self.gaps],
            "small_groups": self.small_groups,
            "rule": {**asdict(self.rule), "text": self.rule_text},
            "notes": self.notes,
            "data_balance": asdict(self.balance) if self.balance is not None else None,
        })


def _finite(value: Any) -> Any:
    """``value`` as strict JSON data: numpy scalars as Python values, NaN and infinities as ``None``, deeply."""
    value = jsonable(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return finite_or_none(value) if isinstance(value, float) else value


def fairness_report(
    y_true: pd.Series, y_pred: Any, groups: Groups, task: str, *, positive: Any = None,
    classes: list[Any] | None = None, rule: GroupRule | None = None, balance: DataBalance | None = None,
) -> FairnessReport:
    """The model's metrics by group: ``y_true`` and ``y_pred`` are in the order of ``groups.frame``'s rows."""
    rule = rule or GroupRule()
    if task not in ("classification", "regression"):
        raise DataError(f"bias by group needs a classification or regression model, not {task}")
    if len(y_true) == 0:
        raise DataError("there are no labelled rows to measure the model on")
    truth, predicted = np.asarray(y_true), np.asarray(y_pred)
    positive_label = None
    if task == "classification":
        truth, predicted = truth.astype(str), predicted.astype(str)
        positive_label = choose_positive(positive, classes, truth)
        metrics = _classification_metrics(positive_label, rule.min_class_rows)
    else:
        truth, predicted = _numbers(truth, "target"), _numbers(predicted, "prediction")
        metrics = {"mae": _mae, "rmse": _rmse}
    sensitive = groups.frame.reset_index(drop=True)
    labels = groups.labels().to_numpy(dtype=str)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a blank rate in a group
        everyone = MetricFrame(metrics=metrics, y_true=truth, y_pred=predicted, sensitive_features=sensitive)
        sizes = sensitive.groupby(groups.columns, sort=True).size()
        judged_keys = {_key(k) for k, n in sizes.items() if n >= rule.min_group_rows}
        judged = np.isin(labels, [_label(k, groups.columns) for k in judged_keys])
        notes = list(groups.notes)
        between, intervals = None, None
        if len(judged_keys) >= 2:
            between = MetricFrame(metrics=metrics, y_true=truth[judged], y_pred=predicted[judged],
                                  sensitive_features=sensitive[judged].reset_index(drop=True))
            parts = (classification_parts(truth[judged], predicted[judged], positive_label)
                     if task == "classification" else regression_parts(truth[judged], predicted[judged]))
            intervals = bootstrap_intervals(labels[judged], parts, min_class_rows=rule.min_class_rows,
                                            n_boot=rule.n_boot, confidence=rule.confidence, seed=rule.seed)
        else:
            notes.append(f"fewer than two groups have {rule.min_group_rows} rows, so no gap between groups is judged")
    rows = _group_rows(everyone, intervals, sizes, groups, judged_keys, metrics)
    gaps = _gaps(between, intervals, metrics, rule, task) if between is not None and intervals else []
    overall = {name: finite_or_none(v) for name, v in everyone.overall.items()}
    return FairnessReport(task, groups.columns, positive_label, len(truth), overall, rows, gaps, rule,
                          rule.describe(task), notes, balance)


def choose_positive(positive: Any, classes: list[Any] | None, truth: Any) -> str:
    """The class counted as selected: ``positive`` if it is one of ``classes``, else the last class."""
    known = [str(c) for c in classes] if classes else sorted(set(map(str, truth)))
    if positive is None:
        if not known:
            raise DataError("the rows hold no class labels")
        return known[-1]
    if str(positive) not in known:
        raise DataError(f"positive class '{positive}' is not one of the model's classes: {', '.join(known[:20])}")
    return str(positive)


def _numbers(values: np.ndarray, what: str) -> np.ndarray:
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    if np.isnan(numbers).any():
        raise DataError(f"the {what} holds values that are not numbers; a regression model is measured on numbers")
    return numbers


def _classification_metrics(positive: str, min_rows: int) -> dict[str, Callable[[Any, Any], float]]:
    def accuracy(t: Any, p: Any) -> float:
        return float(np.mean(np.asarray(t) == np.asarray(p)))

    def selection_rate(t: Any, p: Any) -> float:
        return float(np.mean(np.asarray(p) == positive))

    def true_positive_rate(t: Any, p: Any) -> float:
        return _rate(np.asarray(p)[np.asarray(t) == positive])

    def false_positive_rate(t: Any, p: Any) -> float:
        return _rate(np.asarray(p)[np.asarray(t) != positive])

    def _rate(predicted: np.ndarray) -> float:
        return float(np.mean(predicted == positive)) if len(predicted) >= min_rows else np.nan

    return {"accuracy": accuracy, "selection_rate": selection_rate, "true_positive_rate": true_positive_rate,
            "false_positive_rate": false_positive_rate}


def _mae(t: Any, p: Any) -> float:
    return float(np.mean(np.abs(np.asarray(t) - np.asarray(p))))


def _rmse(t: Any, p: Any) -> float:
    return float(np.sqrt(np.mean((np.asarray(t) - np.asarray(p)) ** 2)))


def _key(key: Any) -> tuple[str, ...]:
    return tuple(str(k) for k in key) if isinstance(key, tuple) else (str(key),)


def _label(key: tuple[str, ...], columns: list[str]) -> str:
    return key[0] if len(columns) == 1 else ", ".join(f"{c}={v}" for c, v in zip(columns, key, strict=True))


def _group_rows(everyone: MetricFrame, intervals: Intervals | None, sizes: pd.Series, groups: Groups,
                judged: set[tuple[str, ...]], metrics: dict[str, Any]) -> list[GroupMetrics]:
    by_group = everyone.by_group
    rows = []
    for raw_key, size in sizes.items():
        key = _key(raw_key)
        label = _label(key, groups.columns)
        index = key if len(key) > 1 else key[0]
        values = {name: finite_or_none(by_group.loc[index, name]) for name in metrics}
        bounds: dict[str, list[float | None]] = {}
        if key in judged and intervals is not None:
            bounds = {name: [finite_or_none(v) for v in intervals.groups[name][label]] for name in metrics}
        rows.append(GroupMetrics(label, dict(zip(groups.columns, key, strict=True)), int(size), values, bounds,
                                 key not in judged))
    return rows


def _gaps(between: MetricFrame, intervals: Intervals, metrics: dict[str, Any], rule: GroupRule,
          task: str) -> list[MetricGap]:
    """fairlearn's difference and ratio between the judged groups, with the bootstrap's intervals."""
    difference, ratio = between.difference(), between.ratio()
    columns = [str(c) for c in between.by_group.index.names]
    gaps = []
    for name in metrics:
        values = between.by_group[name].dropna()
        if len(values) < 2:
            gaps.append(MetricGap(name, None, [None, None], None, [None, None], "", "", "not judged",
                                  f"{LABELS[name]}: fewer than two groups have enough rows to compare."))
            continue
        gap = MetricGap(name, finite_or_none(difference[name]), [finite_or_none(v) for v in intervals.difference[name]],
                        finite_or_none(ratio[name]), [finite_or_none(v) for v in intervals.ratio[name]],
                        _label(_key(values.idxmax()), columns), _label(_key(values.idxmin()), columns), "ok", "")
        status = _status(gap, rule, task)
        gaps.append(MetricGap(**{**asdict(gap), "status": status, "sentence": _sentence(gap, status, task)}))
    return gaps


def _status(gap: MetricGap, rule: GroupRule, task: str) -> Status:
    classification = task == "classification"
    estimate, bound = (gap.difference, gap.difference_interval[0]) if classification else (gap.ratio,
                                                                                            gap.ratio_interval[1])

    def past(value: float | None) -> bool:
        if value is None:
            return False
        return value > rule.max_difference if classification else value < rule.min_ratio

    if past(bound):
        return "disparity"
    return "possible" if past(estimate) else "ok"


def _sentence(gap: MetricGap, status: Status, task: str) -> str:
    label = LABELS[gap.metric]
    if gap.difference == 0:
        return f"{label} is the same in every group large enough to judge."
    verdict = {"disparity": "a disparity", "possible": "a possible disparity (the interval reaches the line)",
               "ok": "within the rule"}[status]
    if task == "classification":
        low, high = gap.difference_interval
        return (f"{label} differs by {gap.difference:.3f} (interval {_number(low)} to {_number(high)}) between "
                f"'{gap.highest_group}' (highest) and '{gap.lowest_group}' (lowest): {verdict}.")
    low, high = gap.ratio_interval
    return (f"{label} of '{gap.lowest_group}' (lowest) is {gap.ratio:.2f} times that of '{gap.highest_group}' "
            f"(highest; interval {_number(low)} to {_number(high)}): {verdict}.")


def _number(value: float | None) -> str:
    return "?" if value is None else f"{value:.3f}"

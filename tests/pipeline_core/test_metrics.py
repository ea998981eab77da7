"""Metric direction has one owner, definition.metrics: ranking, tuning and the pages ask it."""

from __future__ import annotations

import math

import pytest

from pipeline_core.definition import metrics as mt
from pipeline_core.training.results import ModelScore, rank_key

ALL = [m for task in ("classification", "regression", "clustering") for m in mt.metrics_for(task)]


@pytest.mark.parametrize("metric", ALL)
def test_every_metric_has_a_direction_for_reported_and_shown_values(metric):
    reported = mt.greater_is_better(metric)
    assert reported == (metric != "davies_bouldin")
    assert mt.shown_greater_is_better(metric) == (reported and not metric.startswith("neg_"))
    assert mt.better(metric, 2.0, 1.0) == reported
    assert not mt.better(metric, math.nan, 1.0)


@pytest.mark.parametrize("metric", ["davies_bouldin", "r2", "neg_root_mean_squared_error"])
def test_the_leaderboard_ranks_in_the_metrics_direction(metric):
    rows = [ModelScore(model=str(v), label=str(v), metrics={metric: v}) for v in (0.3, 0.9, 0.5)]
    best = sorted(rows, key=lambda row: rank_key(row, metric))[0]
    assert mt.better(metric, best.metrics[metric], 0.5)

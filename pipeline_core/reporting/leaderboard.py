"""A run's leaderboard as a frame (one row per model, best first, losses shown positive) and its fold scores.

The Compare page's table and fold chart and the model report read the stored leaderboard through these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from pipeline_core.definition import metrics
from pipeline_core.reporting.style import display_value
from pipeline_core.training.ensemble import RANKED_FIRST


def metric_text(row: Mapping[str, Any], metric: str) -> str:
    """``0.9512 ± 0.0123`` (mean ± std across folds) from a leaderboard frame row."""
    mean, std = row.get(metric), row.get(f"{metric}__std")
    if mean is None or pd.isna(mean):
        return "—"
    return f"{mean:.4f} ± {std:.4f}" if std is not None and not pd.isna(std) else f"{mean:.4f}"


def _mean_and_std(row: Mapping[str, Any], name: str) -> tuple[float | None, float | None]:
    value = row.get("metrics", {}).get(name)
    std = row.get("metrics_std", {}).get(name)
    if isinstance(value, Mapping):  # {"mean": m, "std": s} is accepted too
        value, std = value.get("mean"), value.get("std", std)
    return value, std


def metric_names(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Metrics reported by any model, in the registry's order."""
    seen = {name for row in records for name in row.get("metrics", {})}
    ordered = [m for task in ("classification", "regression", "clustering") for m in metrics.metrics_for(task)]
    return [m for m in ordered if m in seen] + sorted(seen - set(ordered))


def leaderboard_frame(records: Sequence[Mapping[str, Any]], metric: str | None) -> pd.DataFrame:
    """One row per model, best first: ``model``, ``Model``, each metric (displayed sign) and ``<metric>__std``.

    The order is the run's (``training.results.rank_key``, then ``training.ensemble.ensemble_first``, which can put
    an ensemble above a single model whose lead is within the folds' noise), so the first row is always the model
    the run kept; failed rows go last."""
    rows = []
    for record in records:
        threshold = record.get("threshold") or {}
        row = {"model": record["model"], "Model": record.get("label") or record["model"],
               "Threshold": threshold.get("value"), "Threshold metric": threshold.get("metric"),
               "Fit time (s)": record.get("fit_seconds"), "Notes": "; ".join(record.get("notes") or []),
               "Error": record.get("error") or ""}
        for name in metric_names([record]):
            mean, std = _mean_and_std(record, name)
            row[name] = display_value(name, mean) if mean is not None else None
            row[f"{name}__std"] = std
        rows.append(row)
    board = pd.DataFrame(rows)
    if board.empty or not metric or metric not in board:
        return board
    board["_failed"] = board["Error"] != ""
    board = board.sort_values("_failed", kind="stable")
    return board.drop(columns="_failed").reset_index(drop=True)


def ranked_first_note(records: Sequence[Mapping[str, Any]]) -> str | None:
    """Why the first row (the model kept) ranks above a row with a better score, in the run's own words (the note
    ``training.ensemble.ensemble_first`` wrote on it); ``None`` when the run ranked by score alone."""
    notes = (records[0].get("notes") or []) if records else []
    return next((note for note in notes if note.startswith(RANKED_FIRST)), None)


def metric_names_of(board: pd.DataFrame) -> list[str]:
    return [c for c in board.columns if c in metrics.LABELS]


def fold_scores(records: Sequence[Mapping[str, Any]], metric: str) -> pd.DataFrame:
    """Tidy fold scores: one row per (model, fold) with the displayed value."""
    rows = []
    for record in records:
        for fold, value in enumerate(record.get("folds", {}).get(metric, []), start=1):
            rows.append({"Model": record.get("label") or record["model"], "fold": fold,
                         "value": display_value(metric, value)})
    return pd.DataFrame(rows, columns=["Model", "fold", "value"])

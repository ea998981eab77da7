"""What drift needs to know about the training rows, without the rows: bins, counts and quantiles per column.

The drift report (:mod:`pipeline_core.analysis.drift`) compares new rows with a :class:`ColumnReference`,
built here from the training values, whether it holds the raw training frame or only a reference read from a
model bundle: the bins (deciles for numbers, each value for numbers with few distinct values, the most
frequent levels plus "other" for labels, missing values as a bin of their own) and the training counts in
them are the same object in both cases, so PSI from a shipped reference is exactly PSI from the raw rows.

A reference is plain data (pydantic, JSON without NaN or infinities), so a bundle can carry it and a
receiver can read it without trusting anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

N_BINS = 10
MAX_LEVELS = 20
MIN_LEVEL_SHARE = 0.01
N_QUANTILES = 101
MISSING = "(missing)"
OTHER = "(other)"

Kind = Literal["numeric", "datetime", "categorical"]


class Bins(BaseModel):
    """How one column's values are counted, fixed by its training values; the last bin is always 'missing'.

    ``edges``: numbers cut at the training deciles (inner cut points; below the first and above the last are
    bins too). ``values``: numbers with few distinct values, one bin per frequent value (``levels`` are their
    labels) plus "other". Otherwise ``levels``: the frequent labels plus "other".
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["edges", "values", "levels"]
    edges: list[float] = Field(default_factory=list)
    values: list[float] = Field(default_factory=list)
    levels: list[str] = Field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        """One label per bin, in the order of :meth:`counts`."""
        if self.method == "edges":
            cuts = ["-inf", *(f"{e:.6g}" for e in self.edges), "inf"]
            return [*(f"[{lo}, {hi})" for lo, hi in zip(cuts, cuts[1:], strict=False)), MISSING]
        return [*self.levels, OTHER, MISSING]

    def counts(self, values: pd.Series) -> np.ndarray:
        """How many of ``values`` fall in each bin (numbers for numeric bins, anything for level bins)."""
        if self.method == "edges":
            present = values.dropna().to_numpy(dtype=float)
            edges = np.concatenate([[-np.inf], self.edges, [np.inf]])
            counts = np.histogram(present, bins=edges)[0] if len(present) else np.zeros(len(edges) - 1, dtype=int)
            return np.append(counts, values.isna().sum()).astype(int)
        if self.method == "values":
            labels = values.map(dict(zip(self.values, self.levels, strict=True)))
            labels = labels.where(labels.notna(), np.where(values.notna(), OTHER, MISSING))
        else:
            labels = as_levels(values)
            labels = labels.where(labels.isin(self.levels) | (labels == MISSING), OTHER)
        return labels.value_counts().reindex([*self.levels, OTHER, MISSING], fill_value=0).to_numpy(dtype=int)


class ColumnReference(BaseModel):
    """One training column as drift sees it: its bins, the training counts in them, and its quantiles.

    ``quantiles`` (numbers and dates only) are the 0th, 1st, …, 100th percentiles of the present training
    values, for a Kolmogorov–Smirnov statistic when the raw values are not at hand; numbers with at most
    :data:`N_BINS` distinct values also keep each value's count (``distinct``, ``distinct_counts``), which
    gives that statistic exactly.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: Kind
    rows: int
    missing: int
    bins: Bins
    counts: list[int]
    quantiles: list[float] | None = None
    distinct: list[float] | None = None
    distinct_counts: list[int] | None = None

    @property
    def shares(self) -> np.ndarray:
        return np.asarray(self.counts, dtype=float) / max(self.rows, 1)


class DriftReference(BaseModel):
    """The reference of every column drift compares (a model's features, in the model's order)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal[1] = 1
    rows: int
    columns: list[ColumnReference]


def column_kind(values: pd.Series) -> Kind:
    """numeric, datetime or categorical: the three ways a column is binned."""
    if pd.api.types.is_bool_dtype(values):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    if pd.api.types.is_numeric_dtype(values):
        return "numeric"
    return "categorical"


def drift_kind(semantic_type: str) -> Kind:
    """How drift bins a column of a semantic type (:mod:`pipeline_core.compiler.schema`): as the model reads it.

    A column the model treats as labels (categorical, text, an identifier) is binned by level even when its
    values are numbers, and a date column held as text is binned by time, so drift and the model agree.
    """
    return semantic_type if semantic_type in ("numeric", "datetime") else "categorical"  # type: ignore[return-value]


def comparable(values: pd.Series, kind: Kind) -> pd.Series:
    """Values as drift bins them: dates as seconds since 1970, numbers as floats, labels unchanged."""
    if kind == "datetime":
        parsed = pd.to_datetime(values, errors="coerce", utc=True)
        return (parsed - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    if kind == "numeric":
        return pd.to_numeric(values, errors="coerce").astype(float)
    return values


def column_reference(name: str, values: pd.Series, kind: Kind | None = None) -> ColumnReference:
    """The reference of one training column; ``kind`` (see :func:`drift_kind`) defaults to the values' own."""
    kind = kind or column_kind(values)
    numbers = comparable(values, kind)
    bins = _bins(numbers, kind)
    present = numbers.dropna().to_numpy(dtype=float) if kind != "categorical" else np.array([])
    quantiles = np.quantile(present, np.linspace(0, 1, N_QUANTILES)).tolist() if len(present) else None
    distinct, distinct_counts = None, None
    if bins.method == "values":
        tally = numbers.value_counts().sort_index()
        distinct, distinct_counts = tally.index.astype(float).tolist(), tally.to_numpy(dtype=int).tolist()
    return ColumnReference(name=name, kind=kind, rows=len(values), missing=int(values.isna().sum()), bins=bins,
                           counts=bins.counts(numbers).tolist(), quantiles=quantiles, distinct=distinct,
                           distinct_counts=distinct_counts)


def drift_reference(frame: pd.DataFrame, kinds: Mapping[str, Kind] | None = None) -> DriftReference:
    """The reference of every column of ``frame`` (the training rows of the columns a model reads).

    ``kinds`` (column → kind, from the model's schema) overrides how a column is binned; others go by dtype.
    """
    kinds = kinds or {}
    return DriftReference(rows=len(frame), columns=[column_reference(str(c), frame[c], kinds.get(str(c)))
                                                    for c in frame.columns])


def as_levels(values: pd.Series) -> pd.Series:
    """Every value as text, missing ones as the missing label."""
    return values.astype(object).where(values.notna(), MISSING).astype(str)


def _bins(values: pd.Series, kind: Kind) -> Bins:
    if kind == "categorical":
        return Bins(method="levels", levels=_frequent(as_levels(values)))
    present = values.dropna()
    if present.nunique() <= N_BINS:
        labels = {v: str(v) for v in present.unique()}
        kept = _frequent(as_levels(values.map(labels)))
        by_label = {label: value for value, label in labels.items()}
        return Bins(method="values", values=[float(by_label[k]) for k in kept], levels=kept)
    edges = np.unique(np.quantile(present.to_numpy(), np.linspace(0, 1, N_BINS + 1)[1:-1]))
    return Bins(method="edges", edges=edges.tolist())


def _frequent(labels: pd.Series) -> list[str]:
    """Labels holding at least :data:`MIN_LEVEL_SHARE` of the rows (missing aside), the :data:`MAX_LEVELS` largest."""
    shares = labels.value_counts(normalize=True)
    common = shares[(shares >= MIN_LEVEL_SHARE) & (shares.index != MISSING)]
    return [str(level) for level in common.index[:MAX_LEVELS]]

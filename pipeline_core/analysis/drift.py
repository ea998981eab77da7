"""Data drift: how far new rows have moved from the rows a model was trained on.

Two views per column, because each misses what the other catches:

* PSI (population stability index) compares the share of rows per bin. Bins are the
  training data's deciles for numbers (each value for numbers with few distinct values)
  and the most frequent levels plus "other" for labels; missing values are a bin of their
  own, so a column that starts arriving empty drifts. Rule of thumb: < 0.1 stable,
  0.1–0.2 moderate, ≥ 0.2 a large shift. On small samples PSI is noisy (two random
  samples of 60 and 150 rows average about 0.2 over ten bins), so a large PSI only counts
  when sampling noise alone is unlikely to produce it: ``PSI / (1/n_train + 1/n_new)`` is
  approximately χ² with (bins − 1) degrees of freedom when nothing changed.
* The two-sample Kolmogorov–Smirnov test compares whole numeric distributions. Its
  p-value becomes tiny on large samples for shifts nobody cares about, so a column is
  flagged by KS only when the statistic is also large enough to matter.

A column is ``drifted`` when (PSI ≥ :data:`PSI_DRIFT` and its noise p-value < α) or (KS
p-value < α and KS statistic ≥ :data:`KS_MIN_STATISTIC`), where α is :data:`ALPHA` divided
by the number of columns compared — a Bonferroni correction, since a wide table would
otherwise flag a few columns by chance. The reported p-value is the raw one. Labels rarer
than :data:`MIN_LEVEL_SHARE` of the training rows are pooled into "other", so free text and
identifiers do not drift merely because every value is new.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from pipeline_core.analysis.drift_reference import (
    MAX_LEVELS,
    MIN_LEVEL_SHARE,
    N_BINS,
    ColumnReference,
    DriftReference,
    Kind,
    column_kind,
    column_reference,
    comparable,
    drift_kind,
)
from pipeline_core.errors import DataError

__all__ = ["ALPHA", "COLUMNS", "KS_MIN_STATISTIC", "MAX_LEVELS", "MIN_LEVEL_SHARE", "N_BINS", "PSI_DRIFT",
           "PSI_MODERATE", "TrainingSide", "column_kind", "drift_against", "drift_from_reference", "drift_kind",
           "drift_report", "drifted_columns", "population_stability_index", "training_side"]

PSI_DRIFT = 0.2
PSI_MODERATE = 0.1
ALPHA = 0.05
KS_MIN_STATISTIC = 0.1
EPSILON = 1e-4
COLUMNS = ["column", "type", "psi", "ks_statistic", "ks_pvalue", "drifted", "note"]


@dataclass(frozen=True)
class TrainingSide:
    """The training half of :func:`drift_report`, built once for many new frames (drift per time bucket).

    Per column: its name in the frames, its reference (bins and counts), and its present training values as
    drift compares them (``None`` for labels), which the exact Kolmogorov–Smirnov test reads.
    """

    columns: tuple[tuple[object, ColumnReference, np.ndarray | None], ...]
    alpha: float


def training_side(train_frame: pd.DataFrame, *, kinds: Mapping[str, Kind] | None = None,
                  labels: Mapping[str, str] | None = None) -> TrainingSide:
    """What :func:`drift_against` needs of the training rows; ``kinds`` and ``labels`` as in :func:`drift_report`."""
    if train_frame.empty:
        raise DataError("drift needs rows in both the training data and the new data")
    kinds, labels = kinds or {}, labels or {}
    columns = []
    for name in train_frame.columns:
        reference = column_reference(labels.get(str(name), str(name)), train_frame[name], kinds.get(str(name)))
        raw = None
        if reference.kind != "categorical":
            raw = comparable(train_frame[name], reference.kind).dropna().to_numpy()
        columns.append((name, reference, raw))
    return TrainingSide(columns=tuple(columns), alpha=ALPHA / max(len(train_frame.columns), 1))


def drift_report(train_frame: pd.DataFrame, new_frame: pd.DataFrame, *, kinds: Mapping[str, Kind] | None = None,
                 labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per training column: type, PSI, KS statistic and p-value, drifted flag, a note.

    Columns absent from the new data are reported as drifted with a note, not raised,
    so one missing column does not hide the others. Sorted by PSI, largest first.
    ``kinds`` (column → kind, see :func:`drift_kind`) bins a column as the model's schema reads it rather
    than by its dtype; ``labels`` (column → name) names it in the report as the pipeline does (its renamed
    name). Both are keyed by the columns' names in the frames.
    """
    if train_frame.empty or new_frame.empty:
        raise DataError("drift needs rows in both the training data and the new data")
    return drift_against(training_side(train_frame, kinds=kinds, labels=labels), new_frame)


def drift_against(training: TrainingSide, new_frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`drift_report` of ``new_frame`` against a training side built once (the same report)."""
    if new_frame.empty:
        raise DataError("drift needs rows in both the training data and the new data")
    return _report([_column_drift(reference, new_frame, name, training.alpha, raw)
                    for name, reference, raw in training.columns])


def drift_from_reference(reference: DriftReference, new_frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`drift_report` against a reference instead of the training rows (e.g. one shipped in a bundle).

    The bins and training counts are the reference's, so PSI, its noise verdict and the categorical verdicts
    equal the report from the raw rows. Without the raw values, the Kolmogorov–Smirnov statistic is measured
    against the reference's percentiles (within about 0.01 of the exact one) and its p-value is the
    asymptotic one.
    """
    if reference.rows == 0 or new_frame.empty:
        raise DataError("drift needs rows in both the training data and the new data")
    alpha = ALPHA / max(len(reference.columns), 1)
    return _report([_column_drift(column, new_frame, column.name, alpha, None) for column in reference.columns])


def _report(rows: list[dict]) -> pd.DataFrame:
    report = pd.DataFrame(rows, columns=COLUMNS)
    return report.sort_values("psi", ascending=False, na_position="first", kind="stable").reset_index(drop=True)


def _column_drift(reference: ColumnReference, new_frame: pd.DataFrame, name: object, alpha: float,
                  raw: np.ndarray | None) -> dict:
    """One column's row; ``raw`` (the present training values, as :func:`comparable` reads them) gives the exact
    KS test, else the percentiles do."""
    label, kind = reference.name, reference.kind
    if name not in new_frame.columns:
        return _row(label, kind, np.nan, np.nan, np.nan, True, "missing from the new data")
    current = comparable(new_frame[name], kind)
    expected = reference.shares
    actual = reference.bins.counts(current) / max(len(current), 1)
    psi, noise = _psi_verdict((expected, actual), reference.rows, len(current), alpha)
    if kind == "categorical":
        return _row(label, kind, psi, np.nan, np.nan, psi >= PSI_DRIFT and not noise, noise)
    unparsed = int(current.isna().sum() - new_frame[name].isna().sum())
    what = "dates" if kind == "datetime" else "numbers"
    note = f"{unparsed:,} new value(s) are not {what} (counted as missing)" if unparsed > 0 else ""
    cur = current.dropna().to_numpy()
    if reference.rows == reference.missing or len(cur) == 0:
        side = "training" if reference.rows == reference.missing else "new"
        note = "; ".join(filter(None, [note, f"every {side} value is missing"]))
        return _row(label, kind, psi, np.nan, np.nan, psi >= PSI_DRIFT, note)
    if raw is not None:
        ks = stats.ks_2samp(raw, cur)
        statistic, pvalue = float(ks.statistic), float(ks.pvalue)
    else:
        statistic, pvalue = _ks_from_quantiles(reference, cur)
    by_ks = pvalue < alpha and statistic >= KS_MIN_STATISTIC
    drifted = (psi >= PSI_DRIFT and not noise) or by_ks
    return _row(label, kind, psi, statistic, pvalue, drifted, "; ".join(filter(None, [note, "" if by_ks else noise])))


def _ks_from_quantiles(reference: ColumnReference, current: np.ndarray) -> tuple[float, float]:
    """KS statistic of ``current`` against the training distribution the reference describes, asymptotic p.

    Few distinct training values: their exact counts (a step function, so the statistic is exact). Otherwise
    the percentiles, linearly interpolated.
    """
    current = np.sort(current)
    if reference.distinct is not None and reference.distinct_counts is not None:
        values = np.asarray(reference.distinct, dtype=float)
        points = np.union1d(values, current)
        counts = np.asarray(reference.distinct_counts, dtype=float)
        cumulative = np.concatenate([[0.0], np.cumsum(counts)]) / max(counts.sum(), 1.0)
        expected = cumulative[np.searchsorted(values, points, side="right")]
        statistic = float(np.max(np.abs(expected - np.searchsorted(current, points, side="right") / len(current))))
    else:
        quantiles = np.asarray(reference.quantiles, dtype=float)
        points = np.union1d(quantiles, current)
        expected = np.interp(points, quantiles, np.linspace(0, 1, len(quantiles)), left=0.0, right=1.0)
        after = np.searchsorted(current, points, side="right") / len(current)
        before = np.searchsorted(current, points, side="left") / len(current)
        statistic = float(max(np.max(np.abs(expected - after)), np.max(np.abs(expected - before))))
    n_ref = reference.rows - reference.missing
    effective = round(n_ref * len(current) / (n_ref + len(current)))
    return statistic, float(stats.kstwo.sf(statistic, max(effective, 1)))


def _row(column: str, kind: str, psi: float, ks: float, pvalue: float, drifted: bool, note: str) -> dict:
    return {"column": column, "type": kind, "psi": psi, "ks_statistic": ks, "ks_pvalue": pvalue,
            "drifted": bool(drifted), "note": note}


def _psi_verdict(shares: tuple[np.ndarray, np.ndarray], n_ref: int, n_new: int, alpha: float) -> tuple[float, str]:
    """PSI, and a note when a PSI of at least :data:`PSI_DRIFT` is within sampling noise for these row counts."""
    expected, actual = shares
    psi = population_stability_index(expected, actual, n_expected=n_ref, n_actual=n_new)
    if psi < PSI_DRIFT:
        return psi, ""
    bins = int(np.count_nonzero((expected > 0) | (actual > 0)))
    pvalue = float(stats.chi2.sf(psi / (1 / max(n_ref, 1) + 1 / max(n_new, 1)), df=max(bins - 1, 1)))
    if pvalue < alpha:
        return psi, ""
    return psi, f"PSI this large is within sampling noise for {n_new:,} new rows (p = {pvalue:.2g})"


def population_stability_index(
    expected: np.ndarray, actual: np.ndarray, *, n_expected: int | None = None, n_actual: int | None = None
) -> float:
    """PSI = Σ (actual − expected) · ln(actual / expected) over bins.

    With row counts, shares get half a row of smoothing per bin, so an empty bin in a small
    sample costs what one more row could change, not ln(1e-4); without counts they are
    clipped away from 0.
    """
    expected = _smoothed(np.asarray(expected, dtype=float), n_expected)
    actual = _smoothed(np.asarray(actual, dtype=float), n_actual)
    expected, actual = expected / expected.sum(), actual / actual.sum()
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _smoothed(shares: np.ndarray, n_rows: int | None) -> np.ndarray:
    if not n_rows:
        return np.clip(shares, EPSILON, None)
    return (shares * n_rows + 0.5) / (n_rows + 0.5 * len(shares))


def drifted_columns(report: pd.DataFrame) -> list[str]:
    """Names of the drifted columns, largest PSI first (the report's order)."""
    return report.loc[report["drifted"], "column"].tolist()

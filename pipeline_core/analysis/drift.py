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

import numpy as np
import pandas as pd
from scipy import stats

from pipeline_core.errors import DataError

PSI_DRIFT = 0.2
PSI_MODERATE = 0.1
ALPHA = 0.05
KS_MIN_STATISTIC = 0.1
N_BINS = 10
MAX_LEVELS = 20
MIN_LEVEL_SHARE = 0.01
EPSILON = 1e-4
COLUMNS = ["column", "type", "psi", "ks_statistic", "ks_pvalue", "drifted", "note"]
_MISSING = "(missing)"
_OTHER = "(other)"


def drift_report(train_frame: pd.DataFrame, new_frame: pd.DataFrame) -> pd.DataFrame:
    """One row per training column: type, PSI, KS statistic and p-value, drifted flag, a note.

    Columns absent from the new data are reported as drifted with a note, not raised,
    so one missing column does not hide the others. Sorted by PSI, largest first.
    """
    if train_frame.empty or new_frame.empty:
        raise DataError("drift needs rows in both the training data and the new data")
    alpha = ALPHA / max(len(train_frame.columns), 1)
    rows = [_column_drift(str(name), train_frame[name], new_frame, name, alpha) for name in train_frame.columns]
    report = pd.DataFrame(rows, columns=COLUMNS)
    return report.sort_values("psi", ascending=False, na_position="first", kind="stable").reset_index(drop=True)


def _column_drift(label: str, reference: pd.Series, new_frame: pd.DataFrame, name: object, alpha: float) -> dict:
    kind = column_kind(reference)
    if name not in new_frame.columns:
        return _row(label, kind, np.nan, np.nan, np.nan, True, "missing from the new data")
    current = new_frame[name]
    if kind == "datetime":
        reference, current = _as_epoch(reference), _as_epoch(current)
    if kind in ("numeric", "datetime"):
        current_numbers = pd.to_numeric(current, errors="coerce")
        unparsed = int(current_numbers.isna().sum() - current.isna().sum())
        note = f"{unparsed:,} new value(s) are not numbers (counted as missing)" if unparsed > 0 else ""
        return _numeric_drift(label, kind, reference.astype(float), current_numbers.astype(float), note, alpha)
    psi, note = _psi_verdict(_level_shares(reference, current), len(reference), len(current), alpha)
    return _row(label, kind, psi, np.nan, np.nan, psi >= PSI_DRIFT and not note, note)


def column_kind(values: pd.Series) -> str:
    """numeric, datetime or categorical: the three ways a column is binned."""
    if pd.api.types.is_bool_dtype(values):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    if pd.api.types.is_numeric_dtype(values):
        return "numeric"
    return "categorical"


def _numeric_drift(
    label: str, kind: str, reference: pd.Series, current: pd.Series, note: str, alpha: float
) -> dict:
    ref, cur = reference.dropna().to_numpy(), current.dropna().to_numpy()
    psi, noise = _psi_verdict(_numeric_shares(reference, current), len(reference), len(current), alpha)
    if len(ref) == 0 or len(cur) == 0:
        side = "training" if len(ref) == 0 else "new"
        note = "; ".join(filter(None, [note, f"every {side} value is missing"]))
        return _row(label, kind, psi, np.nan, np.nan, psi >= PSI_DRIFT, note)
    ks = stats.ks_2samp(ref, cur)
    statistic, pvalue = float(ks.statistic), float(ks.pvalue)
    by_ks = pvalue < alpha and statistic >= KS_MIN_STATISTIC
    drifted = (psi >= PSI_DRIFT and not noise) or by_ks
    return _row(label, kind, psi, statistic, pvalue, drifted, "; ".join(filter(None, [note, "" if by_ks else noise])))


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


def _numeric_shares(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    present = reference.dropna()
    if present.nunique() <= N_BINS:
        as_labels = {v: str(v) for v in present.unique()}
        unseen = current.notna() & ~current.isin(list(as_labels))
        return _level_shares(reference.map(as_labels), current.map(as_labels).mask(unseen, _OTHER))
    edges = np.unique(np.quantile(present.to_numpy(), np.linspace(0, 1, N_BINS + 1)[1:-1]))
    edges = np.concatenate([[-np.inf], edges, [np.inf]])
    return _binned(reference, edges), _binned(current, edges)


def _binned(values: pd.Series, edges: np.ndarray) -> np.ndarray:
    present = values.dropna().to_numpy()
    counts = np.histogram(present, bins=edges)[0] if len(present) else np.zeros(len(edges) - 1)
    counts = np.append(counts, values.isna().sum())
    return counts / max(len(values), 1)


def _level_shares(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    ref, cur = _as_levels(reference), _as_levels(current)
    counts = ref.value_counts(normalize=True)
    common = counts[(counts >= MIN_LEVEL_SHARE) & (counts.index != _MISSING)]
    kept = list(common.index[:MAX_LEVELS])
    levels = [*kept, _OTHER, _MISSING]
    shares = []
    for values in (ref, cur):
        grouped = values.where(values.isin(kept) | (values == _MISSING), _OTHER)
        shares.append(grouped.value_counts(normalize=True).reindex(levels, fill_value=0.0).to_numpy())
    return shares[0], shares[1]


def _as_levels(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), _MISSING).astype(str)


def _as_epoch(values: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(values, errors="coerce", utc=True)
    return (parsed - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)


def drifted_columns(report: pd.DataFrame) -> list[str]:
    """Names of the drifted columns, largest PSI first (the report's order)."""
    return report.loc[report["drifted"], "column"].tolist()

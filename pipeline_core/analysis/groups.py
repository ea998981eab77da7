"""Rows grouped by sensitive columns, and how the labels fall across those groups before any model.

A sensitive column (sex, age band, region) may be kept out of the model's features and still be used
here: the caller hands in the raw rows, which keep every column of the data. Numbers with many
distinct values are cut into quartile ranges, so "age" gives four groups rather than one per year;
missing values are a group of their own, because leaving them out would hide exactly the rows
a data-entry bias tends to produce.

The one rule for "too small to judge" lives in :class:`GroupRule`, shared with
:mod:`pipeline_core.analysis.fairness`, so the data view and the model view flag the same groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline_core.errors import DataError

MISSING = "(missing)"
NUMERIC_LEVELS = 10  # a number with more distinct values than this is cut into ranges
QUANTILE_BINS = 4
MAX_GROUPS = 60  # beyond this, most groups are too small to judge and the bootstrap takes minutes


@dataclass(frozen=True)
class GroupRule:
    """When a group is too small to judge, and when a gap between groups is flagged.

    A group needs ``min_group_rows`` rows; for classification a true or false positive rate also
    needs ``min_class_rows`` rows of the positive (respectively the other) classes in the group, or
    that rate is left blank. Classification metrics are rates, so a gap is their difference
    (highest group minus lowest), flagged above ``max_difference``; regression errors are compared as a
    ratio (lowest group's error over highest's), flagged below ``min_ratio``. A gap is flagged as a
    ``disparity`` when its whole bootstrap confidence interval lies past the line; it is only noted as
    ``possible`` when the estimate does but the interval reaches back (more rows would settle it).
    """

    min_group_rows: int = 30
    min_class_rows: int = 5
    max_difference: float = 0.1
    min_ratio: float = 0.8
    n_boot: int = 500
    confidence: float = 0.95
    seed: int = 0

    def describe(self, task: str) -> str:
        """The rule in one paragraph, for the report and the UI."""
        small = f"A group with fewer than {self.min_group_rows} rows is too small to judge: its metrics are shown " \
                "but it is left out of the gaps between groups."
        if task == "classification":
            small += f" A true (false) positive rate needs {self.min_class_rows} rows of the positive (other) " \
                     "classes in the group, or it is left blank."
            gap = f"A metric is flagged when the highest and lowest groups differ by more than {self.max_difference:g}"
        else:
            gap = f"An error is flagged when the best group's error is below {self.min_ratio:g} times the worst's"
        interval = f"{self.confidence:.0%} bootstrap interval ({self.n_boot} resamples)"
        return (f"{small} {gap}: flagged as a disparity when the whole {interval} is past that line; noted as "
                "possible when only the estimate is (more rows would settle it).")


@dataclass(frozen=True)
class Groups:
    """Each row's group, with the readable label and the column values of every group."""

    columns: list[str]
    frame: pd.DataFrame  # one text column per sensitive column, same index as the rows
    notes: list[str] = field(default_factory=list)

    def labels(self) -> pd.Series:
        """One label per row: the value alone for one column, ``col=value, …`` for several."""
        if len(self.columns) == 1:
            return self.frame[self.columns[0]]
        parts = [self.frame[c].radd(f"{c}=") for c in self.columns]
        return parts[0].str.cat(parts[1:], sep=", ")


def resolve_columns(frame: pd.DataFrame, names: list[str], rename: dict[str, str] | None = None,
                    target: str | None = None) -> list[str]:
    """The raw column of each sensitive name (a renamed name maps back to its raw column); one-line errors."""
    names = [str(n).strip() for n in names if str(n).strip()]
    if not names:
        raise DataError("name at least one sensitive column to group rows by")
    raw_of = {new: raw for raw, new in (rename or {}).items()}
    columns = {str(c): c for c in frame.columns}
    resolved = []
    for name in dict.fromkeys(names):
        raw = raw_of.get(name, name)
        if target is not None and name in (target, raw_of.get(target, target)):
            raise DataError(f"'{name}' is the target; choose a sensitive column other than the one predicted")
        if str(raw) not in columns:
            listed = ", ".join(map(str, list(frame.columns)[:30]))
            raise DataError(f"sensitive column '{name}' is not in the data; columns are: {listed}")
        resolved.append(columns[str(raw)])
    return resolved


def group_rows(frame: pd.DataFrame, columns: list[str], rename: dict[str, str] | None = None) -> Groups:
    """Each row's group by ``columns`` (raw names, see :func:`resolve_columns`): text values, numbers in ranges.

    The groups are named by ``rename`` (the definition's ``columns.rename``) where it renames a column, so
    the report uses the names the rest of the pipeline shows."""
    parts, notes = {}, []
    for column in columns:
        shown = str((rename or {}).get(column, column))
        values = frame[column]
        if _binned(values):
            bins = pd.qcut(values.astype(float), QUANTILE_BINS, duplicates="drop")
            text = bins.astype(str).where(bins.notna(), MISSING)
            notes.append(f"'{shown}' has {values.nunique():,} distinct numbers, so it is cut into "
                         f"{bins.cat.categories.size} ranges of about equal size")
        else:
            text = values.astype(str).where(values.notna(), MISSING)
        parts[shown] = text.astype(str)
    grouped = pd.DataFrame(parts, index=frame.index)
    count = len(grouped.drop_duplicates())
    if count > MAX_GROUPS:
        raise DataError(f"{' × '.join(grouped.columns)} split the rows into {count:,} groups; at most "
                        f"{MAX_GROUPS} can be compared: choose a column with fewer levels")
    return Groups(list(grouped.columns), grouped, notes)


def _binned(values: pd.Series) -> bool:
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    return numeric and values.nunique() > NUMERIC_LEVELS


# ---- before training --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupBalance:
    """One group's share of the data and of each label."""

    group: str
    values: dict[str, str]
    rows: int
    share: float
    label_rates: dict[str, float]
    """Classification: share of the group's rows in each class; regression: ``mean`` and ``std`` of the target."""
    imbalance: float | None
    """Classification: rows of the group's most common class per row of its rarest (None when a class is absent)."""
    absent_classes: list[str]
    too_small: bool


@dataclass(frozen=True)
class DataBalance:
    """How groups and labels are spread in the data, before any model is trained on it."""

    task: str
    columns: list[str]
    rows: int
    overall: dict[str, float]
    groups: list[GroupBalance]
    rule: str
    notes: list[str]


def data_balance(y: pd.Series, groups: Groups, task: str, rule: GroupRule | None = None) -> DataBalance:
    """Group sizes, label rates and class imbalance per group (``y`` and ``groups`` share the rows' index)."""
    rule = rule or GroupRule()
    labels = groups.labels()
    target = y.loc[labels.index]
    classes = sorted(map(str, pd.unique(target.dropna()))) if task == "classification" else []
    rows = []
    for label, members in labels.groupby(labels, sort=True).groups.items():
        part = target.loc[members]
        values = {c: str(groups.frame.loc[members[0], c]) for c in groups.columns}
        rates, imbalance, absent = _label_rates(part, task, classes)
        rows.append(GroupBalance(str(label), values, len(part), len(part) / max(len(target), 1), rates, imbalance,
                                 absent, len(part) < rule.min_group_rows))
    overall, _, _ = _label_rates(target, task, classes)
    return DataBalance(task, groups.columns, len(target), overall, rows, rule.describe(task), list(groups.notes))


def _label_rates(part: pd.Series, task: str, classes: list[str]) -> tuple[dict[str, float], float | None, list[str]]:
    if task != "classification":
        values = pd.to_numeric(part, errors="coerce")
        return {"mean": float(values.mean()), "std": float(values.std(ddof=0))}, None, []
    counts = part.astype(str).value_counts().reindex(classes, fill_value=0)
    total = max(int(counts.sum()), 1)
    rates = {c: float(n / total) for c, n in counts.items()}
    absent = [c for c, n in counts.items() if n == 0]
    imbalance = None if absent else float(counts.max() / counts.min())
    return rates, imbalance, absent


def finite_or_none(value: float | None) -> float | None:
    """A number for JSON: NaN and infinities become ``None`` (JSON has no NaN)."""
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None

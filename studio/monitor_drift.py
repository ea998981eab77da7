"""Drift per feature over time: each time bucket's logged inputs against the training data of the registered
version that scored them, for the Monitor page.

The comparison is the Predict page's (:mod:`pipeline_core.analysis.drift`): PSI over the training data's bins,
whose noise verdict is a χ² test sized by both row counts, so a small bucket needs a larger shift to be called
drifted; and the exact two-sample Kolmogorov–Smirnov test for numbers and dates, which only counts when its
statistic is also at least 0.1, because on large buckets its p-value flags shifts too small to matter. (KS against
the training percentiles instead of the rows was tried: on a feature with few distinct values, such as iris's
petal width, it called a plain resample of the training rows drifted.)

A bucket is read as a bounded sample of its logged inputs (:data:`PER_BUCKET` rows, spread over the bucket), and
one with fewer than :data:`MIN_ROWS` inputs is left out rather than judged on a handful of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

import storage
from storage import StorageError
from studio import registry, scoring
from studio.models import load_stored_model
from studio.monitoring import Granularity, window_of
from studio.roles import Actor
from studio.workspace import current_store

PER_BUCKET = 5_000
MIN_ROWS = 30


@dataclass(frozen=True)
class FeatureDrift:
    """One feature in one bucket: PSI, the KS statistic and p-value (None for labels), and the verdict."""

    start: datetime
    feature: str
    rows: int
    psi: float | None
    ks_statistic: float | None
    ks_pvalue: float | None
    drifted: bool


@dataclass(frozen=True)
class DriftOverTime:
    """Every judged bucket's drift per feature; ``features`` ranked by their largest PSI in the window."""

    version: int
    reference_rows: int
    features: list[str]
    cells: list[FeatureDrift]

    def of(self, feature: str) -> list[FeatureDrift]:
        return [cell for cell in self.cells if cell.feature == feature]


def drift_over_time(actor: Actor, pipeline: str | int, *, since: datetime, until: datetime,
                    granularity: Granularity = "day",
                    version: int | None = None) -> DriftOverTime:
    """Drift of each bucket's logged inputs from the training data of ``version`` (default: the production one,
    else the newest registered), counting only rows that version scored."""
    chosen = reference_version(actor, pipeline, version)
    window, _ = window_of(actor, pipeline, since, until, granularity, chosen.version)
    if chosen.dataset_id is None:
        raise StorageError(f"Version {chosen.version} of '{chosen.pipeline}' has no stored training data (it was "
                           "deleted), so drift cannot be measured against it.")
    store = current_store()
    training = storage.load_frame(store, chosen.dataset_id)
    columns = scoring.drift_columns(load_stored_model(actor, chosen.artifact_id).metadata, training)
    names = [c.name for c in columns]
    side = scoring.training_side(training, columns)  # once: binning the training rows per bucket cost most
    per_bucket: dict[int, list[dict]] = {}
    for bucket, inputs in storage.logged_inputs(store, window, per_bucket=PER_BUCKET):
        per_bucket.setdefault(bucket, []).append(inputs)
    cells = []
    for bucket in sorted(per_bucket):
        rows = per_bucket[bucket]
        if len(rows) < MIN_ROWS:
            continue
        report = scoring.drift_from_side(side, pd.DataFrame.from_records(rows), columns)
        start = datetime.fromtimestamp(bucket, UTC)
        cells += [FeatureDrift(start=start, feature=str(r.column), rows=len(rows), psi=_number(r.psi),
                               ks_statistic=_number(r.ks_statistic), ks_pvalue=_number(r.ks_pvalue),
                               drifted=bool(r.drifted)) for r in report.itertuples(index=False)]
    largest: dict[str, float] = {}
    for cell in cells:
        largest[cell.feature] = max(largest.get(cell.feature, 0.0), cell.psi or 0.0)
    ranked = sorted(names, key=lambda name: -largest.get(name, 0.0))
    return DriftOverTime(version=chosen.version, reference_rows=len(training), features=ranked, cells=cells)


def reference_version(actor: Actor, pipeline: str | int, version: int | None) -> registry.ModelVersion:
    """The version drift is measured against: ``version``, else the production one, else the newest registered."""
    versions = registry.list_model_versions(actor, pipeline)
    if version is not None:
        found = [v for v in versions if v.version == version]
        if not found:
            raise StorageError(f"Pipeline '{pipeline}' has no registered version {version}.")
        return found[0]
    if not versions:
        raise StorageError(f"Pipeline '{pipeline}' has no registered model, so there is no training data to compare "
                           "its traffic with.")
    production = [v for v in versions if v.stage == registry.PRODUCTION]
    return production[0] if production else max(versions, key=lambda v: v.version)


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)

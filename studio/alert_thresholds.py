"""The alert thresholds a user sets per registered pipeline, and where they are kept.

One :class:`AlertThresholds` per pipeline, stored as JSON in ``alert_thresholds`` (``storage.alerts``) and
replaced as a whole when saved. A threshold left at None is not checked. They are evaluated by
:mod:`studio.alerts`, the one place that decides what is crossed: the Monitor page, ``python -m studio monitor``
(whose ``--max-psi``/``--min-accuracy``/``--max-mae`` override the stored ones) and a scoring service's ``/metrics``.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

import storage
from storage import StorageError
from studio import registry
from studio.audit_log import EventKind, record
from studio.roles import Action, Actor
from studio.workspace import current_store


class AlertThresholds(BaseModel):
    """What counts as an alert for one pipeline; each None threshold is not checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_psi: float | None = Field(None, gt=0, description="a checked feature's PSI in any bucket above this")
    feature_psi: dict[str, float] = Field(default_factory=dict,
                                          description="a PSI bound per feature (pipeline name), replacing max_psi "
                                                      "for that feature and checked even outside the top k")
    top_k: int | None = Field(None, ge=1, description="check max_psi only on the k most important features "
                                                      "(permutation importance on the training data)")
    min_accuracy: float | None = Field(None, ge=0, le=1, description="live accuracy over the window below this")
    min_balanced_accuracy: float | None = Field(None, ge=0, le=1,
                                                description="live balanced accuracy over the window below this")
    max_mae: float | None = Field(None, ge=0, description="live mean absolute error over the window above this")
    max_drop: float | None = Field(None, ge=0, description="live accuracy this much below (or live MAE this much "
                                                           "above) the cross-validated estimate")
    max_violation_rate: float | None = Field(None, ge=0, le=1,
                                             description="share of scored rows breaking any quality rule above this")
    window_hours: int = Field(24, ge=1, le=24 * 90,
                              description="the window a scoring service's /metrics evaluates, back from now")

    def is_empty(self) -> bool:
        """True when no threshold is set (nothing to check)."""
        return not self.feature_psi and all(
            getattr(self, name) is None for name in ("max_psi", "min_accuracy", "min_balanced_accuracy", "max_mae",
                                                     "max_drop", "max_violation_rate"))

    def with_overrides(self, **bounds: float | None) -> AlertThresholds:
        """These thresholds with the given ones replacing them (None: keep the stored one), e.g. CLI flags; a bad
        value raises a one-line ``StorageError`` naming it."""
        return parse_thresholds({**self.model_dump(), **{k: v for k, v in bounds.items() if v is not None}})


def parse_thresholds(data: dict) -> AlertThresholds:
    """Thresholds from plain data (a form, flags, stored JSON), or a one-line ``StorageError`` naming the bad one."""
    try:
        return AlertThresholds.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise StorageError(f"Alert threshold {where}: {first.get('msg', 'invalid')}.") from None


class SavedThresholds(BaseModel):
    """A pipeline's thresholds with who saved them and when (None: never saved, the defaults)."""

    thresholds: AlertThresholds
    updated_by: str | None = None
    updated_at: datetime | None = None


def get_thresholds(actor: Actor, pipeline: str | int) -> SavedThresholds:
    """The pipeline's saved thresholds, or empty ones (nothing checked) when none were saved."""
    pipeline_id = registry.get_pipeline(actor, pipeline).id
    row = storage.get_alert_thresholds(current_store(), pipeline_id)
    if row is None:
        return SavedThresholds(thresholds=AlertThresholds())
    thresholds = parse_thresholds(row.thresholds)
    return SavedThresholds(thresholds=thresholds, updated_by=row.updated_by, updated_at=row.updated_at)


def save_thresholds(actor: Actor, pipeline: str | int, thresholds: AlertThresholds, *, by: str = "") -> SavedThresholds:
    """Store ``thresholds`` as the pipeline's, replacing what it had (editors and owners)."""
    found = registry.get_pipeline(actor, pipeline, Action.SAVE)
    row = storage.save_alert_thresholds(current_store(), found.id, thresholds=thresholds.model_dump(), by=by)
    record(current_store(), actor, EventKind.SAVE, f"pipeline '{found.name}'", "alert thresholds")
    return SavedThresholds(thresholds=thresholds, updated_by=row.updated_by, updated_at=row.updated_at)

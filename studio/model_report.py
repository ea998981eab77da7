"""The model report of a registered model version: one self-contained HTML file a reviewer can open offline.

It gathers what the app knows about the version (registry entry, run, definition, training data) and what the
Compare page computes on the run's hold-out rows (scores and charts, SHAP values and partial dependence, bias by
the groups the caller names, error slices), then renders it with :mod:`pipeline_core.reporting`. The Models page
and ``python -m studio report`` call :func:`build_model_report`.

SHAP values rest on a seeded sample of the hold-out rows (:data:`pipeline_core.analysis.explain_global.SAMPLE_ROWS`),
so a report takes seconds, not minutes, on large data. A part that cannot be computed for this model (say, no
hold-out rows) becomes a sentence in its section, not a failed report; a sensitive column that does not exist is
the caller's mistake and fails the whole call in one line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import pandas as pd
import plotly
import shap
import sklearn

from pipeline_core.analysis.error_slices import ErrorAnalysis
from pipeline_core.analysis.fairness import FairnessReport
from pipeline_core.artifacts.export import LoadedModel
from pipeline_core.definition.spec import PipelineSpec, load_spec
from pipeline_core.reporting.audit_sections import bias_section, errors_section, explanations_section
from pipeline_core.reporting.document import Document, Section, Table
from pipeline_core.reporting.evaluation_sections import Scores, metrics_section, tuning_section
from pipeline_core.reporting.html import to_html
from pipeline_core.reporting.model_sections import (
    Lineage,
    data_section,
    lineage_section,
    missing_data_section,
    rules_section,
    steps_section,
)
from pipeline_core.training.holdout import Split, holdout_frames, holdout_split
from pipeline_core.training.results import DecisionThreshold, RunSummary, run_summary
from storage import Dataset, ModelArtifact
from studio import audit, explanations, pipelines, registry
from studio.datasets import get_dataset, load_table, preview_rows
from studio.errors import FAILURES, StorageError
from studio.models import get_artifact, load_stored_model
from studio.roles import Actor
from studio.runs import get_run, run_inputs
from studio.schema import dataset_schema

IMPORTANCE_ROWS = 1_000  # permutation importance calls the model columns x 5 times: a sample keeps it seconds
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class SectionOutline:
    """What one section of a report holds, for a page to preview before anyone opens the file."""

    key: str
    title: str
    summary: str
    charts: int


@dataclass(frozen=True)
class ModelReport:
    """A built report: the HTML file's bytes, a file name for it, and an outline of its sections."""

    pipeline: str
    version: int
    file_name: str
    html: bytes
    sections: list[SectionOutline]
    sensitive: list[str]


def build_model_report(actor: Actor, pipeline: str | int, version: int, *, sensitive: Sequence[str] = (),
                       positive: str | None = None,
                       load_model: Callable[[ModelArtifact], LoadedModel] | None = None,
                       load_frame: Callable[[Dataset], pd.DataFrame] | None = None) -> ModelReport:
    """The report of version ``version`` of ``pipeline`` (name or id); bias by group when ``sensitive`` names
    columns (``positive``: the class counted as selected). The loaders default to the store; a page passes its
    cached ones."""
    entry = registry.model_version(actor, pipeline, version)
    run = get_run(actor, entry.run_id)
    if run is None:
        raise StorageError(f"Run #{entry.run_id} behind version {version} of '{entry.pipeline}' no longer exists.")
    model = _once(load_model or (lambda artifact: load_stored_model(actor, artifact)))
    frame = _once(load_frame or (lambda dataset: load_table(actor, dataset)))
    spec, fitted, table = _inputs(actor, entry, model, frame)
    summary = run_summary(run)
    found = _analyse(actor, entry, spec, fitted, table, summary, list(sensitive), positive, model, frame)
    record = next((r for r in run.leaderboard if r.get("model") == entry.model_name), None)
    metrics = entry.metrics
    split = found.split
    sections = [
        data_section(table, dataset_schema(table, spec), spec, dataset=entry.dataset_name, task=summary.task,
                     training_rows=len(split.X_train) if split else None,
                     holdout_rows=len(split.X_test) if split else None,
                     refit_rows=summary.refit_rows) if table is not None else
        missing_data_section(entry.dataset_name),
        steps_section(spec, fitted=fitted, model_kind=entry.model_name, metric=metrics.metric,
                      params=(record or {}).get("params") or {}, threshold=_threshold(summary.threshold),
                      rounds=(record or {}).get("rounds") or None),
        metrics_section(Scores(metrics.task, metrics.metric, metrics.cv, metrics.cv_std, metrics.holdout),
                        run.leaderboard, entry.model_name, found.holdout, len(split.X_test) if split else None,
                        found.holdout_problem, importance_rows=IMPORTANCE_ROWS),
        tuning_section(record, metrics.metric, entry.model_label),
        explanations_section(found.explained.summary if found.explained else None,
                             found.explained.curves if found.explained else [], found.explain_problem),
        bias_section(found.bias, list(sensitive), None if found.bias or not sensitive else found.audit_problem),
        errors_section(found.errors, found.audit_problem),
        rules_section(spec, dict(spec.columns.rename)),
        lineage_section(Lineage(
            pipeline=entry.pipeline, version=entry.version, stage=entry.stage, model=entry.model_label,
            run_id=entry.run_id, definition_version=entry.definition_version, data_sha256=entry.data_sha256,
            artifact_sha256=entry.artifact_sha256, dataset=entry.dataset_name, registered_at=entry.created_at,
            registered_by=entry.created_by, note=entry.note, provenance=summary.provenance)),
    ]
    now = datetime.now(UTC)
    glance = Section("summary", "At a glance", f"{entry.model_label} (stage: {entry.stage}), registered "
                                                f"{entry.created_at:%Y-%m-%d %H:%M} UTC by {entry.created_by}.",
                     [Table(["Section", "In short"], [[s.title, s.summary] for s in sections])])
    document = Document(
        f"Model report: {entry.pipeline}, version {entry.version}",
        f"{entry.model_label} · stage: {entry.stage} · {summary.task or 'unknown task'} of {spec.target or '—'} · "
        f"built {now:%Y-%m-%d %H:%M} UTC", [glance, *sections])
    footer = (f"Built by Pipeline Studio with scikit-learn {sklearn.__version__}, shap {shap.__version__} and "
              f"plotly {plotly.__version__}. Self-contained: it fetches nothing and runs no script from the data.")
    html = to_html(document, footer=footer).encode("utf-8")
    return ModelReport(entry.pipeline, entry.version, report_file_name(entry.pipeline, entry.version), html,
                       [SectionOutline(s.key, s.title, s.summary, s.charts) for s in document.sections],
                       list(sensitive))


def _inputs(actor: Actor, entry: registry.ModelVersion, model: Callable[[ModelArtifact], LoadedModel],
            frame: Callable[[Dataset], pd.DataFrame]) -> tuple[PipelineSpec, Any, pd.DataFrame | None]:
    """The definition, the fitted pipeline and the training table; without the table when it was deleted (the
    registry keeps the model file and its run, so most of the report still stands)."""
    if entry.dataset_id is not None:
        inputs = run_inputs(actor, entry.run_id, load_model=model, load_frame=frame)
        return inputs.spec, inputs.model.pipeline, inputs.frame
    loaded = model(get_artifact(actor, entry.artifact_id))
    definition = loaded.metadata.get("definition")
    if not definition:
        raise StorageError(f"Version {entry.version} of '{entry.pipeline}' has neither its training data nor a "
                           "definition in its model file, so there is nothing to report on.")
    return load_spec(definition), loaded.pipeline, None


@dataclass
class _Findings:
    """What the rebuilt hold-out rows give (charts, audits, explanations), or why each part could not be had."""

    split: Split | None = None
    holdout: dict[str, pd.DataFrame] | None = None
    holdout_problem: str | None = None
    errors: ErrorAnalysis | None = None
    bias: FairnessReport | None = None
    audit_problem: str | None = None
    explained: explanations.RunExplanation | None = None
    explain_problem: str | None = None


def _analyse(actor: Actor, entry: registry.ModelVersion, spec: PipelineSpec, fitted: Any, table: pd.DataFrame | None,
             summary: RunSummary, sensitive: list[str], positive: str | None,
             model: Callable[[ModelArtifact], LoadedModel], frame: Callable[[Dataset], pd.DataFrame]) -> _Findings:
    found, task = _Findings(), summary.task
    if table is None:
        found.holdout_problem = "the training data was deleted, so the hold-out rows cannot be rebuilt"
    elif task not in ("classification", "regression"):
        found.holdout_problem = f"a {task} model has no target to explain or be wrong about"
    else:
        try:
            found.split = holdout_split(spec, table)
            found.holdout = holdout_frames(fitted, spec, found.split, entry.metrics.metric or summary.metric,
                                           importance_rows=IMPORTANCE_ROWS)
        except FAILURES as e:
            found.holdout_problem = str(e)
    found.audit_problem = found.explain_problem = found.holdout_problem
    if found.holdout_problem is not None:
        return found
    try:
        scored = audit.holdout_scores(actor, entry.run_id, load_model=model, load_frame=frame)
        found.errors = audit.where_it_errs(scored)
    except FAILURES as e:
        found.audit_problem = str(e)
    else:
        if sensitive:  # the caller's columns: a wrong name fails the report, before SHAP runs
            found.bias = audit.bias_by_group(scored, sensitive, positive=positive)
    try:
        found.explained = explanations.explain_run(actor, entry.run_id, load_model=model, load_frame=frame)
    except FAILURES as e:
        found.explain_problem = str(e)
    return found


def sensitive_choices(actor: Actor, pipeline: str | int, version: int) -> list[str]:
    """Columns the report may group rows by: every column of the version's data under the definition's names,
    the target aside (a column the model does not read still counts). Empty when the data was deleted."""
    entry = registry.model_version(actor, pipeline, version)
    run = get_run(actor, entry.run_id)
    saved = pipelines.get_version(actor, run.pipeline_version_id) if run and run.pipeline_version_id else None
    if saved is None or entry.dataset_id is None or get_dataset(actor, entry.dataset_id) is None:
        return []
    spec = pipelines.version_spec(saved)
    names = [str(spec.columns.rename.get(c, c)) for c in preview_rows(actor, entry.dataset_id, 1).columns]
    return [name for name in names if name != spec.target]


def report_file_name(pipeline: str, version: int) -> str:
    """``model-report-<pipeline>-v<N>.html`` with the name reduced to letters, digits, dots, dashes, underscores."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", pipeline).strip("-.")[:80] or "pipeline"
    return f"model-report-{safe}-v{version}.html"


def _threshold(threshold: DecisionThreshold | None) -> str | None:
    if threshold is None:
        return None
    return (f"predicts '{threshold.positive_class}' when its {threshold.response} is at least {threshold.value:.3f}, "
            f"chosen to maximise {threshold.metric.replace('_', ' ')} on out-of-fold predictions of the training "
            "rows")


def _once(load: Callable[[K], V]) -> Callable[[K], V]:
    """``load`` remembering its answers by the row's id for one report: the model and the table are read once."""
    seen: dict[object, V] = {}

    def cached(row: K) -> V:
        key = getattr(row, "id", row)
        if key not in seen:
            seen[key] = load(row)
        return seen[key]

    return cached

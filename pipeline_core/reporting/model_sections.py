"""The model report's sections about what the model is: the data it learnt from, its definition (steps, models,
evaluation plan), its data-quality rules and its lineage.

Each function takes the core's typed objects and returns a :class:`~pipeline_core.reporting.document.Section`;
none reads a database, so the report can be assembled from any source that provides these objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from pipeline_core.analysis.column_summary import summarise_columns
from pipeline_core.analysis.overview_tables import stats_table
from pipeline_core.compiler.schema import DataSchema
from pipeline_core.definition.registry import MODELS
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.reporting.document import Chart, Facts, Section, Table, Text, cell_text
from pipeline_core.reporting.style import PALETTE, figure, metric_label, wrap_label
from pipeline_core.training.results import Provenance
from pipeline_core.training.rounds import mean_rounds, rounds_span

TOP_CLASSES = 30  # bars in the target chart; the rest are counted in the caption


@dataclass(frozen=True)
class Lineage:
    """Where a registered model version comes from: registry entry, run, data, definition, libraries."""

    pipeline: str
    version: int
    stage: str
    model: str
    run_id: int
    definition_version: int | None
    data_sha256: str | None
    artifact_sha256: str
    dataset: str | None
    registered_at: datetime
    registered_by: str
    note: str = ""
    provenance: Provenance = field(default_factory=Provenance)


def data_section(frame: pd.DataFrame, schema: DataSchema, spec: PipelineSpec, *, dataset: str | None,
                 task: str | None, training_rows: int | None, holdout_rows: int | None,
                 refit_rows: int | None = None) -> Section:
    """The table the model learnt from: its size, each column's type, role and statistics, and the target."""
    raw_to_name = {c.raw: c for c in schema.columns}
    stats = stats_table(summarise_columns(frame), len(frame))
    columns = pd.DataFrame({
        "Column": [raw_to_name[c].name if c in raw_to_name else c for c in stats["column"]],
        "Type": [raw_to_name[c].type if c in raw_to_name else t for c, t in zip(stats["column"], stats["type"],
                                                                                 strict=True)],
        "Role": [raw_to_name[c].role if c in raw_to_name else "" for c in stats["column"]],
        "Missing %": stats["missing_pct"].round(2), "Distinct": stats["unique"], "Mean": stats["mean"],
        "Min": stats["min"], "Max": stats["max"],
        "Most frequent": [value if count > 1 else "" for value, count in zip(stats["top_value"], stats["top_freq"],
                                                                              strict=True)],
    })
    features = schema.features
    facts = [("Dataset", dataset or "(deleted)"), ("Rows", f"{len(frame):,}"), ("Columns", f"{frame.shape[1]:,}"),
             ("Target", str(spec.target or "none")), ("Task", task or "unknown"),
             ("Features the model reads", f"{len(features):,}")]
    if training_rows is not None:
        facts.append(("Rows trained on (after row steps, before the hold-out)", f"{training_rows:,}"))
    if holdout_rows is not None:
        facts.append(("Hold-out rows (never trained on by the model they score)", f"{holdout_rows:,}"))
    if refit_rows is not None:
        facts.append(("Saved model refitted after scoring on all rows (training and hold-out)", f"{refit_rows:,}"))
    blocks: list[Any] = [Facts(facts), Table.of(columns)]
    target = _target_chart(frame, schema, spec, task)
    if target is not None:
        blocks.append(target)
    return Section("data", "Data", f"{len(frame):,} rows × {frame.shape[1]:,} columns from "
                                   f"{dataset or 'a deleted dataset'}; {len(features):,} feature(s).", blocks)


def missing_data_section(dataset: str | None) -> Section:
    """The data section when the training table was deleted: the registry still names it by its hash."""
    return Section("data", "Data", "The training data was deleted.", [Text(
        f"The dataset {dataset or ''} this model was trained on has been deleted, so its summary, the hold-out "
        "charts, explanations, bias by group and error slices cannot be rebuilt. Its hash is under Lineage.",
        "warning")])


def _target_chart(frame: pd.DataFrame, schema: DataSchema, spec: PipelineSpec, task: str | None) -> Chart | None:
    raw = next((c.raw for c in schema.columns if c.role == "target"), None)
    if raw is None or raw not in frame:
        return None
    values = frame[raw]
    if task == "regression":
        chart = figure(f"Target: {spec.target}", height=320, showlegend=False, xaxis_title=str(spec.target),
                       yaxis_title="Rows")
        chart.add_histogram(x=values, marker_color=PALETTE[0], nbinsx=40)
        return Chart(chart, f"Distribution of the target over all {values.notna().sum():,} rows with a value.")
    counts = values.astype("string").fillna("(missing)").value_counts()
    shown = counts.head(TOP_CLASSES)
    labels = [wrap_label(c) for c in shown.index]
    chart = figure(f"Target: {spec.target}", height=max(260, 26 * len(shown) + 120), showlegend=False,
                   xaxis_title="Rows")
    chart.add_bar(y=labels, x=shown.to_numpy(), orientation="h", marker_color=PALETTE[0],
                  hovertemplate="%{y}: %{x} rows<extra></extra>")
    chart.update_yaxes(type="category", autorange="reversed", automargin=True)
    rest = f" ({len(counts) - len(shown):,} rarer classes not drawn)" if len(counts) > len(shown) else ""
    return Chart(chart, f"Rows per class over all {len(values):,} rows{rest}.")


def steps_section(spec: PipelineSpec, *, fitted: Any, model_kind: str, metric: str | None, params: dict[str, Any],
                  threshold: str | None, rounds: list[int] | None = None) -> Section:
    """The definition as trained: column settings, steps in order, models compared, evaluation and tuning plans,
    and the fitted scikit-learn pipeline's own steps (the definition's plus the defaults training added)."""
    blocks: list[Any] = []
    columns = spec.columns
    settings = []
    if columns.select is not None:
        settings.append(("Columns kept", ", ".join(columns.select)))
    settings += [(f"Renamed '{old}'", new) for old, new in columns.rename.items()]
    settings += [(f"Type of '{name}'", str(kind)) for name, kind in columns.types.items()]
    if settings:
        blocks.append(Facts(settings))
    steps = [step.describe() for step in spec.steps]
    blocks.append(Table(["#", "Step"], [[str(i), text] for i, text in enumerate(steps, start=1)]) if steps else
                  Text("The definition names no steps; the fitted pipeline below is what the model file holds.",
                       "note"))
    entry = MODELS.get(model_kind)
    plan = spec.evaluation
    blocks.append(Facts([
        ("Model", entry.label if entry else model_kind),
        ("Models compared", ", ".join(MODELS[m.kind].label if m.kind in MODELS else m.kind for m in spec.models)
         or "the defaults for the task"),
        ("Cross-validation", f"{plan.cv_folds} folds" + (", stratified" if plan.stratify else "")),
        ("Hold-out share", f"{plan.holdout:.0%}"), ("Ranking metric", metric_label(metric or plan.metric)),
        ("Seed", str(plan.seed)),
        ("Tuning", "none" if spec.tuning.method == "none" else
         f"{spec.tuning.method}, up to {spec.tuning.n_trials} trials or {spec.tuning.timeout_seconds:g} s per model"),
        ("Decision threshold", threshold or ("tuned" if spec.threshold.tune else "not tuned (the model's default)")),
    ]))
    if params:
        blocks.append(Table(["Parameter", "Value"], [[str(k), cell_text(v)] for k, v in params.items()],
                            note="The registered model's parameters as the run ended (tuned or set)."))
    if rounds and spec.evaluation.refit_rounds == "folds":
        blocks.append(Text(f"The parameters above are those cross-validated: in each fold the rounds stopped early "
                           f"on rows the fold held aside ({rounds_span(rounds)}). The saved model fits their mean, "
                           f"{mean_rounds(rounds):,} rounds, on every row it was refitted on, holding none aside.",
                           "note"))
    blocks.append(Table(["#", "Fitted step", "Class"], [[str(i), name, type(step).__name__] for i, (name, step)
                                                        in enumerate(getattr(fitted, "steps", []), start=1)],
                        note="The scikit-learn pipeline inside the model file."))
    return Section("steps", "Pipeline steps", f"{len(steps)} step(s) in the definition; model "
                                              f"{entry.label if entry else model_kind}.", blocks)


def rules_section(spec: PipelineSpec, rename: dict[str, str]) -> Section:
    """The definition's data-quality rules, checked on every file the model scores."""
    if not spec.rules:
        return Section("rules", "Quality rules", "No data-quality rules.",
                       [Text("The definition has no data-quality rules; add them on the Clean page.", "note")])
    rows = [[str(rename.get(rule.column, rule.column)), rule.column, rule.describe()] for rule in spec.rules]
    return Section("rules", "Quality rules", f"{len(rows)} rule(s), checked on every file the model scores.",
                   [Table(["Column", "Column in the file", "Rule"], rows),
                    Text("Rules report; they change no row unless a 'Keep rows that pass a rule' step uses them.",
                         "note")])


def lineage_section(lineage: Lineage) -> Section:
    """Everything needed to trace or reproduce the model: registry entry, run, data and definition hashes,
    seed, and the library versions it was trained with."""
    p = lineage.provenance
    facts = [("Pipeline", lineage.pipeline), ("Registry version", str(lineage.version)), ("Stage", lineage.stage),
             ("Model", lineage.model), ("Registered", f"{lineage.registered_at:%Y-%m-%d %H:%M} UTC by "
                                                      f"{lineage.registered_by}"),
             ("Note", lineage.note or "—"), ("Training run", f"#{lineage.run_id}"),
             ("Definition version", "—" if lineage.definition_version is None else f"v{lineage.definition_version}"),
             ("Dataset", lineage.dataset or "(deleted)"), ("Data sha256", lineage.data_sha256 or "—"),
             ("Model file sha256", lineage.artifact_sha256), ("Definition sha256", p.definition_sha256 or "—"),
             ("Training table sha256", p.frame_sha256 or "—"), ("Seed", "—" if p.seed is None else str(p.seed))]
    versions = Table(["Library", "Version at training"], [[k, v] for k, v in sorted(p.versions.items())])
    return Section("lineage", "Lineage", f"Run #{lineage.run_id}, definition "
                                         f"v{lineage.definition_version}, data {(lineage.data_sha256 or '')[:12]}.",
                   [Facts(facts), versions])

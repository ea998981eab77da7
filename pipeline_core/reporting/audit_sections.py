"""The model report's sections on why the model predicts what it does and where it may fail: SHAP explanations
with partial dependence, bias by group, and the error slices.

They take the results of :mod:`pipeline_core.analysis` (computed once, on the hold-out rows) and draw them with
the Compare page's figures, so the report and the app say the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from pipeline_core.analysis.dependence import DependenceCurve
from pipeline_core.analysis.error_slices import ErrorAnalysis
from pipeline_core.analysis.explain_global import GlobalExplanation
from pipeline_core.analysis.fairness import LABELS, FairnessReport
from pipeline_core.analysis.groups import DataBalance
from pipeline_core.reporting.audit_figures import balance_figure, group_metric_figure, slices_figure
from pipeline_core.reporting.document import Chart, Section, Table, Text
from pipeline_core.reporting.explain_figures import beeswarm_figure, dependence_figure, shap_bar_figure

VERDICTS = {"disparity": "Disparity", "possible": "Possible (interval reaches the line)", "ok": "Within the rule",
            "not judged": "Not judged"}
TOP_COLUMNS = 15


def with_interval(value: float | None, interval: Sequence[float | None] | None) -> str:
    """``0.812 (0.760–0.861)``, or the value alone when it has no interval, or ``—`` when there is none."""
    if value is None:
        return "—"
    if not interval or interval[0] is None or interval[1] is None:
        return f"{value:.3f}"
    return f"{value:.3f} ({interval[0]:.3f}–{interval[1]:.3f})"


def explanations_section(summary: GlobalExplanation | None, curves: Sequence[DependenceCurve],
                         problem: str | None = None) -> Section:
    """Mean |SHAP value| per column, the beeswarm of every sampled row, and partial dependence with ICE lines
    for the most important numeric or categorical columns; ``problem`` says why there is none."""
    if summary is None:
        return Section("explanations", "Explanations", "Not available.",
                       [Text(f"No explanation: {problem or 'the model could not be explained'}", "warning")])
    top = summary.importance().head(TOP_COLUMNS)
    blocks: list[Any] = [
        Text(f"Each column's contribution to each row's prediction, summed over what the steps made of it "
             f"(one-hot levels, TF-IDF words, date parts): {summary.sample_note()}."),
        Chart(shap_bar_figure(summary), "Mean absolute SHAP value per column, largest first."),
        Chart(beeswarm_figure(summary), "One dot per sampled row and column: its contribution, coloured by the "
                                        "row's value of the column (grey: no order)."),
        Table(["Column", "Mean |SHAP value|"], [[str(c), f"{v:.4g}"] for c, v in
                                               zip(top["column"], top["mean_abs_contribution"], strict=True)]),
    ]
    if curves:
        blocks.append(Text(f"Partial dependence: how the prediction moves when one column is set to each value in "
                           f"turn for {len(curves[0].individual):,} hold-out rows (faint lines, one per row, 50 "
                           "drawn; bold: their average)."))
        blocks += [Chart(dependence_figure(curve)) for curve in curves]
    else:
        blocks.append(Text("None of the most important columns is a number or a category, so there is no partial "
                           "dependence curve (dates and free text have no axis to vary along).", "note"))
    leaders = ", ".join(str(c) for c in top["column"].head(3))
    return Section("explanations", "Explanations", f"SHAP on {summary.rows_explained:,} rows; most important: "
                                                   f"{leaders}.", blocks)


def bias_section(report: FairnessReport | None, sensitive: Sequence[str], problem: str | None = None) -> Section:
    """The model's metrics per group of the sensitive columns with intervals, the gaps the rule flags, and the
    data's label balance by the same groups; a sentence when no sensitive column was named."""
    if report is None:
        text = (f"No bias report: {problem}" if problem else
                "No sensitive column was named, so the model was not compared across groups. Name them when "
                "building the report (the Models page, or --sensitive on the command line).")
        return Section("bias", "Bias by group", "Not measured.", [Text(text, "warning" if problem else "note")])
    blocks: list[Any] = []
    if report.flagged:
        blocks += [Text(f"Disparity: {gap.sentence}", "alert") for gap in report.flagged]
    elif report.gaps:
        blocks.append(Text("No metric differs between groups beyond the rule.", "ok"))
    blocks += [Text(f"Possible, not settled: {gap.sentence}", "warning") for gap in report.gaps
               if gap.status == "possible"]
    if report.small_groups:
        blocks.append(Text(f"{len(report.small_groups)} group(s) have fewer than {report.rule.min_group_rows} "
                           f"hold-out rows, too few to judge: {', '.join(report.small_groups[:10])}"
                           + (" …" if len(report.small_groups) > 10 else ""), "warning"))
    metrics = list(report.overall)
    rows = [[g.group, str(g.size), "too small" if g.too_small else "yes",
             *[with_interval(g.metrics.get(m), g.intervals.get(m)) for m in metrics]] for g in report.groups]
    blocks.append(Table(["Group", "Rows", "Judged", *[LABELS[m] for m in metrics]], rows))
    blocks += [Chart(group_metric_figure(report, metric)) for metric in metrics]
    if report.gaps:
        blocks.append(Table(["Metric", "Verdict", "Difference", "Ratio", "Highest", "Lowest"], [
            [LABELS[g.metric], VERDICTS[g.status], with_interval(g.difference, g.difference_interval),
             with_interval(g.ratio, g.ratio_interval), g.highest_group, g.lowest_group] for g in report.gaps]))
    if report.balance is not None:
        blocks += _balance_blocks(report.balance)
    blocks += [Text(report.rule_text, "note"), *[Text(note, "note") for note in report.notes]]
    verdict = (f"{len(report.flagged)} disparity flag(s)" if report.flagged else "no disparity flagged")
    return Section("bias", "Bias by group", f"By {', '.join(sensitive)}: {len(report.groups)} group(s), {verdict}.",
                   blocks)


def _balance_blocks(balance: DataBalance) -> list[Any]:
    rows = []
    for group in balance.groups:
        rates = ([f"{rate:.1%}" for rate in group.label_rates.values()] if balance.task == "classification"
                 else [f"{group.label_rates['mean']:.4g}", f"{group.label_rates['std']:.4g}"])
        rows.append([group.group, f"{group.rows:,}", f"{group.share:.1%}", *rates])
    rate_columns = ([f"{label} (rate)" for label in balance.overall] if balance.task == "classification"
                    else ["Target mean", "Target std"])
    return [Text("The data, per group, before any model (all rows of the run):"),
            Chart(balance_figure(balance, "all rows of the run")),
            Table(["Group", "Rows", "Share of rows", *rate_columns], rows)]


def errors_section(analysis: ErrorAnalysis | None, problem: str | None = None) -> Section:
    """The slices holding the most errors beyond the overall rate, and the rows the model misses most."""
    if analysis is None:
        return Section("errors", "Error slices", "Not available.",
                       [Text(f"No error analysis: {problem or 'the model could not be scored'}", "warning")])
    blocks: list[Any] = [Text(
        f"Where the model goes wrong on the {analysis.rows:,} hold-out rows: overall {analysis.error_name} "
        f"{analysis.overall:.4g}. A slice is one column's level or range (of at least {analysis.min_slice_rows} "
        "rows, every column, including ones the model does not read), ranked by the errors it holds beyond the "
        "overall rate.")]
    if analysis.slices:
        blocks.append(Chart(slices_figure(analysis, analysis.slices)))
        blocks.append(Table.of(pd.DataFrame([{
            "Column": s.column, "Slice": s.slice, "Rows": s.rows, "Error": round(s.error, 4),
            "Overall": round(s.overall, 4), "Excess errors": round(s.excess_errors, 2)} for s in analysis.slices])))
    else:
        blocks.append(Text("No slice errs more than the rows overall.", "ok"))
    if not analysis.worst_rows.empty:
        blocks += [Text("The rows it misses most:"), Table.of(analysis.worst_rows)]
    if analysis.skipped:
        blocks.append(Text("Not sliced: " + "; ".join(analysis.skipped), "note"))
    worst = analysis.slices[0] if analysis.slices else None
    summary = (f"Worst slice: {worst.column} = {worst.slice} ({analysis.error_name} {worst.error:.3g} vs "
               f"{analysis.overall:.3g} overall)." if worst else "No slice errs more than the rows overall.")
    return Section("errors", "Error slices", summary, blocks)

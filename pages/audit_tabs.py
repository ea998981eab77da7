"""Compare's "Bias by group" and "Errors" tabs: a finished run's best model audited on its hold-out rows.

Both start from :func:`studio.audit.holdout_scores`, cached per run and model hash; the bias report is
cached per chosen columns and positive class too, since its bootstrap takes a few seconds.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from pages import charts, common, session
from pipeline_core.analysis.fairness import LABELS, FairnessReport
from pipeline_core.analysis.groups import DataBalance
from pipeline_core.definition.spec import PipelineSpec, load_spec
from pipeline_core.reporting import audit_figures
from pipeline_core.reporting.audit_sections import VERDICTS, with_interval
from studio import audit
from studio.errors import FAILURES
from studio.roles import Actor
from studio.runs import best_model_label

# a long group name takes the width it needs up to "medium"; the metric columns stay in view at 1280 px
GROUP_COLUMNS = {**{name: st.column_config.TextColumn(name, width="medium") for name in ("Group", "Highest", "Lowest")},
                 "Rows": st.column_config.NumberColumn("Rows", width="small"),
                 "Judged": st.column_config.TextColumn("Judged", width="small")}


@st.cache_data(max_entries=8, show_spinner="Scoring the best model on its hold-out rows…")
def _scores(actor: Actor, run_id: int, artifact_sha: str) -> audit.HoldoutScores:
    return audit.holdout_scores(actor, run_id, load_model=lambda a: charts.loaded_model(a.id, a.sha256),
                                load_frame=common.frame_of)


@st.cache_data(max_entries=16, show_spinner="Measuring the model per group (bootstrap intervals)…")
def _bias(actor: Actor, run_id: int, artifact_sha: str, columns: tuple[str, ...],
          positive: str | None) -> FairnessReport:
    return audit.bias_by_group(_scores(actor, run_id, artifact_sha), list(columns), positive=positive)


def _loaded(run: Any) -> tuple[str, audit.HoldoutScores] | None:
    artifact = charts.run_artifact(run.id)
    if artifact is None:
        st.info(f"Run #{run.id} has no saved model to audit.")
        return None
    try:
        return artifact.sha256, _scores(session.actor(), run.id, artifact.sha256)
    except FAILURES as e:
        common.show_error(e)
        return None


# ---- bias by group -------------------------------------------------------------------------------------


def bias_tab(run: Any) -> None:
    loaded = _loaded(run)
    if loaded is None:
        return
    sha, scores = loaded
    st.caption(f"Is **{best_model_label(run)}** as good for every group of rows? Pick the sensitive column(s): "
               "they may be columns the model does not read. The model is measured on the run's "
               f"{len(scores.X):,} hold-out rows; the label rates use all its rows.")
    left, right = st.columns([3, 1])
    columns = left.multiselect("Sensitive columns", scores.columns, key="compare_bias_columns",
                               placeholder="e.g. gender, age, region",
                               help="Several columns give one group per combination. Numbers with more than 10 "
                                    "distinct values are cut into four ranges of about equal size.")
    positive = None
    if scores.classes:
        names = [str(c) for c in scores.classes]
        positive = right.selectbox("Positive class", names, index=len(names) - 1, key="compare_bias_positive",
                                   help="The class that counts as selected, for the selection rate and the true "
                                        "and false positive rates.")
    if not columns:
        st.info("Choose at least one sensitive column to compare groups.", icon=":material/groups:")
        return
    try:
        report = _bias(session.actor(), run.id, sha, tuple(columns), positive)
    except FAILURES as e:
        common.show_error(e)
        return
    _verdict(report)
    _model_by_group(report)
    _data_by_group(report)
    st.caption(report.rule_text)
    for note in report.notes:
        st.caption(note)
    st.download_button("Download the report (JSON)", json.dumps(report.to_dict(), indent=2), "fairness.json",
                       "application/json", key="compare_bias_download", icon=":material/download:")


def _verdict(report: FairnessReport) -> None:
    flagged = report.flagged
    if flagged:
        st.error(f"{len(flagged)} metric(s) differ between groups beyond the rule:\n\n"
                 + "\n".join(f"- {common.escape_markdown(g.sentence)}" for g in flagged), icon=":material/balance:")
    elif report.gaps:
        st.success("No metric differs between groups beyond the rule.", icon=":material/balance:")
    possible = [g for g in report.gaps if g.status == "possible"]
    if possible:
        st.warning("Possible, not settled (more rows would tell):\n\n"
                   + "\n".join(f"- {common.escape_markdown(g.sentence)}" for g in possible))
    if report.small_groups:
        st.warning(f"{len(report.small_groups)} group(s) have fewer than {report.rule.min_group_rows} hold-out rows, "
                   f"too few to judge (shown in grey, left out of the gaps): "
                   f"{', '.join(common.escape_markdown(g) for g in report.small_groups[:10])}"
                   + (" …" if len(report.small_groups) > 10 else ""), icon=":material/group_off:")


def _model_by_group(report: FairnessReport) -> None:
    st.subheader("The model, per group", anchor=False)
    metrics = list(report.overall)
    metric = st.selectbox("Metric to plot", metrics, format_func=LABELS.get, key="compare_bias_metric")
    st.plotly_chart(audit_figures.group_metric_figure(report, metric), key="compare_bias_chart")
    rows = []
    for group in report.groups:
        row = {"Group": group.group, "Rows": group.size, "Judged": "too small" if group.too_small else "yes"}
        for name in metrics:
            row[LABELS[name]] = with_interval(group.metrics[name], group.intervals.get(name))
        rows.append(row)
    with st.container(key="compare_bias_groups"):
        st.dataframe(common.safe_table(pd.DataFrame(rows)), hide_index=True, width="stretch",
                     column_config=GROUP_COLUMNS)
    if report.gaps:
        gaps = pd.DataFrame([{
            "Metric": LABELS[g.metric], "Verdict": VERDICTS[g.status],
            "Difference": with_interval(g.difference, g.difference_interval),
            "Ratio": with_interval(g.ratio, g.ratio_interval), "Highest": g.highest_group,
            "Lowest": g.lowest_group} for g in report.gaps])
        with st.container(key="compare_bias_gaps"):
            st.dataframe(common.safe_table(gaps), hide_index=True, width="stretch", column_config=GROUP_COLUMNS)


def _data_by_group(report: FairnessReport) -> None:
    if report.balance is None:
        return
    st.subheader("The data, per group (before any model)", anchor=False)
    balance_view(report.balance, "compare", "all rows of the run")


def balance_view(balance: DataBalance, key: str, scope: str) -> None:
    """The label rates chart and table of ``balance``; widget keys start with ``key``; ``scope`` names the rows."""
    st.plotly_chart(audit_figures.balance_figure(balance, scope), key=f"{key}_balance_chart")
    rows = []
    for group in balance.groups:
        row = {"Group": group.group, "Rows": group.rows, "Share of rows": f"{group.share:.1%}"}
        if balance.task == "classification":
            row.update({f"{label} (rate)": f"{rate:.1%}" for label, rate in group.label_rates.items()})
            row["Imbalance"] = (f"{group.imbalance:.1f} : 1" if group.imbalance is not None
                                else f"no {', '.join(group.absent_classes)}")
        else:
            row.update({"Target mean": group.label_rates["mean"], "Target std": group.label_rates["std"]})
        rows.append(row)
    with st.container(key=f"{key}_balance_groups"):
        st.dataframe(common.safe_table(pd.DataFrame(rows)), hide_index=True, width="stretch",
                     column_config=GROUP_COLUMNS)
    if balance.task == "classification":
        st.caption("Imbalance: rows of the group's most common class per row of its rarest.")


# ---- before training ----------------------------------------------------------------------------------


@st.cache_data(max_entries=16, show_spinner="Counting labels per group…")
def _balance(dataset_sha: str, spec_json: str, columns: tuple[str, ...], _frame: pd.DataFrame) -> DataBalance:
    return audit.balance_before_training(load_spec(spec_json), _frame, list(columns))


def balance_before_training(spec: PipelineSpec, frame: pd.DataFrame, dataset_sha: str) -> None:
    """Train's "Balance by group" expander: the label rates per group of the rows training will use."""
    with st.expander("Before training: label balance by group", icon=":material/groups:"):
        st.caption("Are some groups rarer, or labelled differently? Pick sensitive column(s), kept in the model "
                   "or not; after training, Compare's **Bias by group** measures the model per group.")
        names = [str(spec.columns.rename.get(c, c)) for c in frame.columns]  # as the other pages name them
        columns = st.multiselect("Sensitive columns", [n for n in names if n != spec.target],
                                 key="train_balance_columns", placeholder="e.g. gender, age, region")
        if not columns:
            return
        try:
            balance = _balance(dataset_sha, spec.to_json(), tuple(columns), frame)
        except FAILURES as e:
            common.show_error(e)
            return
        small = [g.group for g in balance.groups if g.too_small]
        if small:
            st.warning(f"{len(small)} group(s) have fewer than {audit.GroupRule().min_group_rows} rows: "
                       f"{', '.join(common.escape_markdown(g) for g in small[:10])}" + (" …" if len(small) > 10 else "")
                       + ". Their hold-out share will be smaller still, too small to judge a model on.",
                       icon=":material/group_off:")
        balance_view(balance, "train", "the rows training will use")
        for note in balance.notes:
            st.caption(note)


# ---- errors -------------------------------------------------------------------------------------------


def errors_tab(run: Any) -> None:
    loaded = _loaded(run)
    if loaded is None:
        return
    _, scores = loaded
    try:
        analysis = audit.where_it_errs(scores)
    except FAILURES as e:
        common.show_error(e)
        return
    st.caption(f"Where **{best_model_label(run)}** goes wrong on the {analysis.rows:,} hold-out rows: overall "
               f"{analysis.error_name} **{analysis.overall:.4g}**. A slice is one column's level or range (every "
               f"column, including ones the model does not read), of at least {analysis.min_slice_rows} rows; "
               "slices are ranked by the errors they hold beyond the overall rate.")
    if analysis.slices:
        st.plotly_chart(audit_figures.slices_figure(analysis, analysis.slices), key="compare_slices_chart")
        table = pd.DataFrame([{"Column": s.column, "Slice": s.slice, "Rows": s.rows, "Error": round(s.error, 4),
                               "Overall": round(s.overall, 4), "Excess errors": round(s.excess_errors, 2)}
                              for s in analysis.slices])
        with st.container(key="compare_slices"):
            st.dataframe(common.safe_table(table), hide_index=True, width="stretch")
    else:
        st.success("No slice errs more than the rows overall.", icon=":material/check_circle:")
    st.subheader("The rows it misses most", anchor=False)
    if analysis.worst_rows.empty:
        st.info("The model gets every hold-out row right.")
    else:
        with st.container(key="compare_worst_rows"):
            st.dataframe(common.safe_table(analysis.worst_rows), hide_index=True, width="stretch")
    if analysis.skipped:
        st.caption("Not sliced: " + "; ".join(analysis.skipped))

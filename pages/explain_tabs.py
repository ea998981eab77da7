"""Explanations on the pages: Compare's "Explanations" tab for a run, and the Predict page's "why" for scored rows.

The run's explanation is cached per run and model hash (SHAP values and dependence curves take a few
seconds); a scored row's explanation is cheap and computed when a row is chosen.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from pages import charts, common, session
from pipeline_core.reporting import explain_figures
from studio import explanations
from studio.errors import FAILURES
from studio.roles import Actor
from studio.runs import best_model_label

ROW_CHOICES = 500  # rows offered in the Predict page's picker (the first ones of the scored table)


@st.cache_data(max_entries=8, show_spinner="Computing SHAP values and partial dependence on the hold-out rows…")
def _run_explanation(actor: Actor, run_id: int, artifact_sha: str) -> explanations.RunExplanation:
    return explanations.explain_run(actor, run_id, load_model=lambda a: charts.loaded_model(a.id, a.sha256),
                                    load_frame=common.frame_of)


def explanations_tab(run: Any) -> None:
    """SHAP bar and beeswarm charts for the run's best model, then partial dependence for its top columns."""
    artifact = charts.run_artifact(run.id)
    if artifact is None:
        st.info(f"Run #{run.id} has no saved model to explain.")
        return
    try:
        explained = _run_explanation(session.actor(), run.id, artifact.sha256)
    except FAILURES as e:
        common.show_error(e)
        return
    summary = explained.summary
    st.caption(f"Why does **{best_model_label(run)}** predict what it does? Each column's contribution to each "
               f"hold-out row's prediction, summed over what its steps made of it (one-hot levels, TF-IDF words, "
               f"date parts): {summary.sample_note()}. Permutation importance on the *Hold-out charts* tab is the "
               "model-agnostic check: how much the score drops when a column is shuffled.")
    with st.container(key="compare_shap_bar"):
        st.plotly_chart(explain_figures.shap_bar_figure(summary), key="compare_shap_bar_chart")
    with st.container(key="compare_shap_beeswarm"):
        st.plotly_chart(explain_figures.beeswarm_figure(summary), key="compare_shap_beeswarm_chart")
    st.subheader("Partial dependence")
    if not explained.curves:
        st.info("None of the most important columns is a number or a category, so there is no curve to draw "
                "(dates and free text have no axis to vary along).")
        return
    st.caption("How the prediction moves when one column is set to each value in turn for "
               f"{len(explained.curves[0].individual):,} hold-out rows: one faint blue line per row (ICE; 50 drawn), "
               "their average in bold orange (the partial dependence). Lines that cross or fan out mean the column "
               "acts together with others.")
    for i in range(0, len(explained.curves), 2):
        for cell, curve in zip(st.columns(2), explained.curves[i:i + 2], strict=False):
            cell.plotly_chart(explain_figures.dependence_figure(curve), key=f"compare_dependence_{curve.column}")


def scored_rows_section(model: Any, frame: pd.DataFrame, key: str, predictions: list[Any] | None = None) -> None:
    """A row picker (with each row's prediction) and that row's contributions per column, for a scored table."""
    if model.metadata.get("task") not in ("classification", "regression"):
        return
    st.subheader("Why this prediction?")
    choices = list(range(min(len(frame), ROW_CHOICES)))
    row = st.selectbox("Row to explain", choices, key=f"{key}_row",
                       format_func=lambda i: f"Row {i + 1}" + (f" · predicted {str(predictions[i])[:40]}"
                                                               if predictions is not None else ""),
                       help=f"The first {len(choices):,} rows of the file, numbered as in the table above.")
    try:
        rows, how = explanations.explain_scored_rows(model, frame, [row])
    except FAILURES as e:
        common.show_error(e)
        return
    values = pd.Series(frame.iloc[row].to_dict())
    renamed = {raw: new for raw, new in (model.pipeline[0].rename or {}).items()}
    values.index = [renamed.get(c, c) for c in values.index]
    st.caption(f"Each column's push on this row's output: {how}. The other rows of the file are the background "
               "for models other than trees.")
    st.plotly_chart(explain_figures.row_figure(rows, 0, values), key=f"{key}_row_chart")

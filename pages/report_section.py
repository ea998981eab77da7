"""The Models page's "Model report" block: build a registered version's HTML report, download it, see what is in it.

The report is built by :func:`studio.model_report.build_model_report` (SHAP on a sample of the hold-out rows, so
seconds) and cached by the model file's and the data's content hashes with the chosen sensitive columns, so
asking again, or downloading after a rerun, costs nothing. Only the report matching the current choices is
offered: changing the version or the columns asks for a new build.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from pages import charts, common, session
from studio import model_report, registry
from studio.errors import FAILURES
from studio.roles import Actor

BUILT_KEY = "registry_report_built"  # (pipeline id, version, sensitive columns) of the last report asked for


@st.cache_data(max_entries=4, show_spinner=False)
def _report(actor: Actor, pipeline_id: int, version: int, artifact_sha: str, data_sha: str | None, stage: str,
            sensitive: tuple[str, ...]) -> model_report.ModelReport:
    """Keyed by content hashes (and the stage, which the report states): the same model on the same data and
    columns gives the same report."""
    return model_report.build_model_report(actor, pipeline_id, version, sensitive=list(sensitive),
                                           load_model=lambda a: charts.loaded_model(a.id, a.sha256),
                                           load_frame=common.frame_of)


@st.cache_data(max_entries=16, show_spinner=False)
def _choices(actor: Actor, pipeline_id: int, version: int, artifact_sha: str) -> list[str]:
    return model_report.sensitive_choices(actor, pipeline_id, version)


def report_section(pipeline: Any, versions: list[registry.ModelVersion]) -> None:
    st.subheader("Model report")
    st.caption("One HTML file per version to hand to a reviewer: data summary, pipeline steps, cross-validated and "
               "hold-out metrics with charts, tuning history, SHAP explanations and partial dependence, bias by "
               "group, error slices, quality rules and lineage. It opens offline in any browser, fetches nothing "
               "and runs no script from the data. From a terminal: `python -m studio report --pipeline NAME "
               "--version N --out report.html`.")
    by_number = {v.version: v for v in versions}
    left, right = st.columns([1, 3])
    number = left.selectbox("Version", list(by_number), key="report_version",
                            format_func=lambda n: f"version {n} ({by_number[n].stage})")
    chosen = by_number[number]
    try:
        choices = _choices(session.actor(), pipeline.id, number, chosen.artifact_sha256)
    except FAILURES as e:
        common.show_error(e)
        return
    sensitive = right.multiselect("Sensitive columns for bias by group (optional)", choices,
                                  key=f"report_sensitive_{pipeline.id}_{number}", placeholder="e.g. gender, region",
                                  help="The model is compared across the groups of these columns on its hold-out "
                                       "rows; they need not be columns the model reads.")
    wanted = (pipeline.id, number, tuple(sensitive))
    if st.button("Build the report", key="report_build", icon=":material/description:"):
        st.session_state[BUILT_KEY] = wanted
    if st.session_state.get(BUILT_KEY) != wanted:
        return
    try:
        with st.spinner("Building the report: scoring the hold-out rows, SHAP values on a sample…"):
            report = _report(session.actor(), pipeline.id, number, chosen.artifact_sha256, chosen.data_sha256,
                             chosen.stage,
                             tuple(sensitive))
    except FAILURES as e:
        common.show_error(e)
        return
    _preview(report)


def _preview(report: model_report.ModelReport) -> None:
    charts_in = sum(s.charts for s in report.sections)
    st.download_button("Download the report (HTML)", report.html, report.file_name, "text/html",
                       key="report_download", icon=":material/download:", type="primary")
    st.caption(f"`{report.file_name}` · {len(report.html) / 1e6:.1f} MB (plotly.js is inside, for offline use) · "
               f"{len(report.sections)} sections · {charts_in} interactive charts.")
    outline = pd.DataFrame([{"Section": s.title, "In short": s.summary, "Charts": s.charts}
                            for s in report.sections])
    with st.container(key="registry_report_outline"):
        st.dataframe(common.safe_table(outline), hide_index=True, width="stretch",
                     column_config={"Section": st.column_config.TextColumn(width="small"),
                                    "In short": st.column_config.TextColumn(width="large"),
                                    "Charts": st.column_config.NumberColumn(width="small")})

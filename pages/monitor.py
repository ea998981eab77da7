"""Monitor: how a registered pipeline's models are doing in use, read from the prediction log.

Every row a registered model scores (the scoring service, ``python -m studio predict --pipeline``, the Predict
page) is logged; this page draws, over a chosen window and granularity, the traffic and latency, what the model
predicted, and how right it was on the rows whose true outcome has been uploaded here (or POSTed to a service's
``/feedback``). The numbers come from :mod:`studio.monitoring`; the figures from :mod:`pages.monitor_charts`.
"""

from __future__ import annotations

import shlex
from datetime import datetime, timedelta
from typing import Any

import streamlit as st

from pages import common, monitor_alerts, monitor_charts, monitor_data, session
from pages.monitor_retrain import retrain_section
from studio import champion, monitor_drift, monitoring, prediction_log, registry
from studio import pipelines as library
from studio.errors import FAILURES

WINDOWS: dict[str, tuple[timedelta, monitoring.Granularity]] = {
    "Last hour": (timedelta(hours=1), "minute"),
    "Last 24 hours": (timedelta(days=1), "hour"),
    "Last 7 days": (timedelta(days=7), "hour"),
    "Last 30 days": (timedelta(days=30), "day"),
    "Last 90 days": (timedelta(days=90), "day"),
}
GRANULARITIES: list[monitoring.Granularity] = ["minute", "hour", "day"]
VIEWS = ["Traffic", "Predictions", "Drift", "Live performance", "Rule violations"]
ALL_VERSIONS = 0
SWITCHED = "monitor_challenger_switched"  # the last promote/discard's sentence, shown once after the rerun


def main() -> None:
    common.run_inside_app()
    st.header("Monitor")
    st.caption("How a registered pipeline's models do in use: every row they score (scoring service, batch scoring, "
               "the Predict page) is logged. Upload the true outcomes when you know them to see live accuracy.")
    try:
        pipelines = library.list_pipelines(session.actor())
    except FAILURES as e:
        common.show_error(e)
        return
    if not pipelines:
        st.info("No saved pipelines yet: register a model on the Models page, then score rows with it.",
                icon=":material/monitoring:")
        return
    pipeline = _pick_pipeline(pipelines)
    try:
        shown = _window_controls(pipeline)
        monitor_alerts.alerts_banner(pipeline, shown)
        traffic = monitor_data.traffic(shown)
    except FAILURES as e:
        common.show_error(e)
        return
    rows = sum(b.rows for b in traffic)
    if not rows:
        st.info(f"No rows of **{common.escape_markdown(pipeline.name)}** were scored in this window. Score with its "
                "production model (Predict page, `python -m studio predict --pipeline`, or a scoring service started "
                "on the Models page), or widen the window.", icon=":material/monitoring:")
    else:
        _summary(traffic)
        _charts(pipeline, shown, traffic)
        _challenger_section(pipeline, shown.since, shown.until)
    retrain_section(pipeline)
    monitor_alerts.thresholds_section(pipeline)
    _outcomes_section()


def _pick_pipeline(pipelines: list[Any]) -> Any:
    ids = [p.id for p in pipelines]
    if st.session_state.get("monitor_pipeline") not in ids:
        st.session_state["monitor_pipeline"] = ids[0]
    names = {p.id: p.name for p in pipelines}
    chosen = st.selectbox("Pipeline", ids, format_func=names.get, key="monitor_pipeline")
    return next(p for p in pipelines if p.id == chosen)


def _window_controls(pipeline: Any) -> monitor_data.View:
    """What to draw, from the window, granularity and version pickers (the granularity follows the window until
    the user picks one): whole buckets, so the cached figures hold until the next bucket starts or the log grows."""
    window_col, grain_col, version_col = st.columns([2, 1, 2])
    window = window_col.selectbox("Window", list(WINDOWS), index=1, key="monitor_window")
    span, suggested = WINDOWS[window]
    if st.session_state.get("monitor_window_seen") != window:  # a new window: its natural granularity
        st.session_state["monitor_window_seen"] = window
        st.session_state["monitor_granularity"] = suggested
    granularity = grain_col.selectbox("Granularity", GRANULARITIES, key="monitor_granularity",
                                      format_func=lambda g: f"per {g}")
    try:
        versions = registry.list_model_versions(session.actor(), pipeline.id)
    except FAILURES:
        versions = []
    labels = {ALL_VERSIONS: "All versions", **{v.version: f"Version {v.version} ({v.stage})" for v in versions}}
    if st.session_state.get("monitor_version") not in labels:
        st.session_state["monitor_version"] = ALL_VERSIONS
    version = version_col.selectbox("Model version", list(labels), format_func=labels.get, key="monitor_version")
    return monitor_data.view(pipeline.id, span, granularity, None if version == ALL_VERSIONS else version)


def _summary(traffic: list[monitoring.TrafficBucket]) -> None:
    rows, requests = sum(b.rows for b in traffic), sum(b.requests for b in traffic)
    busiest = max(traffic, key=lambda b: b.rows)
    slowest = max((b.latency_p95_ms for b in traffic if b.latency_p95_ms is not None), default=None)
    a, b, c = st.columns(3)
    a.metric("Rows scored", f"{rows:,}", help=f"in {requests:,} request(s)")
    b.metric("Busiest bucket", f"{busiest.rows:,} rows", help=busiest.start.strftime("%Y-%m-%d %H:%M UTC"))
    c.metric("Worst 95th-percentile latency", "–" if slowest is None else f"{slowest:,.1f} ms",
             help="per request, the highest bucket's 95th percentile in the window")


def _charts(pipeline: Any, shown: monitor_data.View, traffic: list[monitoring.TrafficBucket]) -> None:
    """The one view the user picked: only its numbers are computed (each costs seconds on a long log)."""
    view = st.segmented_control("View", VIEWS, default=VIEWS[0], key="monitor_view", label_visibility="collapsed")
    try:
        if view == "Predictions":
            st.plotly_chart(monitor_charts.distribution_figure(monitor_data.distribution(shown)))
        elif view == "Drift":
            _drift(shown)
        elif view == "Live performance":
            _performance(monitor_data.performance(shown))
        elif view == "Rule violations":
            monitor_alerts.violations_view(shown)
        else:  # Traffic, and no choice (a click on the picked segment unpicks it)
            st.plotly_chart(monitor_charts.traffic_figure(traffic))
    except FAILURES as e:
        common.show_error(e)


def _performance(performance: monitoring.LivePerformance) -> None:
    labelled = sum(b.rows for b in performance.buckets)
    if not labelled:
        st.info("No true outcomes have arrived for the rows in this window: upload them below (or POST them to "
                "the service's `/feedback`), joined on `request_id` and `row_id`.", icon=":material/fact_check:")
        return
    st.caption(f"{labelled:,} scored row(s) in the window have a true outcome. The band is a 95% interval; "
               "a bucket with few labelled rows has a wide one.")
    st.plotly_chart(monitor_charts.performance_figure(performance))


def _drift(shown: monitor_data.View) -> None:
    """Each feature's drift per bucket against the training data of the version that scored the rows."""
    try:
        drift = monitor_data.drift(shown)
    except FAILURES as e:
        st.info(str(e), icon=":material/monitoring:")
        return
    if not drift.cells:
        st.info(f"No bucket holds {monitor_drift.MIN_ROWS} or more logged inputs of version {drift.version} yet "
                "(inputs are logged for a sample of rows: PIPELINE_STUDIO_LOG_INPUT_SAMPLE); widen the window or "
                "pick a coarser granularity.", icon=":material/monitoring:")
        return
    drifted = sorted({cell.feature for cell in drift.cells if cell.drifted}, key=drift.features.index)
    st.caption(f"PSI of each bucket's logged inputs against the {drift.reference_rows:,} training rows of version "
               f"{drift.version}; features ranked by their largest PSI in the window. A ✕ marks a bucket whose shift "
               "is more than noise for its size (χ² on the PSI bins, or a KS statistic of 0.1 or more with p < 0.05)."
               + (f" Drifted at least once: {', '.join(drifted[:10])}." if drifted else ""))
    st.plotly_chart(monitor_charts.drift_figure(drift))


def _challenger_section(pipeline: Any, since: datetime, until: datetime) -> None:
    """Production against another version scored in shadow on the same labelled rows; promote or discard it."""
    try:
        versions = registry.list_model_versions(session.actor(), pipeline.id)
    except FAILURES as e:
        common.show_error(e)
        return
    production = next((v for v in versions if v.stage == registry.PRODUCTION), None)
    others = [v for v in versions if production is not None and v.version != production.version
              and v.stage != "archived"]
    st.subheader("Champion and challenger")
    switched = st.session_state.pop(SWITCHED, None)
    if switched:
        st.success(switched)
    if production is None or not others:
        st.caption("Put a candidate in staging and serve production with it in shadow (`python -m studio serve "
                   f"--pipeline {shlex.quote(pipeline.name)} --shadow staging`): its answers to the same rows are "
                   "logged, never returned, and compared here once true outcomes arrive.")
        return
    labels = {v.version: f"Version {v.version} ({v.stage}): {v.model_label}" for v in others}
    staging = next((v.version for v in others if v.stage == "staging"), others[0].version)
    if st.session_state.get("monitor_challenger") not in labels:
        st.session_state["monitor_challenger"] = staging
    challenger = st.selectbox(f"Challenger to version {production.version} (production)", list(labels),
                              format_func=labels.get, key="monitor_challenger")
    try:
        verdict = champion.challenger_verdict(session.actor(), pipeline.id, challenger, since=since, until=until,
                                              champion=production.version)
    except FAILURES as e:
        common.show_error(e)
        return
    show = {"better": st.success, "worse": st.warning}.get(verdict.verdict, st.info)
    show(verdict.sentence())
    with st.form("monitor_challenger_form", border=False):
        why = st.text_input("Why (recorded in the registry's history)", key="monitor_challenger_why")
        promote_col, discard_col = st.columns(2)
        promote = promote_col.form_submit_button(f"Promote version {challenger} to production", type="primary")
        discard = discard_col.form_submit_button(f"Discard version {challenger} (archive it)")
    if not (promote or discard):
        return
    if not why.strip():
        st.error("Say why: the registry records who switched the model and why.")
        return
    try:
        registry.set_stage(session.actor(), pipeline.id, challenger, "production" if promote else "archived",
                           by=session.owner(),
                           why=why)
    except FAILURES as e:
        common.show_error(e)
        return
    # drawn on a fresh run, so the picker, verdict and stages above no longer show the version before the switch
    st.session_state[SWITCHED] = (f"Version {challenger} is now {'in production' if promote else 'archived'}. "
                                  "Running services of the production stage switch to it within seconds, without "
                                  "failing a request.")
    st.rerun()


def _outcomes_section() -> None:
    with st.expander("Upload true outcomes", icon=":material/fact_check:"):
        st.caption("A table with `request_id`, `row_id` (as the service answered, or as batch scoring wrote them) and "
                   "the true outcome. Outcomes that match no logged prediction are kept and counted, never dropped.")
        upload = st.file_uploader("Outcomes file", type=["csv", "tsv", "txt", "xlsx", "parquet", "json", "jsonl"],
                                  key="monitor_outcomes_file")
        column = st.text_input("Outcome column", value="outcome", key="monitor_outcome_column")
        if not st.button("Store the outcomes", disabled=upload is None, key="monitor_outcomes_store"):
            return
        try:
            report = prediction_log.upload_ground_truth(session.actor(), upload.getvalue(), upload.name,
                                                        outcome_column=column)
        except FAILURES as e:
            common.show_error(e)
            return
        (st.warning if report.unmatched else st.success)(report.summary()[:1].upper() + report.summary()[1:])


if __name__ == "__main__":
    main()

"""The Monitor page's rule violations and alerts: kept apart from ``pages/monitor.py`` so each stays a short script.

``violations_view`` draws how many scored rows broke each quality rule over the window (``studio.monitor_violations``);
``alerts_banner`` shows each crossed threshold (``studio.alerts``, the same checks as ``python -m studio monitor``
and a service's ``/metrics``); ``thresholds_section`` is the form that stores the pipeline's thresholds.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from pages import common, monitor_charts, monitor_data, session
from studio import alert_thresholds, alerts
from studio.errors import FAILURES


def violations_view(shown: monitor_data.View) -> None:
    """Rows breaking each quality rule per bucket, and the share breaking any."""
    try:
        found = monitor_data.violations(shown)
    except FAILURES as e:
        common.show_error(e)
        return
    if not found.violating_rows:
        st.info("No scored row in this window broke a quality rule of the model's definition (rules are set on the "
                "Clean page and checked on every scored row).", icon=":material/rule:")
        return
    share = found.violating_rows / found.rows if found.rows else 0.0
    worst = ", ".join(f"{rule.label()} ({found.total(rule):,})" for rule in found.rules[:3])
    st.caption(f"{found.violating_rows:,} of {found.rows:,} scored row(s) ({share:.1%}) broke at least one quality "
               f"rule; most often: {worst}. A row breaking two rules counts once in the share and once per rule.")
    st.plotly_chart(monitor_charts.violations_figure(found))


def alerts_banner(pipeline: Any, shown: monitor_data.View) -> None:
    """One message per crossed threshold over the window: what crossed, by how much and since which bucket."""
    try:
        thresholds = alert_thresholds.get_thresholds(session.actor(), pipeline.id).thresholds
        checks = monitor_data.checks(shown, thresholds, _ranking)
    except FAILURES as e:
        common.show_error(e)
        return
    crossed = [c for c in checks if c.crossed]
    for check in crossed:
        show = st.warning if check.kind == "violation_rate" else st.error
        show(f"Alert: {common.escape_markdown(check.sentence())}", icon=":material/notifications_active:")
    if checks and not crossed:
        st.caption(f"{len(checks)} alert threshold(s) checked over this window; none crossed.")
    if (thresholds.max_psi is not None or thresholds.feature_psi) and not any(c.kind == "drift" for c in checks):
        st.caption("Drift thresholds were not checked: there is no registered version with its training data to "
                   "measure drift against (see the Drift tab).")


@st.cache_data(show_spinner="Ranking the features by importance…", max_entries=32)
def _ranking(pipeline: str | int, version: int) -> list[str]:
    """A registered version's features by importance: its model never changes, so one ranking per version."""
    return alerts.important_features(session.actor(), pipeline, version)


def thresholds_section(pipeline: Any) -> None:
    """The form storing the pipeline's alert thresholds (an empty field is not checked)."""
    with st.expander("Alert thresholds", icon=":material/notifications:"):
        try:
            saved = alert_thresholds.get_thresholds(session.actor(), pipeline.id)
        except FAILURES as e:
            common.show_error(e)
            return
        now = saved.thresholds
        if saved.updated_at is not None:
            st.caption(f"Saved {saved.updated_at:%Y-%m-%d %H:%M} UTC by {saved.updated_by or 'someone'}. The Monitor "
                       "page, `python -m studio monitor` and a running service's `/metrics` (`scoring_alert`) check "
                       "them; leave a field empty to not check it.")
        with st.form(f"monitor_thresholds_{pipeline.id}", border=False):
            drift_col, k_col = st.columns(2)
            max_psi = drift_col.number_input("Drift: PSI of a feature above", value=now.max_psi, min_value=0.0,
                                             step=0.05, key="alerts_max_psi")
            top_k = k_col.number_input("…only on the k most important features", value=now.top_k, min_value=1,
                                       step=1, key="alerts_top_k", help="empty: every feature")
            per_feature = st.text_area("Per-feature PSI bounds (one 'feature = bound' per line)",
                                       value="\n".join(f"{f} = {b:g}" for f, b in now.feature_psi.items()),
                                       key="alerts_feature_psi", height=68)
            a, b, c = st.columns(3)
            min_accuracy = a.number_input("Accuracy below", value=now.min_accuracy, min_value=0.0, max_value=1.0,
                                          step=0.01, key="alerts_min_accuracy")
            min_balanced = b.number_input("Balanced accuracy below", value=now.min_balanced_accuracy, min_value=0.0,
                                          max_value=1.0, step=0.01, key="alerts_min_balanced")
            max_mae = c.number_input("Mean absolute error above", value=now.max_mae, min_value=0.0,
                                     key="alerts_max_mae")
            d, e, f = st.columns(3)
            max_drop = d.number_input("Worse than the CV estimate by more than", value=now.max_drop, min_value=0.0,
                                      step=0.01, key="alerts_max_drop")
            max_rate = e.number_input("Share of rows breaking a rule above", value=now.max_violation_rate,
                                      min_value=0.0, max_value=1.0, step=0.01, key="alerts_max_rate")
            hours = f.number_input("Service window (hours)", value=now.window_hours, min_value=1, step=1,
                                   key="alerts_window_hours", help="the window a scoring service's /metrics checks")
            if not st.form_submit_button("Save thresholds", type="primary"):
                return
        try:
            features = _feature_bounds(per_feature)
            thresholds = alert_thresholds.parse_thresholds({
                "max_psi": max_psi, "top_k": top_k, "feature_psi": features, "min_accuracy": min_accuracy,
                "min_balanced_accuracy": min_balanced, "max_mae": max_mae, "max_drop": max_drop,
                "max_violation_rate": max_rate, "window_hours": hours})
            alert_thresholds.save_thresholds(session.actor(), pipeline.id, thresholds, by=session.owner())
        except FAILURES as e:
            common.show_error(e)
            return
        st.success("Thresholds saved; the page checks them from the next draw.")


def _feature_bounds(text: str) -> dict[str, float]:
    """``feature = bound`` lines as a dict; a line that is not one raises a one-line error naming it."""
    bounds = {}
    for line in filter(None, (raw.strip() for raw in text.splitlines())):
        name, sep, value = line.rpartition("=")
        try:
            bounds[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise alert_thresholds.StorageError(f"'{line[:60]}' is not 'feature = bound' (e.g. 'age = 0.2').")
    return bounds

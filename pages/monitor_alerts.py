"""The Monitor page's rule violations and alerts: kept apart from ``pages/monitor.py`` so each stays a short script.

``violations_tab`` draws how many scored rows broke each quality rule over the window (``studio.monitor_violations``).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from pages import common, monitor_charts
from studio import monitor_violations
from studio.errors import FAILURES


def violations_tab(pipeline: Any, window: dict[str, Any]) -> None:
    """Rows breaking each quality rule per bucket, and the share breaking any."""
    try:
        found = monitor_violations.violations_over_time(pipeline.id, **window)
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

"""The Monitor page's numbers as one report, for a cron job or CI: ``python -m studio monitor --pipeline NAME``.

Traffic, live performance and drift over a window come from the same functions the page draws
(:mod:`studio.monitoring`, :mod:`studio.monitor_drift`); the pipeline's stored thresholds, with the ones a caller
passes replacing them, are checked by :mod:`studio.alerts` (as on the page and in a service's ``/metrics``), and the
command exits with :data:`EXIT_ALERT` when any is crossed so a scheduler can act on it. The HTML form is one
self-contained page of tables: no script, no network, every value escaped.
"""

from __future__ import annotations

import html
from datetime import datetime

from pydantic import BaseModel

from studio import alerts, monitoring
from studio.alert_thresholds import AlertThresholds, get_thresholds
from studio.roles import Actor

EXIT_ALERT = 3


class FeatureSummary(BaseModel):
    feature: str
    max_psi: float | None
    drifted_buckets: int
    buckets: int


class MonitorReport(BaseModel):
    """One pipeline over [since, until): served traffic, live performance, drift per feature, rule violations, and
    every threshold checked (``checks``) with a sentence per crossed one (``alerts``)."""

    pipeline: str
    since: datetime
    until: datetime
    granularity: str
    rows: int
    requests: int
    worst_p95_latency_ms: float | None
    metric: str
    live_score: float | None
    labelled_rows: int
    cv_estimate: float | None
    drift_version: int | None
    drift: list[FeatureSummary]
    drift_note: str | None
    violating_rows: int
    checks: list[alerts.Check]
    alerts: list[str]


def build_report(actor: Actor, pipeline: str, *, since: datetime, until: datetime,
                 granularity: monitoring.Granularity = "day",
                 thresholds: AlertThresholds | None = None) -> MonitorReport:
    """The report, with ``thresholds`` (default: the pipeline's stored ones) checked by :func:`studio.alerts.assess`,
    the function the Monitor page and a service's ``/metrics`` use too."""
    thresholds = thresholds if thresholds is not None else get_thresholds(actor, pipeline).thresholds
    traffic = monitoring.traffic(actor, pipeline, since=since, until=until, granularity=granularity)
    measured = alerts.measure(actor, pipeline, since=since, until=until, granularity=granularity, thresholds=thresholds,
                              drift=True)
    performance = measured.performance
    labelled = sum(b.rows for b in performance.buckets)
    live = (sum(b.value * b.rows for b in performance.buckets if b.value is not None) / labelled) if labelled else None
    features = []
    drift = measured.drift
    for name in drift.features if drift is not None else []:
        cells = drift.of(name)
        psis = [c.psi for c in cells if c.psi is not None]
        features.append(FeatureSummary(feature=name, max_psi=max(psis) if psis else None,
                                       drifted_buckets=sum(c.drifted for c in cells), buckets=len(cells)))
    p95 = [b.latency_p95_ms for b in traffic if b.latency_p95_ms is not None]
    checks = alerts.assess(thresholds, measured)
    return MonitorReport(pipeline=pipeline, since=since, until=until, granularity=granularity,
                         rows=sum(b.rows for b in traffic), requests=sum(b.requests for b in traffic),
                         worst_p95_latency_ms=max(p95) if p95 else None, metric=performance.metric,
                         live_score=live, labelled_rows=labelled, cv_estimate=performance.cv_estimate,
                         drift_version=drift.version if drift is not None else None, drift=features,
                         drift_note=measured.drift_note, violating_rows=measured.violations.violating_rows,
                         checks=checks, alerts=[c.sentence() for c in checks if c.crossed])


def to_html(report: MonitorReport) -> str:
    """A self-contained page of tables (no script, no external resource); every value is escaped."""
    def cell(value: object) -> str:
        if isinstance(value, float):
            value = f"{value:.4g}"
        return f"<td>{html.escape('' if value is None else str(value))}</td>"

    window = f"{report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC"
    summary = [("Pipeline", report.pipeline), ("Window", window),
               ("Granularity", report.granularity), ("Rows scored", f"{report.rows:,}"),
               ("Requests", f"{report.requests:,}"),
               ("Worst 95th-percentile latency (ms)", report.worst_p95_latency_ms),
               (f"Live {report.metric.replace('_', ' ')}", report.live_score), ("Labelled rows", report.labelled_rows),
               ("Cross-validated estimate", report.cv_estimate),
               ("Rows breaking a quality rule", f"{report.violating_rows:,}")]
    alerts = "".join(f"<li>{html.escape(a)}</li>" for a in report.alerts) or "<li>none</li>"
    drift = "".join(f"<tr>{cell(f.feature)}{cell(f.max_psi)}{cell(f.drifted_buckets)}{cell(f.buckets)}</tr>"
                    for f in report.drift)
    drift_part = (f"<p>{html.escape(report.drift_note)}</p>" if report.drift_note else
                  f"<table><tr><th>Feature</th><th>Largest PSI</th><th>Drifted buckets</th><th>Buckets judged</th>"
                  f"</tr>{drift}</table>")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>Monitor report: {html.escape(report.pipeline)}</title><style>body{{font-family:sans-serif;"
            "margin:2em}}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
            "</style></head><body>"
            f"<h1>Monitor report: {html.escape(report.pipeline)}</h1><table>"
            + "".join(f"<tr><th>{html.escape(k)}</th>{cell(v)}</tr>" for k, v in summary)
            + f"</table><h2>Alerts</h2><ul>{alerts}</ul><h2>Drift per feature</h2>{drift_part}</body></html>")

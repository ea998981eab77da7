"""The report renderer: every string escaped, charts as inert JSON, scripts allowed only by hash, nothing fetched."""

from __future__ import annotations

import html
import re

import pandas as pd
import plotly.graph_objects as go

from pipeline_core.reporting.document import Chart, Document, Facts, Section, Table, Text
from pipeline_core.reporting.html import DRAW_JS, script_hash, to_html

PAYLOAD = "<img src=x onerror=alert(1)></script><script>alert(2)</script>"


def _csp(page: str) -> str:
    return html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)[1])


def test_text_facts_and_tables_are_escaped_everywhere():
    table = Table.of(pd.DataFrame({PAYLOAD: [PAYLOAD, 1.23456789, None]}))
    page = to_html(Document(PAYLOAD, PAYLOAD, [Section("one", PAYLOAD, PAYLOAD, [
        Text(PAYLOAD), Text(PAYLOAD, "alert"), Facts([(PAYLOAD, PAYLOAD)]), table])]), footer=PAYLOAD)
    assert PAYLOAD not in page and "<img" not in page and "<script" not in page
    assert page.count(html.escape(PAYLOAD, quote=False)) >= 9
    assert "<td>1.235</td>" in page and "<td></td>" in page  # 4 significant digits; missing is empty
    assert "script-src 'none'" in _csp(page)  # no chart, no script at all


def test_a_chart_is_inert_json_drawn_by_the_two_hashed_scripts():
    figure = go.Figure()
    figure.add_bar(y=[PAYLOAD], x=[1], orientation="h")
    page = to_html(Document("t", "s", [Section("c", "Chart", "one chart", [Chart(figure, PAYLOAD)])]))
    spec = re.search(r'<script type="application/json" class="chart-spec" data-chart="chart-1">(.*?)</script>',
                     page, re.S)[1]
    assert "<" not in spec and ">" not in spec  # cannot close its block
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 2 and scripts[1] == DRAW_JS
    csp = _csp(page)
    assert f"script-src {script_hash(scripts[0])} {script_hash(scripts[1])};" in csp
    assert "default-src 'none'" in csp and "connect-src" not in csp and "img-src data:" in csp
    assert not re.search(r"<(link|img|iframe|object|embed)\b", page)

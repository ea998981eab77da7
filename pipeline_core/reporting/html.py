"""A :class:`~pipeline_core.reporting.document.Document` as one self-contained HTML file that works offline.

Rendering is Jinja2 with autoescaping on, so every string from the data (a column called ``<img onerror=…>``, a
category level ``<script>…``) reaches the page as text. Charts are Plotly figures stored as JSON in
``<script type="application/json">`` blocks (Jinja's ``tojson`` escapes ``<``, ``>``, ``&`` and quotes, so a
value cannot close the block); browsers never run such blocks. plotly.js is embedded once, and one small script
draws every chart from its JSON.

The Content-Security-Policy allows exactly those two scripts, by their SHA-256 hashes, rather than any inline
script: even markup that slipped past escaping could not run a script. Nothing may be fetched (``default-src
'none'``): no font, stylesheet, image or connection; images only as ``data:`` URLs (the chart toolbar's PNG
download). A report therefore opens the same on a machine without network, and reading it tells nobody.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import jinja2
import plotly
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from pipeline_core.reporting.document import Chart, Document, Facts, Table, Text

CHART_CONFIG = {"displaylogo": False, "responsive": True}
DRAW_JS = (
    "document.querySelectorAll('script.chart-spec').forEach(function (block) {"
    " var spec = JSON.parse(block.textContent);"
    f" Plotly.newPlot(block.dataset.chart, spec.data, spec.layout, {json.dumps(CHART_CONFIG)});"
    " });"
)


@dataclass(frozen=True)
class _Rendered:
    """A block as the template reads it: its kind, and for charts a number and the figure as plain JSON data."""

    kind: str
    block: Any
    number: int = 0
    spec: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.block, name)


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("pipeline_core.reporting", "templates"),
                              autoescape=True, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)


@functools.cache
def _plotly_js() -> str:
    """plotly.js as shipped with the installed plotly package (no CDN); checked to be safe to inline."""
    script = get_plotlyjs()
    if "</script" in script.lower() or "<!--" in script:
        raise RuntimeError(f"plotly {plotly.__version__}'s bundle cannot be inlined in a <script> element")
    return script


def script_hash(script: str) -> str:
    """A CSP source expression allowing one inline script, e.g. ``'sha256-…'``."""
    return f"'sha256-{base64.b64encode(hashlib.sha256(script.encode('utf-8')).digest()).decode()}'"


def content_security_policy(charts: bool) -> str:
    """Nothing fetched, no script but the report's own (none when it has no chart), inline styles allowed."""
    scripts = f"{script_hash(_plotly_js())} {script_hash(DRAW_JS)}" if charts else "'none'"
    return (f"default-src 'none'; script-src {scripts}; style-src 'unsafe-inline'; img-src data:; "
            "base-uri 'none'; form-action 'none'")


def _blocks(document: Document) -> list[list[_Rendered]]:
    numbered = 0
    sections = []
    for section in document.sections:
        rendered = []
        for block in section.blocks:
            if isinstance(block, Chart):
                numbered += 1
                rendered.append(_Rendered("chart", block, numbered, json.loads(block.figure.to_json())))
            else:
                kind = {Text: "text", Facts: "facts", Table: "table"}[type(block)]
                rendered.append(_Rendered(kind, block))
        sections.append(rendered)
    return sections


def to_html(document: Document, *, footer: str = "") -> str:
    """The document as one HTML page: every value escaped, plotly.js inlined once, nothing fetched."""
    sections = _blocks(document)
    charts = any(block.kind == "chart" for blocks in sections for block in blocks)
    return _environment().get_template("report.html.j2").render(
        document=document, sections=list(zip(document.sections, sections, strict=True)),
        csp=content_security_policy(charts),
        charts=charts, plotly_js=Markup(_plotly_js()) if charts else "", draw_js=Markup(DRAW_JS), footer=footer)

"""Issue 14 point 4: the data file's name, the profiling report's title, is text in the report.

ydata-profiling writes the title into the navbar unescaped (and into ``<title>`` through
``striptags``, which unescapes). The CLI's report is opened straight from disk, with no sandbox,
so a file named ``<img src=x onerror=alert(1)>.csv`` ran its script there. The tests parse the
real report HTML and look for any element or attribute the name could have brought in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from pipeline_core.analysis.report import full_report_html

ROOT = Path(__file__).resolve().parents[2]
IMG = "<img src=x onerror=alert(1)>"
CLOSE_TITLE = "</title><script>alert(2)</script><svg onload=alert(3)>"


class Elements(HTMLParser):
    """Every start tag with its attributes, every script's text, and the navbar brand's text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.brand: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in = "script"
        elif tag == "a" and "navbar-brand" in (dict(attrs).get("class") or ""):
            self._in = "brand"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "a"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "brand":
            self.brand.append(data)


def assert_nothing_injected(report: str) -> Elements:
    parsed = Elements()
    parsed.feed(report)
    handlers = [(tag, name) for tag, attrs in parsed.tags for name in attrs if name in ("onerror", "onload")]
    assert handlers == [], f"event handlers from the title: {handlers}"
    assert not [tag for tag, attrs in parsed.tags if tag in ("img", "svg") and attrs.get("src") == "x"]
    assert not [text for text in parsed.scripts if "alert(" in text], "a script from the title"
    return parsed


def test_the_cli_profile_report_shows_a_hostile_file_name_as_text(tmp_path):
    name = f"{IMG}.csv"
    pd.DataFrame({"x": range(20), "y": list("ab") * 10}).to_csv(tmp_path / name, index=False)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-m", "pipeline_core", "profile", name, "--out", "report.html", "--minimal"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    parsed = assert_nothing_injected((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert "img src=x onerror=alert(1)" in "".join(parsed.brand)  # still readable, as text


def test_a_title_closing_the_title_element_stays_text():
    """In the app the name comes from the upload, which may hold what a file name on disk cannot (``/``)."""
    frame = pd.DataFrame({"x": range(20)})
    report = full_report_html(frame, title=CLOSE_TITLE, minimal=True)
    assert_nothing_injected(report)
    title = report[report.index("<title>") + len("<title>"):report.index("</title>")]
    assert "<" not in title

"""Hostile column names and values cannot script the app through the full profiling report.

The CSV's column names and values are HTML/script payloads that set ``window.top.__pwned`` and
call ``alert``. The report is shown as ``st.iframe`` (same origin as the app) holding an inner
``<iframe sandbox="allow-scripts">`` with the ydata-profiling HTML, so whatever runs inside the
report gets an opaque origin and no modal dialogs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Frame, Page, expect

from tests.e2e.data import XSS_IMG, XSS_SCRIPT, write_xss_csv
from tests.e2e.ui import click_button, goto_page, key, no_exception, upload, wait_for_app

pytestmark = pytest.mark.e2e

REPORT_TIMEOUT_MS = 120_000


def test_full_report_of_hostile_names_runs_nothing_in_the_app(page: Page, shot, tmp_path: Path):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    outer, inner = _build_report(page, write_xss_csv(tmp_path / "xss.csv"))
    shot(page, "report_01_profile")

    assert inner.evaluate("() => document.title").startswith("xss"), "the report did not load in its frame"
    sandbox = outer.evaluate("() => document.querySelector('iframe').getAttribute('sandbox')")
    assert sandbox == "allow-scripts", f"report frame sandbox is {sandbox!r}; it must not allow same-origin"
    assert dialogs == [], f"a dialog opened: {dialogs}"
    assert page.evaluate("() => window.__pwned") is None, "a payload ran in the app page"
    assert outer.evaluate("() => window.__pwned") is None, "a payload ran in the app's own iframe"
    assert page.locator('img[src="x"]').count() == 0, "the app page rendered a payload <img>"
    assert outer.evaluate("() => document.querySelectorAll('img, script').length") == 0

    # The overview above the report shows the names as text (table cells and chart labels).
    expect(page.get_by_text(XSS_IMG, exact=True).first).to_be_attached()
    expect(page.get_by_text(XSS_SCRIPT, exact=True).first).to_be_attached()
    no_exception(page)


def test_full_report_shows_hostile_names_as_text(page: Page, tmp_path: Path):
    _, inner = _build_report(page, write_xss_csv(tmp_path / "xss.csv"))

    injected = inner.evaluate(
        "() => document.querySelectorAll('img[src=\"x\"], img[onerror]').length"
        " + [...document.scripts].filter(s => s.textContent.includes('__pwned')).length"
    )
    assert injected == 0, f"{injected} payload element(s) were rendered as HTML inside the report"
    text = inner.evaluate("() => document.body.innerText")
    assert XSS_IMG in text and XSS_SCRIPT in text, "the report does not show the column names as text"


def _build_report(page: Page, csv: Path) -> tuple[Frame, Frame]:
    """Load ``csv``, build the minimal report on the Profile page; return (app iframe, sandboxed report frame)."""
    upload(page, "data_upload", csv)
    expect(page.get_by_text(f"Loaded {csv.name}.")).to_be_visible()
    goto_page(page, "Profile")
    page.locator(key("profile_minimal")).get_by_text("Minimal report").click()
    expect(page.locator(key("profile_minimal")).get_by_role("switch")).to_be_checked()
    wait_for_app(page)
    click_button(page, "profile_full_report")
    expect(page.get_by_text("Report ready")).to_be_visible(timeout=REPORT_TIMEOUT_MS)

    host = page.locator('[data-testid="stIFrame"]')
    expect(host).to_be_visible()
    outer = host.element_handle().content_frame()
    outer.wait_for_selector("iframe[sandbox]", state="attached")
    inner = outer.query_selector("iframe[sandbox]").content_frame()
    inner.wait_for_load_state("load")
    return outer, inner

"""The model report in a real browser: the file opens offline with no console error and no request, its hostile
data value stays text, and the Models page builds it and hands it over.

The studio is prepared beforehand (a tuned classifier and a regressor, really fitted and registered; see
``tests/report_models.py``), so the test spends its time on the report, not on training through the UI.
Screenshots at 1280×800 go to ``screenshots/e2e_model_report_*.png`` (and ``/work/shots`` when it exists).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

import storage
from studio import model_report
from studio.roles import Actor
from studio.workspace import current_store, prepare_store
from tests.e2e.conftest import SCREENSHOTS, VIEWPORT, running_app
from tests.e2e.ui import ERROR, alerts_text, arm, click_button, key, no_exception, wait_for_app
from tests.report_models import CLASSIFIER, HOSTILE, REGRESSOR, register_both

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

pytestmark = pytest.mark.e2e

SHOTS = Path("/work/shots")
DRAWN_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Path]]]:
    """A studio with both models registered, and each one's report written to a file (built in this process)."""
    home = tmp_path_factory.mktemp("report_home")
    reports = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIPELINE_STUDIO_HOME", str(home))
        patch.delenv("DATABASE_URL", raising=False)
        storage.reset_engines()
        try:
            prepare_store(current_store())
            register_both(current_store())
            files = {}
            for name, sensitive in ((CLASSIFIER, ["region", "segment"]), (REGRESSOR, ["region"])):
                built = model_report.build_model_report(LOCAL, name, 1, sensitive=sensitive)
                files[name] = reports / built.file_name
                files[name].write_bytes(built.html)
        finally:
            storage.reset_engines()
    yield home, files


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"e2e_model_report_{name}.png"
    page.screenshot(path=str(path))  # the 1280×800 viewport a user sees
    if SHOTS.is_dir():
        shutil.copy(path, SHOTS / f"model-report-{name}.png")


@pytest.mark.parametrize("name", [CLASSIFIER, REGRESSOR])
def test_the_report_file_opens_offline_with_no_error_and_no_request(browser, studio, name):
    _, files = studio
    url = files[name].as_uri()
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    console, requests, dialogs, failures = [], [], [], []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    page.on("request", lambda request: requests.append(request.url))
    page.on("requestfailed", lambda request: failures.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(url)
        page.wait_for_function("() => document.querySelectorAll('script.chart-spec').length > 0 && "
                               "document.querySelectorAll('.js-plotly-plot .main-svg').length >= "
                               "document.querySelectorAll('script.chart-spec').length",
                               timeout=DRAWN_TIMEOUT_MS)
        charts = page.evaluate("() => document.querySelectorAll('.js-plotly-plot').length")
        expected = page.evaluate("() => document.querySelectorAll('script.chart-spec').length")
        assert charts == expected >= 8, f"{charts} of {expected} charts drawn"
        kind = "classifier" if name == CLASSIFIER else "regressor"
        _shot(page, f"file-{kind}")
        page.get_by_role("link", name="Explanations").click()  # in-page anchors fetch nothing either
        expect(page.locator("#explanations")).to_be_in_viewport()
        _shot(page, f"file-{kind}-explanations")

        assert console == [], console
        assert requests == [url], f"requests beyond the file itself: {requests}"
        assert failures == [] and dialogs == []
        text = page.evaluate("() => document.body.innerText")
        assert HOSTILE in text, "the hostile level is not shown as text"
        assert page.evaluate("() => document.scripts.length") == 2 + expected  # plotly.js, the loop, chart JSON
        assert page.evaluate("() => [...document.scripts].filter(s => s.textContent.includes('alert(1)')"
                             " && s.type !== 'application/json').length") == 0
        assert page.title().startswith("Model report: ")
    finally:
        context.close()


def _pick(page: Page, box, option: str) -> None:
    """Choose ``option`` in a multiselect and wait for the rerun; a click landing while the page settles may only
    focus the box, so it is tried again."""
    for _ in range(5):
        box.click()
        try:
            page.get_by_role("listbox").wait_for(timeout=3_000)
            break
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
    arm(page)
    page.get_by_role("listbox").get_by_role("option", name=option, exact=True).click()
    wait_for_app(page, armed=True)
    page.keyboard.press("Escape")


@pytest.fixture(scope="module")
def report_app(studio, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home, _ = studio
    with running_app(home, tmp_path_factory.mktemp("report_server") / "streamlit.log",
                     PIPELINE_STUDIO_JOBS="threads") as url:
        yield url


def test_the_models_page_builds_the_report_and_offers_it(browser, report_app, tmp_path):
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(180_000)
    page = context.new_page()
    try:
        page.goto(f"{report_app}/models")
        wait_for_app(page)
        page.locator(key("registry_pipeline")).get_by_role("combobox").click()
        arm(page)  # the name holds a slash, which ui.select_option's pattern cannot carry
        page.get_by_role("listbox").get_by_role("option", name=CLASSIFIER, exact=True).click()
        wait_for_app(page, armed=True)
        expect(page.get_by_role("heading", name="Model report")).to_be_visible()
        _pick(page, page.locator("[class*='st-key-report_sensitive_']").get_by_role("combobox"), "region")
        click_button(page, "report_build")
        download = page.locator(key("report_download"))
        expect(download).to_be_visible()
        outline = page.locator(key("registry_report_outline"))
        expect(outline).to_be_visible()
        assert page.locator(ERROR).count() == 0, alerts_text(page)
        no_exception(page)
        outline.scroll_into_view_if_needed()
        page.get_by_role("heading", name="Model report").scroll_into_view_if_needed()
        _shot(page, "page")

        with page.expect_download() as caught:
            download.locator("button").click()
        saved = tmp_path / caught.value.suggested_filename
        caught.value.save_as(saved)
        assert caught.value.suggested_filename == "model-report-churn-b-model-b-v1.html"
        text = saved.read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>") and "By region" in text and HOSTILE not in text
    finally:
        context.close()

"""The model registry in a real browser: register a run's model, promote it to production, roll back.

The server gets a studio prepared beforehand (two runs of one saved pipeline, the first already in
production), so the test spends its time on the Models page rather than on training through the UI.
Screenshots of each step go to ``screenshots/e2e_registry_*.png`` (and ``/work/shots`` when it exists).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

import storage
from pipeline_core.io.samples import load_sample
from storage import Store
from tests.apptest import store_frame
from tests.e2e.conftest import SCREENSHOTS, VIEWPORT, running_app
from tests.e2e.ui import (
    ERROR,
    TABLE,
    alerts_text,
    arm,
    click_button,
    goto_page,
    key,
    no_exception,
    wait_for_app,
)
from tests.pages.test_compare_page import fast_spec, train_now

pytestmark = pytest.mark.e2e

PIPELINE = "iris species classifier with a long descriptive name, to see how tables and menus cope"
SHOTS = Path("/work/shots")


def _prepare(home: Path) -> tuple[int, int]:
    """Two finished runs of one saved pipeline; the first registered as version 1 and in production."""
    store = Store.at(home)
    dataset_id = store_frame(store, load_sample("iris"), "iris")
    run_ids = []
    for seed in (1, 2):
        spec = fast_spec(seed=seed).model_copy(update={"name": PIPELINE})
        version = storage.save_pipeline_version(store, name=PIPELINE, definition=spec.to_dict())
        run_ids.append(train_now(store, dataset_id, spec, pipeline_version_id=version.id).id)
    first = storage.list_model_artifacts(store, run_id=run_ids[0])[0]
    model = storage.register_model_version(
        store, pipeline_id=storage.get_pipeline(store, PIPELINE).id, artifact_id=first.id,
        pipeline_version_id=storage.get_run(store, run_ids[0]).pipeline_version_id, data_sha256="a" * 64,
        metrics={"task": "classification", "metric": "accuracy", "cv": {"accuracy": 0.95}}, created_by="cli",
        note="the baseline everyone trusts")
    storage.set_model_stage(store, model.pipeline_id, 1, "production", by="cli", reason="baseline")
    storage.reset_engines()
    return run_ids[0], run_ids[1]


@pytest.fixture
def registry_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, tuple[int, int]]]:
    home = tmp_path_factory.mktemp("registry_home")
    runs = _prepare(home)
    with running_app(home, tmp_path_factory.mktemp("registry_server") / "streamlit.log",
                     PIPELINE_STUDIO_JOBS="threads") as url:
        yield url, home, runs


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"e2e_registry_{name}.png"
    page.screenshot(path=str(path))  # the 1280×800 viewport a user sees
    if SHOTS.is_dir():
        shutil.copy(path, SHOTS / f"registry-{name}.png")


def _choose(page: Page, widget_key: str, option: str) -> None:
    """Pick ``option`` in a selectbox inside a form (no rerun until the form is sent)."""
    box = page.locator(key(widget_key)).get_by_role("combobox")
    for _ in range(5):  # a click landing while the page settles may only focus the box
        box.click()
        try:
            page.get_by_role("listbox").wait_for(timeout=3_000)
            break
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
    page.get_by_role("listbox").get_by_role("option", name=option, exact=True).click()
    expect(box).to_have_value(option)


def _fill(page: Page, widget_key: str, text: str) -> None:
    """Type into a text input; outside a form, pressing Enter reruns the page."""
    field = page.locator(key(widget_key)).locator("input")
    field.fill(text)
    arm(page)
    field.press("Enter")
    wait_for_app(page, armed=True)


def test_register_promote_and_roll_back_on_the_models_page(browser, registry_app) -> None:
    url, home, (_, second_run) = registry_app
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(120_000)
    page = context.new_page()
    try:
        page.goto(f"{url}/models")
        wait_for_app(page)
        expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible()
        expect(page.get_by_text("In production: version 1")).to_be_visible()
        _shot(page, "1-production")

        page.get_by_text("Register a finished run's model").click()
        chosen_run = page.locator(key("registry_run")).get_by_role("combobox")
        expect(chosen_run).to_have_value(re.compile(f"^Run #{second_run} "))
        page.locator(key("registry_register_note")).locator("input").fill("more folds, same data")
        click_button(page, "registry_register_submit")
        expect(page.get_by_text("as version 2 of")).to_be_visible()
        no_exception(page)
        _shot(page, "2-registered")

        _choose(page, "registry_version", "version 2 (none)")
        _choose(page, "registry_stage", "Production: the model to serve")
        page.locator(key("registry_why")).locator("input").fill("better cross-validated accuracy")
        click_button(page, "registry_change")
        expect(page.get_by_text("version 1: production → archived; version 2: none → production")).to_be_visible()
        expect(page.get_by_text("In production: version 2")).to_be_visible()
        assert page.locator(ERROR).count() == 0, alerts_text(page)
        _shot(page, "3-promoted")

        _fill(page, "registry_rollback_why", "complaints after the release")
        arm(page)
        page.locator(key("registry_rollback_confirm")).get_by_text("Yes, roll back to version 1").click()
        wait_for_app(page, armed=True)
        click_button(page, "registry_rollback_button")
        expect(page.get_by_text("version 1 is in production again")).to_be_visible()
        expect(page.get_by_text("In production: version 1")).to_be_visible()
        expect(page.locator(key("registry_rollback_why")).locator("input")).to_have_value("")  # ready for the next
        expect(page.locator(key("registry_rollback_button")).locator("button")).to_be_disabled()
        expect(page.locator(key("registry_history")).locator(TABLE)).to_be_visible()
        no_exception(page)
        _shot(page, "4-rolled-back")

        goto_page(page, "Predict")  # scores with the production model unless the user picks another
        chosen = page.locator(key("predict_model")).get_by_role("combobox")
        expect(chosen).to_have_value(re.compile(f"^Production · .* · {re.escape(PIPELINE)} v1$"))
        expect(page.get_by_text(f"The production model of {PIPELINE} v1")).to_be_visible()
        no_exception(page)
        _shot(page, "5-predict-default")
    finally:
        context.close()
    store = Store.at(home)
    pipeline_id = storage.get_pipeline(store, PIPELINE).id
    assert {m.version: m.stage for m in storage.list_model_versions(store, pipeline_id)} == {
        1: "production", 2: "archived"}
    latest = storage.list_stage_changes(store, pipeline_id)[0]
    assert latest.changed_by.startswith("draft:") and latest.rollback  # the tab's draft, as the job cap counts
    storage.reset_engines()

"""Nothing is lost (issue 15, "Done when"): the pipeline a user builds survives a browser refresh and opens in a
second browser (new cookies, new session) from the same address, and a run started before the refresh is
followed to its leaderboard without another refresh.

What is checked is what the pages show (sidebar, Clean's rules, Train's run panel, Compare's leaderboard),
never session internals. Screenshots go to /work/shots/draft-*.png when that folder can be made.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.conftest import VIEWPORT
from tests.e2e.data import write_clinic_csv
from tests.e2e.ui import (
    ERROR,
    PLOT,
    RERUN_TIMEOUT_MS,
    alerts_text,
    arm,
    click_button,
    goto_page,
    key,
    no_exception,
    select_option,
    shot,
    upload,
    wait_for_app,
)

pytestmark = pytest.mark.e2e

TARGET = "diagnosis"
STEP = "Clip outliers"
RULE_COLUMN = "patient_id"
MODELS = ("Logistic regression", "Decision tree")
TRAINING_TIMEOUT_MS = 600_000  # two searches of at least half a minute each, on a machine shared with other tests


def _shot(page: Page, name: str) -> None:
    shot(page, f"draft-{name}")


def _sidebar(page: Page):
    return page.locator('[data-testid="stSidebar"]')


def _build_pipeline(page: Page, tmp_path: Path) -> None:
    """Upload a messy file, choose the long-named target, add a cleaning step and a quality rule."""
    upload(page, "data_upload", write_clinic_csv(tmp_path / "clinic.csv"))
    expect(page.get_by_text("Loaded clinic.csv.")).to_be_visible()
    goto_page(page, "Features")
    select_option(page, "features_target", TARGET)
    expect(_sidebar(page).get_by_text(f"Target: {TARGET}")).to_be_visible()
    goto_page(page, "Clean")
    page.get_by_role("tab", name="Cleaning steps").click()
    select_option(page, "clean_add_kind", STEP)
    click_button(page, "clean_add_step")
    expect(_sidebar(page).get_by_text(STEP).first).to_be_visible()
    page.get_by_role("tab", name="Data quality rules").click()
    select_option(page, "clean_rule_kind", "Unique")
    select_option(page, "clean_rule_column", RULE_COLUMN)
    click_button(page, "clean_add_rule")
    _expect_rule(page)
    assert page.locator(ERROR).count() == 0, alerts_text(page)
    no_exception(page)


def _expect_rule(page: Page) -> None:
    """Clean's rules tab lists the rule and its report (0 of 1 broken: the ids are unique)."""
    page.get_by_role("tab", name="Data quality rules").click()
    expect(page.get_by_text("0 of 1 rule(s) broken")).to_be_visible()
    expect(page.locator(key("clean_rule_pick")).get_by_role("combobox")).to_have_value(
        f"1. Unique on '{RULE_COLUMN}'")


def _expect_pipeline(page: Page) -> None:
    """Target and steps as the sidebar shows them on every page, and the rule as Clean shows it."""
    expect(_sidebar(page).get_by_text(f"Target: {TARGET}")).to_be_visible()
    expect(_sidebar(page).get_by_text(STEP).first).to_be_visible()
    goto_page(page, "Clean")
    _expect_rule(page)


def _choose_in_form(page: Page, widget_key: str, option: str) -> None:
    """Pick ``option`` in a selectbox inside a form (no rerun); reopen the list if a busy page swallowed a click."""
    combobox = page.locator(key(widget_key)).get_by_role("combobox")
    choice = page.get_by_role("listbox").get_by_role("option", name=option, exact=True)
    for _ in range(3):
        page.keyboard.press("Escape")
        combobox.click()
        try:
            choice.wait_for(state="visible", timeout=15_000)
        except PlaywrightTimeoutError:
            continue
        choice.click()
        break
    expect(combobox).to_have_value(option)


def _start_training(page: Page) -> int:
    """Two models, each tuned by random search for half a minute: long enough to still run after a reload."""
    goto_page(page, "Train")
    box = page.locator(key("train_models"))
    expect(box.locator("[data-tag]").first).to_be_visible()
    for text in box.locator("[data-tag]").all_inner_texts():
        if text.strip() not in MODELS:
            box.get_by_role("button", name=f"Remove {text.strip()}", exact=True).click()
    present = {t.strip() for t in box.locator("[data-tag]").all_inner_texts()}
    for label in MODELS:
        if label not in present:
            box.get_by_role("combobox").click()
            page.get_by_role("listbox").get_by_role("option", name=label, exact=True).click()
            page.keyboard.press("Escape")
    page.locator(key("train_folds")).locator("input").fill("3")
    _choose_in_form(page, "train_tuning", "Random search")
    page.locator(key("train_trials")).locator("input").fill("10000")
    page.locator(key("train_timeout")).locator("input").fill("0.5")
    arm(page)
    page.locator(key("train_start")).locator("button").click()
    wait_for_app(page, armed=True)
    progress = page.locator(key("train_progress"))
    expect(progress, alerts_text(page)).to_be_visible()
    match = re.search(r"Run #(\d+)", progress.inner_text())
    assert match, progress.inner_text()
    return int(match.group(1))


def test_refresh_keeps_pipeline_and_follows_the_run_to_its_leaderboard(page: Page, tmp_path: Path):
    _build_pipeline(page, tmp_path)
    run_id = _start_training(page)
    _shot(page, "1-train-before-reload")

    page.reload()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Train")).to_be_visible()
    expect(page.get_by_text("Choose the column to predict")).to_have_count(0)
    expect(page.locator(key("train_progress"))).to_contain_text(f"Run #{run_id}")
    expect(_sidebar(page)).to_contain_text(re.compile(rf"Run #{run_id}: (queued|running)"))
    expect(_sidebar(page).get_by_text(f"Target: {TARGET}")).to_be_visible()
    expect(_sidebar(page).get_by_text(STEP).first).to_be_visible()
    _shot(page, "2-train-after-reload")
    no_exception(page)

    goto_page(page, "Clean")
    _expect_rule(page)
    _shot(page, "3-clean-rules-after-reload")

    goto_page(page, "Compare")
    follow = page.get_by_role("link", name="Follow it on Train")
    if follow.count():  # still running: the link leads to the run, not to "Choose the column to predict"
        _shot(page, "4-compare-running")
        arm(page)
        follow.click()
        wait_for_app(page, armed=True)
        expect(page.get_by_role("heading", name="Train")).to_be_visible()
        expect(page.get_by_text(f"Run #{run_id}").first).to_be_visible()
        expect(page.get_by_text("Choose the column to predict")).to_have_count(0)
        goto_page(page, "Compare")

    # no refresh from here on: the page and the sidebar follow the run to its end on their own
    board = page.locator(key("compare_leaderboard"))
    expect(board, "the leaderboard never appeared on Compare").to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    expect(_sidebar(page)).to_contain_text(f"Run #{run_id}: done", timeout=RERUN_TIMEOUT_MS)
    for label in MODELS:
        expect(board).to_contain_text(label)
    wait_for_app(page)
    picker = page.locator(key("compare_run_picker")).get_by_role("combobox")
    expect(picker).to_have_value(re.compile(rf"Run #{run_id} · done"))
    _shot(page, "5-compare-finished")
    goto_page(page, "Train")
    expect(page.get_by_text(f"Run #{run_id} finished in")).to_be_visible()
    _shot(page, "6-train-finished")
    no_exception(page)


def test_the_same_address_in_a_new_browser_context_opens_the_same_pipeline(page: Page, browser, tmp_path: Path):
    _build_pipeline(page, tmp_path)
    address = page.url
    assert "draft=" in address, address

    other = browser.new_context(viewport=VIEWPORT)
    other.set_default_timeout(RERUN_TIMEOUT_MS)
    try:
        second = other.new_page()
        second.goto(address)
        wait_for_app(second)
        expect(second.get_by_role("heading", name="Clean")).to_be_visible()
        expect(_sidebar(second).get_by_text("clinic · 240 × 8")).to_be_visible()
        _expect_pipeline(second)
        goto_page(second, "Features")
        target = second.locator(key("features_target")).get_by_role("combobox")
        expect(target).to_have_value(re.compile(rf"^{TARGET}( · .*)?$"))  # shown with its type
        expect(second.locator(key("features_balance")).locator(PLOT).first).to_be_visible()  # the target's classes
        _shot(second, "7-second-context")
        no_exception(second)
    finally:
        other.close()

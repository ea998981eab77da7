"""Decision threshold tuning in a real browser (issue 15 point 12): Train offers it for a two-class target, the
run's summary and leaderboard show the threshold and the metric it maximised. Screenshots at 1280×800."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ui import keep_only, key, no_exception, open_train
from tests.pipeline_core.test_threshold import imbalanced

pytestmark = pytest.mark.e2e

TRAINING_TIMEOUT_MS = 180_000



def test_train_offers_threshold_tuning_for_two_classes_and_shows_the_chosen_threshold(fresh_page, threads_app_url,
                                                                                     shot, tmp_path: Path):
    page = fresh_page
    csv = tmp_path / "alarms.csv"
    imbalanced(600).to_csv(csv, index=False)
    open_train(page, threads_app_url, csv, "label")
    option = page.locator(key("train_threshold"))
    expect(option).to_contain_text("Tune the decision threshold on CV predictions")
    keep_only(page, "train_models", ("Logistic regression",))
    page.locator(key("train_folds")).locator("input").fill("3")
    option.locator("label").click()
    shot(page, "train_threshold_option")
    _check_help(page)
    page.locator(key("train_start")).locator("button").click()
    summary = page.get_by_text("Decision threshold: predicts")
    expect(summary).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    expect(summary).to_contain_text("chosen to maximise balanced accuracy")
    # the leaderboard's "Threshold (balanced accuracy)" column is drawn on a canvas: tests/pages checks it
    no_exception(page)
    shot(page, "train_threshold_summary")


def _check_help(page: Page) -> None:
    """The help says what a data scientist needs to decide: what it chooses, on which rows, what it costs."""
    page.locator(key("train_threshold")).locator('[data-testid="stTooltipIcon"]').hover()
    tooltip = page.locator('[data-testid="stTooltipContent"]')
    expect(tooltip).to_contain_text("out-of-fold predictions")
    expect(tooltip).to_contain_text("hold-out rows")
    page.mouse.move(0, 0)

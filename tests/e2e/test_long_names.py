"""Long class names in a real browser (issue 15 point 15): Profile, Clean, Compare and Predict at 1280×800, with
screenshots in /work/shots/long-*.png for a person to look at, and the checks a browser can make on them."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.data import write_clinic_csv
from tests.e2e.ui import PLOT, click_button, goto_page, key, no_exception, select_option, shot, upload, wait_for_app

pytestmark = pytest.mark.e2e

TRAINING_TIMEOUT_MS = 600_000
MIN_PLOT_PX = 200  # the confusion matrix and the ROC plot area were ~70 and ~60 px with long names


def _shot(page: Page, name: str) -> None:
    shot(page, f"long-{name}")


def _plot_area(page: Page, chart_key: str) -> dict:
    """Width and height in px of the plotting area (the axes' rectangle) of the plotly chart keyed ``chart_key``."""
    area = page.locator(key(chart_key)).locator(".nsewdrag").first
    expect(area).to_be_attached()
    box = area.bounding_box()
    assert box is not None, chart_key
    return box


def test_pages_stay_readable_with_long_class_names(page: Page, tmp_path: Path):
    upload(page, "data_upload", write_clinic_csv(tmp_path / "clinic.csv"))
    goto_page(page, "Profile")
    expect(page.locator('[data-testid="stMetric"]').first).to_be_visible()
    _shot(page, "1-profile")
    no_exception(page)

    goto_page(page, "Features")
    select_option(page, "features_target", "diagnosis")
    goto_page(page, "Clean")
    page.get_by_role("tab", name="Cleaning steps").click()
    _shot(page, "2-clean")
    no_exception(page)

    goto_page(page, "Train")
    page.locator(key("train_folds")).locator("input").fill("3")
    click_button(page, "train_start")
    expect(page.get_by_text("finished in")).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    wait_for_app(page)

    goto_page(page, "Compare")
    expect(page.locator(key("compare_leaderboard"))).to_be_visible()
    _shot(page, "3-compare-leaderboard")
    page.get_by_role("tab", name="Hold-out charts").click()
    wait_for_app(page)
    expect(page.locator(key("compare_confusion_matrix")).locator(PLOT).first).to_be_visible(
        timeout=TRAINING_TIMEOUT_MS)
    page.locator(key("compare_confusion_matrix")).scroll_into_view_if_needed()
    _shot(page, "4-compare-confusion")
    page.locator(key("compare_roc_curve")).scroll_into_view_if_needed()
    _shot(page, "5-compare-roc")
    for chart in ("compare_confusion_matrix", "compare_roc_curve"):
        area = _plot_area(page, chart)
        assert area["width"] >= MIN_PLOT_PX and area["height"] >= MIN_PLOT_PX, (chart, area)
    no_exception(page)

    goto_page(page, "Predict")
    upload(page, "predict_upload", write_clinic_csv(tmp_path / "new.csv", n=40, seed=9, with_target=False))
    expect(page.get_by_role("heading", name="Predictions")).to_be_visible()
    page.locator(key("predict_preview")).scroll_into_view_if_needed()
    _shot(page, "6-predict")
    no_exception(page)

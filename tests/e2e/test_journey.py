"""The whole journey a user makes, in a real browser: upload → profile → clean → features → train →
compare → save → reload → export → predict.

One test on purpose: each step needs the state the previous one left (the session's dataset,
definition and run), exactly as it does for a user.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.data import write_churn_csv
from tests.e2e.ui import (
    ERROR,
    PLOT,
    TABLE,
    alerts_text,
    click_button,
    goto_page,
    keep_only,
    key,
    no_exception,
    select_option,
    upload,
    wait_for_app,
)

pytestmark = pytest.mark.e2e

PIPELINE_NAME = "churn e2e"
KEPT_MODELS = ("Logistic regression", "Random forest")
TRAINING_TIMEOUT_MS = 120_000


def test_user_journey_from_csv_to_predictions(page: Page, shot, tmp_path: Path):
    train_csv = write_churn_csv(tmp_path / "churn.csv", n=300, seed=0)
    new_csv = write_churn_csv(tmp_path / "new_customers.csv", n=40, seed=7, with_target=False)

    _load_data(page, train_csv)
    shot(page, "01_data")
    _profile(page)
    shot(page, "02_profile")
    _clean(page)
    shot(page, "03_clean")
    _features(page)
    shot(page, "04_features")
    _train(page, shot)
    shot(page, "06_train_done")
    _compare(page)
    shot(page, "07_compare")
    _save_pipeline(page)
    shot(page, "08_pipelines_saved")
    # Export before the reload: pages/pipelines.py (_model_runs) offers a run trained before its
    # pipeline was saved only to the session that trained it; after a reload Export says "No trained model".
    _download_model(page, tmp_path)
    shot(page, "09_pipelines_export")
    _reload_and_find_pipeline(page)
    shot(page, "10_pipelines_after_reload")
    _predict(page, new_csv, tmp_path)
    shot(page, "11_predict")


def _load_data(page: Page, csv: Path) -> None:
    upload(page, "data_upload", csv)
    expect(page.get_by_text("Loaded churn.csv.")).to_be_visible()
    expect(page.locator(TABLE).first).to_be_visible()
    expect(page.get_by_text("Rows 1–100 of 300 · 6 columns")).to_be_visible()
    expect(page.locator('[data-testid="stSidebar"]').get_by_text("churn · 300 × 6")).to_be_visible()
    no_exception(page)


def _profile(page: Page) -> None:
    goto_page(page, "Profile")
    expect(_metric(page, "Rows")).to_contain_text("300")
    expect(_metric(page, "Columns")).to_contain_text("6")
    expect(page.locator(TABLE).first).to_be_visible()
    no_exception(page)


def _metric(page: Page, label: str):
    return page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text(label, exact=True))


def _clean(page: Page) -> None:
    """The defaults the page offers for an empty pipeline, plus one step the user picks."""
    goto_page(page, "Clean")
    page.get_by_role("tab", name="Cleaning steps").click()
    click_button(page, "clean_add_defaults")
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.get_by_text("One-hot encode").first).to_be_visible()
    select_option(page, "clean_add_kind", "Clip outliers")
    click_button(page, "clean_add_step")
    expect(page.get_by_role("heading", name="Clip outliers")).to_be_visible()
    expect(page.get_by_text("Preview ·")).to_be_visible()
    expect(sidebar.get_by_text("Clip outliers").first).to_be_visible()
    assert page.locator(ERROR).count() == 0, alerts_text(page)
    no_exception(page)


def _features(page: Page) -> None:
    goto_page(page, "Features")
    select_option(page, "features_target", "churned")
    expect(page.locator('[data-testid="stSidebar"]').get_by_text("Target: churned")).to_be_visible()
    expect(page.locator(key("features_task"))).to_contain_text("classification")
    assert page.locator(ERROR).count() == 0, alerts_text(page)
    no_exception(page)


def _train(page: Page, shot) -> None:
    goto_page(page, "Train")
    expect(page.locator(key("train_models")).locator("[data-tag]").first).to_be_visible()
    keep_only(page, "train_models", KEPT_MODELS)
    folds = page.locator(key("train_folds")).locator("input")
    folds.fill("3")
    page.locator(key("train_start")).locator("button").click()

    progress = page.locator(key("train_progress"))
    expect(progress.locator('[data-testid="stProgress"], [role="progressbar"]').first).to_be_visible()
    shot(page, "05_train_progress")

    finished = page.get_by_text("finished in")
    expect(finished, "training never finished").to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    wait_for_app(page)
    assert page.locator(ERROR).count() == 0, alerts_text(page)
    expect(page.locator(TABLE).first).to_be_visible()
    no_exception(page)


def _compare(page: Page) -> None:
    goto_page(page, "Compare")
    board = page.locator(key("compare_leaderboard"))
    expect(board).to_be_visible()
    for label in KEPT_MODELS:
        expect(page.get_by_text(label).first).to_be_attached()
    plot = page.locator(PLOT).first
    expect(plot).to_be_visible()
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible()
    no_exception(page)


def _save_pipeline(page: Page) -> None:
    goto_page(page, "Pipelines")
    name = page.locator(key("pipelines_name")).locator("input")
    name.fill(PIPELINE_NAME)
    click_button(page, "pipelines_save")
    expect(page.get_by_text(f"Saved '{PIPELINE_NAME}' version 1.")).to_be_visible()
    no_exception(page)


def _reload_and_find_pipeline(page: Page) -> None:
    page.reload()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Pipelines")).to_be_visible()
    expect(page.locator(key("pipelines_pick")).get_by_role("combobox")).to_have_value(PIPELINE_NAME)
    expect(page.locator(key("pipelines_versions"))).to_be_visible()
    no_exception(page)


def _download_model(page: Page, tmp_path: Path) -> None:
    page.get_by_role("tab", name="Export").click()
    button = page.locator(key("pipelines_download_model")).locator("button")
    expect(button, alerts_text(page)).to_be_visible()
    with page.expect_download() as info:
        button.click()
    download = info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.suffix == ".skops", target.name
    assert target.stat().st_size > 1_000, f"{target.name} is only {target.stat().st_size} bytes"


def _predict(page: Page, csv: Path, tmp_path: Path) -> None:
    goto_page(page, "Predict")
    expect(page.locator(key("predict_model"))).to_be_visible()
    upload(page, "predict_upload", csv)
    expect(page.get_by_role("heading", name="Predictions")).to_be_visible()
    expect(page.get_by_text("First 40 of 40 rows")).to_be_visible()
    expect(page.locator(TABLE).filter(visible=True).first).to_be_visible()
    button = page.locator(key("predict_download")).locator("button")
    expect(button, alerts_text(page)).to_be_visible()
    with page.expect_download() as info:
        button.click()
    path = tmp_path / "predictions.csv"
    info.value.save_as(path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert "prediction" in lines[0].split(","), lines[0]
    assert len(lines) == 41, f"expected a header and 40 rows, got {len(lines)} lines"
    no_exception(page)

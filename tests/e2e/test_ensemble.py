"""Ensembles and refit on all rows in a real browser (issue 20 points 3 and 4): Train offers both, the run's
summary states the refit and the leaderboard ranks the ensembles with their members. Screenshots at 1280×800."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.ui import keep_only, key, no_exception, open_train
from tests.pipeline_core.test_ensemble import classes_frame

pytestmark = pytest.mark.e2e

TRAINING_TIMEOUT_MS = 240_000



def test_train_offers_ensembles_and_refit_and_states_both_after_the_run(fresh_page, threads_app_url, shot,
                                                                         tmp_path: Path):
    page = fresh_page
    csv = tmp_path / "classes.csv"
    classes_frame().to_csv(csv, index=False)
    open_train(page, threads_app_url, csv, "y")
    ensemble = page.locator(key("train_ensemble"))
    expect(ensemble).to_contain_text("Also try ensembles of the models")
    expect(page.locator(key("train_refit_all"))).to_contain_text("Refit the saved model on all rows")
    expect(page.locator(key("train_refit_all")).locator("input")).to_be_checked()  # on by default
    keep_only(page, "train_models", ("Logistic regression", "Random forest"))
    page.locator(key("train_folds")).locator("input").fill("3")
    ensemble.locator("label").click()
    shot(page, "train_ensemble_options")
    page.locator(key("train_start")).locator("button").click()
    refit = page.get_by_text("Saved model: refitted on all")
    expect(refit).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    expect(refit).to_contain_text("600 rows (training and hold-out)")
    # on these rows the greedy ensemble trails the random forest by less than the folds' noise, and ranks first
    expect(page.get_by_text("is ranked first although Random forest scores")).to_be_visible()
    no_exception(page)
    shot(page, "train_ensemble_summary")

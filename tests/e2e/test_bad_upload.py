"""A PNG named ``data.csv`` is refused with a plain message, and the app keeps working."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.data import write_png_named_csv
from tests.e2e.ui import ERROR, TABLE, alerts_text, click_button, no_exception, upload

pytestmark = pytest.mark.e2e


def test_png_named_csv_shows_an_error_and_a_sample_still_loads(page, shot, tmp_path):
    bad = write_png_named_csv(tmp_path / "data.csv")

    upload(page, "data_upload", bad)

    error = page.locator(ERROR).filter(has_text="'data.csv' is a PNG image, not a table")
    expect(error.first, f"alerts: {alerts_text(page)}").to_be_visible()
    no_exception(page)
    shot(page, "bad_01_png_upload")

    page.get_by_role("tab", name="Sample datasets").click()
    click_button(page, "data_load_sample")

    expect(page.locator(TABLE).first).to_be_visible()
    expect(page.locator('[data-testid="stSidebar"]').get_by_text("iris · 150 × 5")).to_be_visible()
    no_exception(page)
    shot(page, "bad_02_sample_loaded")

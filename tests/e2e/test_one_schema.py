"""One schema in a real browser (issue 15 point 5): a messy file (a date held as text, an ID, a renamed column, an
overridden type, a left-out column and a dropped one) reads the same on Data, Profile and Predict.

The column settings are written into the tab's draft and the page reloaded, as a refresh restores them (the
Columns editor is a canvas grid a browser test cannot type into reliably); everything else is clicked.
Screenshots at 1280×800 go to /work/shots/schema-*.png when that folder can be made.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

import storage
from pipeline_core.definition.spec import PipelineSpec
from tests.e2e.ui import click_button, goto_page, key, no_exception, shot, upload, wait_for_app
from tests.pipeline_core.frames import schema_frame, schema_spec

pytestmark = pytest.mark.e2e

TRAINING_TIMEOUT_MS = 600_000


def _shot(page: Page, name: str) -> None:
    shot(page, f"schema-{name}")


def _set_columns_in_the_draft(page: Page, home: Path) -> None:
    """Write the messy file's definition into this tab's draft and reload, as a refresh restores a draft."""
    token = parse_qs(urlparse(page.url).query)["draft"][0]
    store = storage.Store.at(home)
    draft = storage.get_draft(store, token)
    assert draft is not None and draft.dataset_id is not None
    spec = PipelineSpec.model_validate({**schema_spec().to_dict(), "data": draft.definition.get("data")})
    storage.save_draft(store, token, dataset_id=draft.dataset_id, definition=spec.to_dict(), context=draft.context)
    page.reload()
    wait_for_app(page)


def test_data_profile_and_predict_read_one_schema(page: Page, tmp_path: Path, studio_home: Path):
    schema_frame(300).to_csv(tmp_path / "messy.csv", index=False)
    upload(page, "data_upload", tmp_path / "messy.csv")
    _set_columns_in_the_draft(page, studio_home)  # reloads on Data, where the upload was

    expect(page.get_by_text("renamed: sz → size")).to_be_visible()
    expect(page.get_by_text("left out of the pipeline: comment")).to_be_visible()
    _shot(page, "1-data")
    no_exception(page)

    goto_page(page, "Profile")
    caption = page.get_by_text("Column types:")
    expect(caption).to_contain_text("1 datetime")
    expect(caption).to_contain_text("1 identifier")
    _shot(page, "2-profile")
    no_exception(page)

    goto_page(page, "Train")
    click_button(page, "train_start")
    expect(page.get_by_text("finished in")).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    wait_for_app(page)

    goto_page(page, "Predict")
    schema_frame(80, seed=1).drop(columns="label").to_csv(tmp_path / "new.csv", index=False)
    upload(page, "predict_upload", tmp_path / "new.csv")
    table = page.locator(key("predict_drift_table"))
    expect(table).to_be_visible()
    table.scroll_into_view_if_needed()
    _shot(page, "3-predict-drift")
    no_exception(page)

"""Retrain in a real browser (issue 17 point 4): the Monitor page's Retrain panel counts the labelled logged rows,
the button trains in the background with its progress shown, and the model appears as a staging challenger.

The server gets a studio prepared beforehand (iris, version 1 in production, 20 logged rows of which 15 have their
true outcome and their inputs and 5 only their outcome). Screenshots: ``screenshots/e2e_retrain_*.png`` and
``/work/shots/retrain-*.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

import storage
from pipeline_core.io.samples import load_sample
from storage import Store
from studio import registry
from studio.roles import Actor
from tests.e2e.conftest import VIEWPORT, running_app
from tests.e2e.ui import click_button, key, no_exception, shot, wait_for_app
from tests.pages.test_compare_page import fast_spec, train_now

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

pytestmark = pytest.mark.e2e

FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
DEADLINE_MS = 240_000  # a small background fit on a loaded 2-core machine


def _prepare(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_STUDIO_HOME", str(home))
    store = Store.at(home)
    iris = load_sample("iris")
    dataset_id = storage.save_dataset(store, name="iris", file_name="iris.csv", fmt="csv", frame=iris,
                                      sha256="e" * 64).id
    spec = fast_spec(seed=1).model_copy(update={"name": "iris"})
    version = storage.save_pipeline_version(store, name="iris", definition=spec.to_dict())
    registry.register_model(LOCAL, train_now(store, dataset_id, spec, pipeline_version_id=version.id).id, by="cli")
    registry.set_stage(LOCAL, "iris", 1, "production", by="cli", why="baseline")
    new = iris.sample(20, random_state=4).reset_index(drop=True)
    storage.append_predictions(store, [
        {"logged_at": storage.models.utcnow(), "request_id": "r", "row_id": i,
         "inputs": dict(zip(FEATURES, map(float, row), strict=True)) if i < 15 else None, "prediction": "setosa",
         "latency_ms": 4.0} for i, row in enumerate(new[FEATURES].to_numpy())],
        source="service", pipeline_id=version.pipeline_id, model_version=1, model_sha256="ab")
    storage.save_ground_truth(store, [("r", i, new["target"][i]) for i in range(20)])
    storage.reset_engines()


@pytest.fixture
def retrain_app(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    home = tmp_path_factory.mktemp("retrain_home")
    _prepare(home, monkeypatch)
    with running_app(home, tmp_path_factory.mktemp("retrain_server") / "streamlit.log",
                     PIPELINE_STUDIO_JOBS="threads") as url:
        yield url


def test_the_retrain_button_registers_a_staging_challenger(browser, retrain_app) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(120_000)
    page = context.new_page()
    try:
        page.goto(f"{retrain_app}/monitor")
        wait_for_app(page)
        panel = page.get_by_text("15 logged row(s) have received their true outcome")
        panel.scroll_into_view_if_needed()
        expect(panel).to_be_visible()
        expect(page.get_by_text("5 more labelled row(s) cannot be used")).to_be_visible()
        no_exception(page)
        shot(page, "retrain-1-panel")

        click_button(page, "monitor_retrain")
        done = page.get_by_text("registered as version 2 (staging)")
        expect(done.or_(page.locator(key("monitor_retrain_progress")))).to_be_visible()
        if page.locator(key("monitor_retrain_progress")).count():
            page.locator(key("monitor_retrain_progress")).scroll_into_view_if_needed()
            shot(page, "retrain-2-running")
        expect(done).to_be_visible(timeout=DEADLINE_MS)
        done.scroll_into_view_if_needed()
        no_exception(page)
        shot(page, "retrain-3-registered")
        expect(page.get_by_text("the 150 training rows of version 1 plus 15 labelled logged row(s)")).to_be_visible()
    finally:
        context.close()

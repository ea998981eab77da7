"""The Monitor page's alerts in a real browser: a registered iris pipeline whose logged petal lengths moved two hours
ago, with thresholds on drift, accuracy and the share of rows breaking a rule, shows each crossed one at the top of
the page, and the 'Rule violations' view draws its chart. Screenshots at 1280×800 go to /work/shots.

The studio is prepared beforehand in this process (a real fit, registered; logged traffic written to the log), so
the test spends its time on the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

import storage
from pipeline_core.io.samples import load_sample
from studio import alert_thresholds, registry
from studio.alert_thresholds import AlertThresholds
from studio.roles import Actor
from studio.workspace import current_store, prepare_store
from tests.application.conftest import log_iris_traffic
from tests.apptest import store_frame
from tests.e2e.conftest import running_app
from tests.e2e.ui import alerts_text, goto_page, no_exception, shot, wait_for_app
from tests.pages.test_compare_page import fast_spec, train_now

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

pytestmark = pytest.mark.e2e

DRAWN_TIMEOUT_MS = 60_000
BROKEN = [["In range (at most 7)", "petal length (cm)"]]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("monitor_alerts_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIPELINE_STUDIO_HOME", str(home))
        patch.delenv("DATABASE_URL", raising=False)
        storage.reset_engines()
        try:
            store = current_store()
            prepare_store(store)
            dataset_id = store_frame(store, load_sample("iris"), "iris")
            spec = fast_spec(seed=1).model_copy(update={"name": "iris"})
            version = storage.save_pipeline_version(store, name="iris", definition=spec.to_dict())
            run = train_now(store, dataset_id, spec, pipeline_version_id=version.id)
            registry.register_model(LOCAL, run.id, by="cli")
            registry.set_stage(LOCAL, "iris", 1, "production", by="cli", why="baseline")
            log_iris_traffic(store)
            pipeline_id = storage.get_pipeline(store, "iris").id
            at = datetime.now(UTC) - timedelta(hours=1)
            storage.append_predictions(store, [
                {"logged_at": at, "request_id": "wide", "row_id": i, "inputs": None, "prediction": "virginica",
                 "latency_ms": 4.0, "violations": BROKEN if i < 12 else None} for i in range(40)],
                source="service", pipeline_id=pipeline_id, model_version=1, model_sha256="ab")
            alert_thresholds.save_thresholds(LOCAL, "iris", AlertThresholds(
                feature_psi={"petal length (cm)": 0.2, "sepal width (cm)": 0.2}, min_accuracy=0.9,
                max_violation_rate=0.05), by="ana")
        finally:
            storage.reset_engines()
    yield home


def test_the_monitor_page_shows_crossed_thresholds_and_the_rule_violations_chart(browser, home, tmp_path):
    with running_app(home, tmp_path / "streamlit.log") as url:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page: Page = context.new_page()
        try:
            page.goto(url)
            wait_for_app(page)
            goto_page(page, "Monitor")
            alerts = page.locator('[data-testid="stAlert"]')
            expect(alerts.filter(has_text="drift: 'petal length (cm)' reached PSI")).to_be_visible(
                timeout=DRAWN_TIMEOUT_MS)
            no_exception(page)
            text = alerts_text(page)
            assert "above 0.2 by" in text and "since" in text, text
            assert "performance: live accuracy" in text and "below 0.9 by" in text, text
            assert "violations: share of rows breaking a quality rule 0.06 on 200 scored rows, above 0.05" in text, text
            assert "drift: 'sepal width (cm)'" not in text  # the steady feature stays quiet
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=DRAWN_TIMEOUT_MS)
            shot(page, "monitor-alerts")
            page.locator('[data-testid="stButtonGroup"]').get_by_text("Rule violations", exact=True).click()
            chart = page.locator(".js-plotly-plot").filter(has_text="Rows breaking each quality rule")
            expect(chart).to_be_visible(timeout=DRAWN_TIMEOUT_MS)
            chart.scroll_into_view_if_needed()
            shot(page, "monitor-rule-violations")
        finally:
            context.close()

"""Issue 17's browser done-when: Monitor → alert → retrain → compare → promote, in real Chromium.

The studio is prepared beforehand in this process: the 'lanes' pipeline of ``tests/application/test_month_of_traffic``
(``x1`` decides in training; in the new traffic ``x1`` sits four standard deviations higher and ``x2`` decides) is fit
and put in production, then a real ``python -m studio serve --pipeline lanes`` on loopback scores two requests, one
like training and one drifted, and takes their true outcomes on ``/feedback``; each request is then laid five and two
hours back in the log. In the browser the user saves thresholds in the form, sees the drift and accuracy alerts,
clicks Retrain and waits (a deadline, never a sleep) for version 2 in staging; a real shadow service
(``--shadow staging``) then scores new drifted rows with both models and takes their outcomes, the user refreshes the
page, reads the verdict "better", types why and promotes. Screenshots at 1280×800 go to /work/shots/monitor-journey-*.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

import storage
from pipeline_core.definition.spec import PipelineSpec
from studio import registry
from studio.roles import Actor
from studio.workspace import current_store, prepare_store
from tests.application.test_month_of_traffic import lanes, move_request
from tests.application.test_prediction_log import logged
from tests.apptest import store_frame
from tests.e2e.conftest import running_app
from tests.e2e.ui import ALERT, alerts_text, arm, click_button, goto_page, key, no_exception, shot, wait_for_app
from tests.pages.test_compare_page import train_now
from tests.serving.conftest import records
from tests.serving.service import CliService

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

pytestmark = pytest.mark.e2e

DRAWN_TIMEOUT_MS = 60_000
RETRAIN_DEADLINE_MS = 300_000  # a small fit on a loaded 2-core machine; waited for, never timed
STEADY, DRIFTED, SHADOWED = 120, 150, 200


def serve_and_label(home: Path, rows, *args: str, at: datetime | None = None) -> str:
    """POST ``rows`` (without their label) to a real ``python -m studio serve --pipeline lanes ARGS`` and their true
    labels to its ``/feedback``; the request is then moved to ``at`` in the log, if given. Returns the request id."""
    service = CliService(None, "--pipeline", "lanes", *args, module="studio", env={"PIPELINE_STUDIO_HOME": str(home)})
    try:
        client = service.client()
        answer = client.post_json("/predict", {"rows": records(rows.drop(columns="label"))})
        assert answer.status == 200, answer.body
        request_id = answer.json()["request_id"]
        scorers = 2 if "--shadow" in args else 1  # a shadow model's answers are logged next to production's
        logged(current_store(), scorers * len(rows), request_id=request_id)
        outcomes = [{"request_id": request_id, "row_id": i, "outcome": label} for i, label in enumerate(rows["label"])]
        assert client.post_json("/feedback", {"outcomes": outcomes}).json()["matched"] == len(rows)
    finally:
        service.stop()
    if at is not None:
        move_request(current_store(), request_id, at)
    return request_id


@dataclass(frozen=True)
class Seeded:
    home: Path
    drifted_at: datetime  # when the drifted request was logged


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """'lanes' version 1 in production, with a steady request five hours ago and a drifted one two hours ago."""
    home = tmp_path_factory.mktemp("monitor_journey_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIPELINE_STUDIO_HOME", str(home))
        patch.delenv("DATABASE_URL", raising=False)
        storage.reset_engines()
        try:
            store = current_store()
            prepare_store(store)
            dataset_id = store_frame(store, lanes(300, seed=0, shifted=False), "lanes")
            spec = PipelineSpec(name="lanes", target="label",
                                models=[{"kind": "decision_tree", "params": {"max_depth": 6}}],
                                evaluation={"cv_folds": 3, "holdout": 0.2})
            version = storage.save_pipeline_version(store, name="lanes", definition=spec.to_dict())
            run = train_now(store, dataset_id, spec, pipeline_version_id=version.id)
            registry.register_model(LOCAL, run.id, by="cli")
            registry.set_stage(LOCAL, "lanes", 1, "production", by="cli", why="first model")
            now = datetime.now(UTC)
            serve_and_label(home, lanes(STEADY, seed=1, shifted=False), at=now - timedelta(hours=5))
            serve_and_label(home, lanes(DRIFTED, seed=2, shifted=True), at=now - timedelta(hours=2))
            yield Seeded(home, now - timedelta(hours=2))
        finally:
            storage.reset_engines()


def reload(page: Page) -> None:
    """What a user does to see what changed on the server: refresh the page."""
    page.reload()
    wait_for_app(page)


def open_thresholds(page: Page) -> None:
    """Unfold the 'Alert thresholds' expander at the bottom of the page."""
    summary = page.locator('[data-testid="stExpander"] summary').filter(has_text="Alert thresholds")
    summary.scroll_into_view_if_needed()
    summary.click()


def test_monitor_alert_retrain_compare_promote(browser, seeded, tmp_path):
    home = seeded.home
    with running_app(home, tmp_path / "streamlit.log", PIPELINE_STUDIO_JOBS="threads") as url:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page: Page = context.new_page()
        try:
            page.goto(url)
            wait_for_app(page)
            goto_page(page, "Monitor")
            expect(page.get_by_text("Rows scored", exact=True)).to_be_visible(timeout=DRAWN_TIMEOUT_MS)
            assert page.locator(ALERT).filter(has_text="Alert:").count() == 0  # no thresholds yet

            # 1. thresholds in the form: drift on a feature above PSI 0.5, accuracy below 0.8
            open_thresholds(page)
            page.locator(key("alerts_max_psi")).locator("input").fill("0.5")
            page.locator(key("alerts_min_accuracy")).locator("input").fill("0.8")
            page.get_by_role("button", name="Save thresholds").click()
            expect(page.get_by_text("Thresholds saved")).to_be_visible(timeout=DRAWN_TIMEOUT_MS)
            shot(page, "monitor-journey-1-thresholds")

            # 2. the alerts, on the next draw; the form shows what was saved
            reload(page)
            alerts = page.locator(ALERT).filter(has_text="Alert:")
            expect(alerts.filter(has_text="drift: 'x1'")).to_be_visible(timeout=DRAWN_TIMEOUT_MS)
            expect(alerts.filter(has_text="performance: live accuracy")).to_be_visible(timeout=DRAWN_TIMEOUT_MS)
            no_exception(page)
            since = f"since {seeded.drifted_at:%Y-%m-%d %H}:00 UTC"  # the hour bucket the drifted request fell in
            assert all(since in text for text in alerts.all_inner_texts()), alerts_text(page)
            assert "drift: 'x2'" not in alerts_text(page)  # the feature that did not move stays quiet
            shot(page, "monitor-journey-2-alerts")
            open_thresholds(page)
            assert page.locator(key("alerts_max_psi")).locator("input").input_value() == "0.50"
            assert page.locator(key("alerts_min_accuracy")).locator("input").input_value() == "0.80"

            # 3. retrain version 1 on its training rows plus the labelled logged ones; wait for version 2 in staging
            retrain_panel = page.get_by_text(f"{STEADY + DRIFTED} logged row(s) have received their true outcome")
            retrain_panel.scroll_into_view_if_needed()
            click_button(page, "monitor_retrain")
            no_exception(page)
            shot(page, "monitor-journey-3-retraining")
            done = page.locator(ALERT).filter(has_text="registered as version 2 (staging)")
            expect(done).to_be_visible(timeout=RETRAIN_DEADLINE_MS)
            assert registry.model_in_stage(LOCAL, "lanes", "staging").version == 2
            done.scroll_into_view_if_needed()
            shot(page, "monitor-journey-4-retrained")

            # 4. a real shadow service scores new drifted rows with both models; their outcomes arrive
            serve_and_label(home, lanes(SHADOWED, seed=99, shifted=True), "--shadow", "staging")
            reload(page)
            verdict = page.locator(ALERT).filter(has_text="The challenger is better")
            expect(verdict).to_be_visible(timeout=DRAWN_TIMEOUT_MS)
            assert f"on the same {SHADOWED} rows" in verdict.inner_text()
            verdict.scroll_into_view_if_needed()
            shot(page, "monitor-journey-5-verdict")

            # 5. promote, with a reason; the registry switches production to version 2 and records why
            page.locator(key("monitor_challenger_why")).locator("input").fill("wins the shadow comparison on x2")
            arm(page)
            page.get_by_role("button", name="Promote version 2 to production").click()
            promoted = page.locator(ALERT).filter(has_text="Version 2 is now in production")
            expect(promoted).to_be_visible(timeout=DRAWN_TIMEOUT_MS)  # drawn by the rerun after the switch
            wait_for_app(page, armed=True)  # that rerun has ended: the elements of the run before it are gone
            no_exception(page)
            assert page.locator(key("monitor_challenger")).count() == 0  # redrawn after the switch, not stale
            expect(page.locator(ALERT).filter(has_text="registered as version 2 (staging). It is now in production."))\
                .to_be_visible()
            promoted.scroll_into_view_if_needed()
            shot(page, "monitor-journey-6-promoted")
            assert registry.production_model(LOCAL, "lanes").version.version == 2
            assert {v.version: v.stage for v in registry.list_model_versions(LOCAL, "lanes")} == {1: "archived",
                                                                                          2: "production"}
            reload(page)  # a fresh draw: version 2 is production, and no challenger is left to compare
            picker = page.locator(key("monitor_retrain_version")).get_by_role("combobox")
            expect(picker).to_have_value(re.compile(r"^Version 2 \(production\)"), timeout=DRAWN_TIMEOUT_MS)
            assert page.locator(key("monitor_challenger")).count() == 0
            no_exception(page)
        finally:
            context.close()

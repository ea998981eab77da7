"""A browser refresh starts a new session: the URL brings back the dataset, and a running job is found again."""

from __future__ import annotations

from sqlalchemy import update
from streamlit.testing.v1 import AppTest

import storage
from storage.reporter import mark_lost_runs
from tests.apptest import REPO, TIMEOUT
from tests.pages.test_train_page import wait_for_run


def test_a_refreshed_session_reopens_the_dataset_named_in_the_url(iris_id):
    refreshed = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    refreshed.query_params["dataset"] = str(iris_id)
    refreshed.run()
    assert not refreshed.exception
    assert refreshed.session_state["dataset_id"] == iris_id
    assert "iris" in " ".join(m.value for m in refreshed.sidebar.markdown)


def test_a_new_session_on_the_train_page_shows_a_run_still_going(store, app, iris_id):
    run = storage.create_run(store, dataset_id=iris_id)
    storage.update_run_progress(store, run.id, fraction=0.4, message="Random forest: fold 2 of 5 done")
    at = app("pages/train.py", dataset_id=iris_id, spec={"target": "target"})
    assert not at.exception
    assert at.session_state["run_id"] == run.id
    assert f"Run #{run.id}** · running" in " ".join(m.value for m in at.markdown)
    storage.finish_run(store, run.id, status="cancelled", error="test over")


def test_a_run_a_restart_cut_short_is_shown_failed_and_can_be_run_again(store, app, iris_id):
    run = storage.create_run(store, dataset_id=iris_id)
    storage.start_run(store, run.id)
    assert mark_lost_runs(store) == [run.id]  # the next server start: its job runner holds no jobs yet
    at = app("pages/train.py", dataset_id=iris_id, spec={"target": "target", "evaluation": {"cv_folds": 3}})
    at.session_state["run_id"] = run.id
    at.run()
    errors = " ".join(str(e.value) for e in at.error)
    assert f"Run #{run.id} failed: {storage.STOPPED_RUN_MESSAGE}" in errors
    at.button(key="train_rerun").click().run()
    assert not at.exception
    new_run = at.session_state["run_id"]
    assert new_run != run.id and storage.get_run(store, new_run).dataset_id == iris_id
    assert wait_for_run(store, new_run).status == "done"


def test_a_run_an_older_version_marked_interrupted_can_still_be_run_again(store, app, iris_id):
    run = storage.create_run(store, dataset_id=iris_id)
    storage.db.write(store, lambda session: session.execute(
        update(storage.Run).where(storage.Run.id == run.id).values(status="interrupted", error="server stopped")))
    at = app("pages/train.py", dataset_id=iris_id, spec={"target": "target", "evaluation": {"cv_folds": 3}})
    at.session_state["run_id"] = run.id
    at.run()
    assert f"Run #{run.id} interrupted: server stopped" in " ".join(str(e.value) for e in at.error)
    assert at.button(key="train_rerun").label == "Run it again"


# ---- the working pipeline is a draft: a refresh or a second tab finds it (issue 15 points 1, 3, 4) -------------


def refreshed_tab(at: AppTest, page: str = "pages/clean.py") -> AppTest:
    """A new browser session opened on ``at``'s address (what a refresh or a second tab does)."""
    tab = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    for key, value in at.query_params.items():
        tab.query_params[key] = value[0] if isinstance(value, list) else value
    tab.run()
    tab.switch_page(page).run()
    assert not tab.exception
    return tab


def edit_a_pipeline(app, dataset_id: int) -> AppTest:
    at = app("pages/clean.py", dataset_id=dataset_id, spec={"target": "target"})
    at.selectbox(key="clean_rule_kind").set_value("range").run()
    at.selectbox(key="clean_rule_column").set_value("sepal length (cm)")
    at.number_input(key="clean_rule_max").set_value(7.5)
    at.button(key="clean_add_rule").click().run()
    at.selectbox(key="clean_add_kind").set_value("scale")
    at.button(key="clean_add_step").click().run()
    assert not at.exception
    return at


def test_a_refresh_brings_back_the_target_steps_and_rules_being_edited(app, iris_id):
    at = edit_a_pipeline(app, iris_id)
    token = at.query_params["draft"][0] if isinstance(at.query_params["draft"], list) else at.query_params["draft"]
    assert len(token) >= 16
    tab = refreshed_tab(at)
    assert tab.session_state["spec"] == at.session_state["spec"]
    spec = tab.session_state["spec"]
    assert (spec["target"], [s["kind"] for s in spec["steps"]], spec["rules"][0]["max"]) == ("target", ["scale"], 7.5)
    assert tab.session_state["dataset_id"] == iris_id


def test_a_second_tab_on_the_same_address_follows_the_first_tabs_edits(app, iris_id):
    first = edit_a_pipeline(app, iris_id)
    second = refreshed_tab(first)
    first.selectbox(key="clean_add_kind").set_value("power")
    first.button(key="clean_add_step").click().run()
    second.run()  # any click in the second tab
    assert [s["kind"] for s in second.session_state["spec"]["steps"]] == ["scale", "power"]


def test_an_unknown_or_malformed_draft_address_opens_a_clean_page(iris_id):
    for token in ("not a token!", "x" * 30):
        tab = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
        tab.query_params["draft"] = token
        tab.query_params["dataset"] = str(iris_id)
        tab.run()
        assert not tab.exception
        assert tab.session_state["dataset_id"] == iris_id
        assert tab.session_state["spec"] is None


def test_after_a_refresh_the_name_is_kept_and_the_saved_version_names_its_data(app, store, iris_id):
    at = edit_a_pipeline(app, iris_id)
    tab = refreshed_tab(at, "pages/pipelines.py")
    tab.text_input(key="pipelines_name").input("iris flowers")
    tab.button(key="pipelines_save").click().run()
    assert not tab.exception
    [pipeline] = storage.list_pipelines(store)
    [version] = storage.list_versions(store, pipeline.id)
    dataset = storage.get_dataset(store, iris_id)
    assert version.definition["data"] == {"file_name": dataset.file_name, "sha256": dataset.sha256,
                                          "format": dataset.format}
    tab.switch_page("pages/clean.py").run()
    tab.switch_page("pages/pipelines.py").run()
    assert tab.text_input(key="pipelines_name").value == "iris flowers"
    again = refreshed_tab(tab, "pages/pipelines.py")
    assert again.text_input(key="pipelines_name").value == "iris flowers"
    assert "saved as version 1" in " ".join(m.value for m in again.markdown)


def test_a_changed_name_does_not_silently_fork_the_opened_pipeline(app, store, iris_id):
    at = edit_a_pipeline(app, iris_id)
    at.switch_page("pages/pipelines.py").run()
    at.text_input(key="pipelines_name").input("churn")
    at.button(key="pipelines_save").click().run()
    at.text_input(key="pipelines_name").input("churn 2")
    at.button(key="pipelines_save").click().run()
    assert "You opened 'churn' but the name now reads 'churn 2'" in " ".join(str(e.value) for e in at.error)
    assert [p.name for p in storage.list_pipelines(store)] == ["churn"]
    at.text_input(key="pipelines_name").input("churn 2")
    at.checkbox(key="pipelines_save_as_new").check()
    at.button(key="pipelines_save").click().run()
    assert [p.name for p in storage.list_pipelines(store)] == ["churn", "churn 2"]


def test_a_refresh_keeps_counting_the_same_jobs_against_the_cap(app, store, iris_id, monkeypatch):
    """Issue 14 point 8: a refresh used to start a new session, and with it a fresh job count."""
    monkeypatch.setenv("PIPELINE_STUDIO_JOBS", "threads")
    monkeypatch.setenv("PIPELINE_STUDIO_MAX_JOBS_PER_USER", "3")  # without sign-in, only a cap the server sets
    at = edit_a_pipeline(app, iris_id)
    owner = f"draft:{at.session_state['draft_token']}"
    for _ in range(3):
        storage.create_run(store, dataset_id=iris_id, owner=owner)
    tab = refreshed_tab(at, "pages/train.py")
    assert tab.session_state["owner"] == owner
    assert "You have 3 of at most 3 jobs queued or running." in [c.value for c in tab.caption]

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

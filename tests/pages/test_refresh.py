"""A browser refresh starts a new session: the URL brings back the dataset, and a running job is found again."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

import storage
from tests.pages.conftest import REPO, TIMEOUT
from tests.pages.test_train_page import wait_for_run


def test_a_refreshed_session_reopens_the_dataset_named_in_the_url(iris_id):
    refreshed = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    refreshed.query_params["dataset"] = str(iris_id)
    refreshed.run()
    assert not refreshed.exception
    assert refreshed.session_state["dataset_id"] == iris_id
    assert "iris" in " ".join(m.value for m in refreshed.sidebar.markdown)


def test_a_new_session_on_the_train_page_shows_a_run_still_going(app, iris_id):
    run = storage.create_run(dataset_id=iris_id)
    storage.update_run_progress(run.id, fraction=0.4, message="Random forest: fold 2 of 5 done")
    at = app("pages/train.py", dataset_id=iris_id, spec={"target": "target"})
    assert not at.exception
    assert at.session_state["run_id"] == run.id
    assert f"Run #{run.id}** · running" in " ".join(m.value for m in at.markdown)
    storage.finish_run(run.id, status="cancelled", error="test over")


def test_a_run_interrupted_by_a_restart_can_be_run_again(app, iris_id):
    run = storage.create_run(dataset_id=iris_id)
    storage.finish_run(run.id, status="interrupted", error="the server restarted while this run was going")
    at = app("pages/train.py", dataset_id=iris_id, spec={"target": "target", "evaluation": {"cv_folds": 3}})
    at.session_state["run_id"] = run.id
    at.run()
    assert "interrupted" in " ".join(str(e.value) for e in at.error)
    at.button(key="train_rerun").click().run()
    assert not at.exception
    new_run = at.session_state["run_id"]
    assert new_run != run.id and storage.get_run(new_run).dataset_id == iris_id
    assert wait_for_run(new_run).status == "done"

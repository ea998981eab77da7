"""A browser refresh starts a new session: the URL brings back the dataset, and a running job is found again."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

import storage
from tests.pages.conftest import REPO, TIMEOUT


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

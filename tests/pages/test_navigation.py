"""A page opened directly by its address runs inside app.py's frame, never as a lone ``pages/`` script.

Until ``st.navigation`` has been called once in a server process, Streamlit treats a ``pages/``
folder beside the entrypoint as a legacy multipage app: the first script run of a fresh server
would run ``pages/<name>.py`` on its own, with an automatic menu of every file in the folder.
``AppTest`` starts every run in that state, so each run here is such a first run.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import REPO, TIMEOUT

PAGES = ["pages/data.py", "pages/profile.py", "pages/clean.py", "pages/features.py", "pages/train.py",
         "pages/compare.py", "pages/models.py", "pages/predict.py", "pages/monitor.py",
         "pages/pipelines.py"]  # fmt: skip


def app_frame_ran(at: AppTest) -> bool:
    """app.py's sidebar (the active dataset and pipeline) is drawn only when app.py ran."""
    return "DATASET" in [caption.value for caption in at.sidebar.caption]


@pytest.mark.parametrize("page", PAGES)
def test_a_page_opened_by_its_address_first_runs_the_app_frame(page):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page(page).run()
    assert not at.exception
    assert app_frame_ran(at)


@pytest.mark.parametrize("page", ["pages/profile.py", "pages/pipelines.py"])
def test_switching_to_a_page_keeps_the_app_frame(page):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    assert app_frame_ran(at)


def test_a_helper_module_opened_by_its_address_is_not_run_as_a_page():
    """``pages/common.py`` is shared code, not a page: its address falls back to the first page."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("pages/common.py").run()
    assert not at.exception
    assert app_frame_ran(at)
    assert [header.value for header in at.header] == ["Data"]

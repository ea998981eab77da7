"""The Monitor page's Retrain panel (issue 17 point 4): the button starts a background retrain on the newly
labelled logged rows, the panel follows it, and the model appears as a staging challenger with its lineage."""

from __future__ import annotations

import time

import pytest

from studio import registry
from studio.roles import Actor
from tests.application.conftest import iris_studio  # noqa: F401 - a fixture: two registered iris versions
from tests.application.test_retrain import DEADLINE, labelled  # noqa: F401 - a fixture: 15 usable labelled rows
from tests.apptest import texts

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

@pytest.mark.usefixtures("labelled")
def test_the_retrain_button_trains_in_the_background_and_registers_a_staging_challenger(app, monkeypatch):
    monkeypatch.setenv("PIPELINE_STUDIO_JOBS", "threads")
    at = app("pages/monitor.py")
    assert not at.exception and not at.error
    assert at.selectbox(key="monitor_retrain_version").value == 1  # production by default
    assert ("15 logged row(s) have received their true outcome and would be added to version 1's training data. "
            "5 more labelled row(s) cannot be used") in texts(at, "caption")
    at.button(key="monitor_retrain").click().run()
    assert not at.exception and not at.error
    deadline = time.monotonic() + DEADLINE
    while "registered as version 3 (staging)" not in texts(at, "success"):
        assert time.monotonic() < deadline, texts(at, "markdown")
        time.sleep(0.5)
        at.run()
    assert not at.exception
    assert "Retrain of version 1 on the 150 training rows of version 1 plus 15 labelled logged row(s)" \
        in texts(at, "success")
    assert registry.model_in_stage(LOCAL, "iris", "staging").version == 3
    assert "Version 3 (staging): Logistic regression" in at.selectbox(key="monitor_challenger").options


@pytest.mark.usefixtures("iris_studio")
def test_a_retrain_with_nothing_labelled_is_refused_in_one_line(app, monkeypatch):
    monkeypatch.setenv("PIPELINE_STUDIO_JOBS", "threads")
    at = app("pages/monitor.py")
    assert "0 logged row(s) have received their true outcome" in texts(at, "caption")
    at.button(key="monitor_retrain").click().run()
    assert not at.exception
    assert texts(at, "error").startswith("no logged row of this pipeline has a true outcome")

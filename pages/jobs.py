"""The training runner this server shares, cached for the pages; the use cases live in :mod:`studio.training`.

``st.cache_resource`` keeps one runner per server process (it holds no user data, only workers or a
cluster client) and replaces it when its cluster died; the runs the dead one held are then closed as
failed, as at start-up.
"""

from __future__ import annotations

import streamlit as st

from pages import session
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.jobs.runners import JobRunner
from studio import training
from studio.settings import settings


@st.cache_resource(show_spinner="Starting the training workers…", validate=lambda runner: runner.healthy(),
                   on_release=lambda runner: runner.close())
def job_runner() -> JobRunner:
    return training.start_runner(settings())


def submit_training(spec: PipelineSpec, dataset_id: int, *, pipeline_version_id: int | None = None) -> int:
    """Record a queued run and hand it to this server's runner; returns the run id at once.

    The run counts against the signed-in account's limits (without sign-in: this tab's, when the server sets one).
    """
    owner = session.owner()
    training.check_job_limit(session.actor(), owner)
    return training.submit_training(session.actor(), job_runner(), spec, dataset_id,
                                    pipeline_version_id=pipeline_version_id,
                                    owner=owner)


if __name__ == "__main__":  # opened by its address as the first run of a server: not a page
    from pages import common

    common.run_inside_app()

"""The Monitor page's Retrain panel: re-run a registered version on newly labelled logged rows (or a picked file) as
a background job whose model becomes a staging challenger; its progress while it runs, its lineage once done.

The job runs on the server (:mod:`studio.retrain` through the shared job runner), so the user may leave the page;
coming back shows it from the ``retrains`` record.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from pages import common, jobs, monitor_data, session
from studio import registry, retrain, training
from studio.errors import FAILURES

POLL_SECONDS = 2
LOG, FILE = "Its training data + newly labelled logged rows", "A file I pick"


def retrain_section(pipeline: Any) -> None:
    st.subheader("Retrain")
    try:
        versions = [v for v in registry.list_model_versions(session.actor(), pipeline.id) if v.stage != "archived"]
        history = retrain.retrains(session.actor(), pipeline.id)
    except FAILURES as e:
        common.show_error(e)
        return
    if not versions:
        st.caption("Register a model of this pipeline on the Models page to retrain it here.")
        return
    active = [job for job in history if job.active]
    if active:
        _live(active[0].id)
        return
    if history:
        _last(history[0], {v.version: v.stage for v in versions})
    _form(pipeline, versions, tuple((job.id, job.active) for job in history[:1]))


def _form(pipeline: Any, versions: list[registry.ModelVersion], latest: tuple[object, ...]) -> None:
    labels = {v.version: f"Version {v.version} ({v.stage}): {v.model_label}" for v in versions}
    production = next((v.version for v in versions if v.stage == registry.PRODUCTION), versions[0].version)
    if st.session_state.get("monitor_retrain_version") not in labels:
        st.session_state["monitor_retrain_version"] = production
    version = st.selectbox("Version to retrain", list(labels), format_func=labels.get, key="monitor_retrain_version")
    source = st.radio("Train on", [LOG, FILE], horizontal=True, key="monitor_retrain_source")
    upload = None
    if source == LOG:
        try:
            pending = monitor_data.pending_rows(pipeline.id, version, latest)
        except FAILURES as e:
            common.show_error(e)
            return
        since = " since it was trained" if pending.received_after else ""
        lacking = (f" {pending.without_inputs:,} more labelled row(s) cannot be used: the log kept no inputs for "
                   "them (only a sample of inputs is logged).") if pending.without_inputs else ""
        st.caption(f"{pending.added_rows:,} logged row(s) have received their true outcome{since} and would be added "
                   f"to version {version}'s training data.{lacking}")
    else:
        upload = st.file_uploader("Training file (with the target column)", key="monitor_retrain_file",
                                  type=["csv", "tsv", "txt", "xlsx", "parquet", "json", "jsonl"])
    if not st.button(f"Retrain version {version}", key="monitor_retrain", icon=":material/model_training:",
                     disabled=source == FILE and upload is None):
        return
    owner = session.owner()
    try:
        training.check_job_limit(session.actor(), owner)
        retrain.retrain(session.actor(), jobs.job_runner(), pipeline.id, version=version, by=owner, owner=owner,
                        data=upload.getvalue() if upload is not None else None,
                        file_name=upload.name if upload is not None else None)
    except FAILURES as e:
        common.show_error(e)
        return
    st.rerun()


@st.fragment(run_every=POLL_SECONDS)
def _live(retrain_id: int) -> None:
    """Polls the retrain's run; when it ends (registered or not), reruns the page to show the new challenger."""
    try:
        job = retrain.get_retrain(session.actor(), retrain_id)
    except FAILURES as e:
        common.show_error(e)
        return
    if not job.active:
        if job.version is not None:  # a fragment run: the page's challenger picker is not drawn yet, so it may change
            st.session_state["monitor_challenger"] = job.version
        st.rerun()
    with st.container(key="monitor_retrain_progress", border=True):
        st.markdown(f"**Retraining version {job.from_version}** · run #{job.run_id} · {job.status}")
        st.progress(float(job.progress), text=job.message or "starting…")
        st.caption(f"On {job.rows()}. Training runs on the server: you can change page or close the tab and come "
                   "back; the model is registered in staging as a challenger when it ends.")
        if st.button("Cancel", key="monitor_retrain_cancel", icon=":material/cancel:"):
            training.cancel(session.actor(), job.run_id)
            st.rerun()


def _last(job: retrain.RetrainJob, stages: dict[int, str]) -> None:
    """The last retrain's outcome; once its version left staging (promoted, archived) the shadow advice is stale."""
    stage = stages.get(job.version, "archived")
    if job.version is not None and stage == "staging":
        st.success(f"{job.sentence()} Serve production with it in shadow (`python -m studio serve --pipeline "
                   f"{job.pipeline} --shadow staging`) and compare the two above once outcomes arrive.",
                   icon=":material/model_training:")
    elif job.version is not None:
        st.info(f"{job.sentence()} It is now {'in production' if stage == registry.PRODUCTION else stage}.",
                icon=":material/model_training:")
    else:
        st.warning(job.sentence(), icon=":material/model_training:")

"""Models: the model registry of a pipeline. Register a run's model, promote it, roll production back, read why.

Each block of the page is one function taking the pipeline and its versions, listed in :data:`SECTIONS`, so a
block (a scoring service's controls, say) is added by appending one function. Every action asks for a reason
and records who acted (this browser session) through :mod:`studio.registry`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from pages import charts, common, registration, report_section, session
from studio import pipelines as library
from studio import registry
from studio import services as services_app
from studio.errors import FAILURES

PAGE = registration.MODELS_PAGE
PICK_NEXT_KEY = registration.PICK_NEXT_KEY
STAGE_CHOICES = {"staging": "Staging: a candidate being checked", "production": "Production: the model to serve",
                 "archived": "Archived: kept, not used", "none": "None: registered only"}

COLUMN_WIDTHS = {"Version": st.column_config.Column(width="small"), "Run": st.column_config.Column(width="small"),
                 "Definition": st.column_config.Column(width="small"), "By": st.column_config.Column(width="medium"),
                 "Note": st.column_config.TextColumn(width="medium"), "Why": st.column_config.TextColumn(width="large")}
"""Short values get narrow columns, so names, notes and reasons get the room (long ones scroll inside their cell)."""
CLEAR_KEY = "registry_clear"  # set by an action: the next run empties the reason fields before they are drawn
CLEARED = {"registry_why": "", "registry_rollback_why": "", "registry_rollback_confirm": False}
Section = Callable[[Any, list[registry.ModelVersion]], None]


def main() -> None:
    common.run_inside_app()
    st.header("Models")
    st.caption("The model registry: each pipeline's registered models, numbered, with the stage they are in. "
               "One version per pipeline is in production; the Predict page and `python -m studio predict` use it.")
    session.show_messages(PAGE)
    if st.session_state.pop(CLEAR_KEY, False):  # widgets keep their value unless it is set before they are drawn
        st.session_state.update(CLEARED)
    _register_section()
    pipelines = library.list_pipelines(session.actor())
    if not pipelines:
        st.info("No saved pipelines yet. Register a finished run's model above (name its pipeline), or save a "
                "pipeline on the Pipelines page.", icon=":material/inventory_2:")
        return
    pipeline = _pick_pipeline(pipelines)
    try:
        versions = registry.list_model_versions(session.actor(), pipeline.id)
    except FAILURES as e:
        common.show_error(e)
        return
    if not versions:
        st.info(f"No model of **{common.escape_markdown(pipeline.name)}** is registered yet: register a finished "
                "run's model above.", icon=":material/inventory_2:")
        return
    for section in SECTIONS:
        section(pipeline, versions)


def _notify_and_rerun(message: str, kind: session.FlashKind = "success") -> None:
    session.leave_message(PAGE, message, kind)
    st.session_state[CLEAR_KEY] = True
    st.rerun()


def _short_who(who: str) -> str:
    """A session token is long and random; its first characters tell sessions apart well enough on screen."""
    kind, _, token = who.partition(":")
    return f"{'tab' if kind == 'draft' else kind} {token[:8]}" if kind in ("session", "draft") and token else who


# ---- register -----------------------------------------------------------------------------------------------


def _register_section() -> None:
    with st.expander("Register a finished run's model", icon=":material/add_circle:"):
        try:
            runs = registry.registrable_runs(session.actor())
        except FAILURES as e:
            common.show_error(e)
            return
        if not runs:
            st.caption("No finished run with a saved model yet: train one on the Train page.")
            return
        labels = {run.id: _run_label(run) for run in runs}
        if st.session_state.get("registry_run") not in labels:
            st.session_state["registry_run"] = next(iter(labels))
        run_id = st.selectbox("Run", list(labels), format_func=labels.get, key="registry_run")
        registration.register_form(next(r for r in runs if r.id == run_id), key="registry_register", page=PAGE)


def _run_label(run: Any) -> str:
    linked = registry.linked_pipeline(session.actor(), run)
    return charts.run_label(run) + (f" · pipeline {linked}" if linked else " · not saved as a pipeline")


# ---- pick a pipeline ------------------------------------------------------------------------------------------


def _pick_pipeline(pipelines: list[Any]) -> Any:
    ids = [p.id for p in pipelines]
    pending = st.session_state.pop(PICK_NEXT_KEY, None)
    if pending in ids:
        st.session_state["registry_pipeline"] = pending
    if st.session_state.get("registry_pipeline") not in ids:
        editing = session.editing().pipeline_id
        st.session_state["registry_pipeline"] = editing if editing in ids else ids[0]
    names = {p.id: p.name for p in pipelines}
    chosen = st.selectbox("Pipeline", ids, format_func=names.get, key="registry_pipeline")
    return next(p for p in pipelines if p.id == chosen)


# ---- versions -------------------------------------------------------------------------------------------------


def versions_table(versions: list[registry.ModelVersion]) -> pd.DataFrame:
    """One row per version, newest first; long names stay in their cells (the table scrolls sideways)."""
    rows = []
    for v in versions:
        main = v.metrics.main()
        rows.append({  # who and why first, lineage after: on a narrow screen the table scrolls sideways
            "Version": v.version, "Stage": v.stage, "Model": v.model_label,
            "Main metric": f"{main[0]} {main[1]:.4f}" if main else "", "Note": v.note,
            "By": _short_who(v.created_by), "Created": v.created_at.strftime("%Y-%m-%d %H:%M"),
            "Run": f"#{v.run_id}", "Definition": f"v{v.definition_version}",
            "Data sha256": (v.data_sha256 or "")[:12], "Dataset": v.dataset_name or "(deleted)",
        })
    return pd.DataFrame(rows)


def _versions_section(pipeline: Any, versions: list[registry.ModelVersion]) -> None:
    production = next((v for v in versions if v.stage == registry.PRODUCTION), None)
    if production is None:
        st.markdown(f"**{common.escape_markdown(pipeline.name)}** has no model in production yet.")
    else:
        main = production.metrics.main()
        score = f" · {main[0]} {main[1]:.4f}" if main else ""
        label = common.escape_markdown(production.model_label)
        st.markdown(f"In production: **version {production.version}** · {label}{score} · run #{production.run_id}")
    with st.container(key="registry_versions"):
        st.dataframe(common.safe_table(versions_table(versions)), hide_index=True, width="stretch",
                     column_config=COLUMN_WIDTHS)


def _stage_section(pipeline: Any, versions: list[registry.ModelVersion]) -> None:
    st.subheader("Change a version's stage")
    numbers = [v.version for v in versions]
    stages = {v.version: v.stage for v in versions}
    if st.session_state.get("registry_version") not in numbers:
        st.session_state["registry_version"] = numbers[0]
    with st.form("registry_stage_form"):
        version_col, stage_col = st.columns(2)
        number = version_col.selectbox("Version", numbers, key="registry_version",
                                       format_func=lambda n: f"version {n} ({stages[n]})")
        stage = stage_col.selectbox("New stage", list(STAGE_CHOICES), format_func=STAGE_CHOICES.get,
                                    key="registry_stage")
        why = st.text_input("Why", max_chars=500, key="registry_why", placeholder="required: what you checked")
        st.caption("Promoting to production archives the version in production now, in the same step.")
        submitted = st.form_submit_button("Change stage", type="primary", icon=":material/swap_vert:",
                                          key="registry_change")
    if submitted:
        _change_stage(pipeline, number, stage, why)


def _change_stage(pipeline: Any, number: int, stage: str, why: str) -> None:
    try:
        moves = registry.set_stage(session.actor(), pipeline.id, number, stage, by=session.owner(), why=why)
    except FAILURES as e:
        common.show_error(e)
        return
    done = "; ".join(f"version {m.version}: {m.from_stage} → {m.to_stage}" for m in moves)
    _notify_and_rerun(f"Changed the stages of '{pipeline.name}': {done}.")


def _rollback_section(pipeline: Any, versions: list[registry.ModelVersion]) -> None:
    production = next((v for v in versions if v.stage == registry.PRODUCTION), None)
    if production is None:
        return
    try:
        target = registry.rollback_target(session.actor(), pipeline.id)
    except FAILURES as e:
        common.show_error(e)
        return
    st.subheader("Roll back production")
    if target is None:
        st.caption(f"Version {production.version} is the first version ever in production: there is nothing "
                   "earlier to roll back to.")
        return
    with st.container(key="registry_rollback", border=True):
        st.markdown(f"Put **version {target.version}** ({common.escape_markdown(target.model_label)}, "
                    f"run #{target.run_id}) back in production; version {production.version} is archived.")
        why = st.text_input("Why roll back", max_chars=500, key="registry_rollback_why",
                            placeholder="required: what went wrong")
        confirmed = st.checkbox(f"Yes, roll back to version {target.version}", key="registry_rollback_confirm")
        if st.button("Roll back", icon=":material/undo:", disabled=not confirmed, key="registry_rollback_button"):
            _rollback(pipeline, why)


def _rollback(pipeline: Any, why: str) -> None:
    try:
        back = registry.rollback(session.actor(), pipeline.id, by=session.owner(), why=why)
    except FAILURES as e:
        common.show_error(e)
        return
    _notify_and_rerun(f"Rolled '{pipeline.name}' back: version {back.version} is in production again.")


# ---- history --------------------------------------------------------------------------------------------------


def history_table(moves: list[registry.StageMove]) -> pd.DataFrame:
    return pd.DataFrame([{
        "When": m.at.strftime("%Y-%m-%d %H:%M:%S"), "Version": m.version,
        "From": m.from_stage or "(registered)", "To": m.to_stage, "By": _short_who(m.by), "Why": m.why,
        "Rollback": m.rollback,
    } for m in moves])


def _history_section(pipeline: Any, versions: list[registry.ModelVersion]) -> None:
    st.subheader("History")
    try:
        moves = registry.stage_history(session.actor(), pipeline.id)
    except FAILURES as e:
        common.show_error(e)
        return
    with st.container(key="registry_history"):
        st.dataframe(common.safe_table(history_table(moves)), hide_index=True, width="stretch",
                     column_config=COLUMN_WIDTHS)


def services_table(services: list[services_app.ServiceStatus]) -> pd.DataFrame:
    return pd.DataFrame([{"Service": s.id, "URL": s.url, "Pipeline": s.pipeline, "Version": s.version,
                          "Stage": s.stage, "Requests": "no answer" if s.requests is None else f"{s.requests:,}",
                          "Started": s.started_at.strftime("%Y-%m-%d %H:%M"), "By": _short_who(s.started_by)}
                         for s in services])


def _services_section(pipeline: Any, versions: list[registry.ModelVersion]) -> None:
    st.subheader("Scoring services")
    st.caption("A service answers POST /predict with the model a stage holds and follows it: after a promotion or "
               "a rollback it switches to the new version within seconds, without failing a request. On this "
               "machine only (127.0.0.1, no token). Requests and the version served are read live from each "
               "service's /metrics. From a terminal: `python -m studio serve --pipeline NAME`.")
    stages = sorted({v.stage for v in versions if v.stage != "none"}, key=list(STAGE_CHOICES).index)
    if stages:
        with st.form("service_start", border=False):
            stage = st.selectbox("Stage to serve", stages, index=stages.index(registry.PRODUCTION)
                                 if registry.PRODUCTION in stages else 0, key="service_stage")
            if st.form_submit_button("Start a service", icon=":material/play_arrow:", key="service_start_submit"):
                _start_service(pipeline, stage)
    try:
        running = services_app.list_services(session.actor())
    except FAILURES as e:
        common.show_error(e)
        return
    if not running:
        st.caption("No service is running.")
        return
    with st.container(key="registry_services"):
        st.dataframe(common.safe_table(services_table(running)), hide_index=True, width="stretch")
    for service in running:
        if st.button(f"Stop service {service.id} ({service.url})", key=f"service_stop_{service.id}",
                     icon=":material/stop:"):
            _stop_service(service)


def _start_service(pipeline: Any, stage: str) -> None:
    try:
        with st.spinner("Starting the service (it loads the model)…"):
            started = services_app.start_service(session.actor(), pipeline.id, stage, by=session.owner())
    except FAILURES as e:
        common.show_error(e)
        return
    _notify_and_rerun(f"Serving version {started.version} of {pipeline.name} on {started.url}")


def _stop_service(service: services_app.ServiceStatus) -> None:
    try:
        services_app.stop_service(session.actor(), service.id)
    except FAILURES as e:
        common.show_error(e)
        return
    _notify_and_rerun(f"Stopped service {service.id} ({service.url})")


SECTIONS: list[Section] = [_versions_section, _stage_section, _rollback_section, report_section.report_section,
                           _services_section, _history_section]
"""The page's blocks in order; each takes the pipeline and its versions (newest first)."""


if __name__ == "__main__":
    main()

"""Pipelines: save the definition as a version, browse and diff versions, re-train, export, import, delete.

Versions are immutable: saving an edited definition adds version N+1, so every run and
exported model can point at exactly what produced it.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from pages import charts, common, jobs, session
from pipeline_core.definition import registry
from pipeline_core.definition.spec import PipelineSpec, load_spec
from pipeline_core.errors import StudioError
from pipeline_core.io.writers import safe_download_name
from studio import models
from studio import pipelines as library
from studio import registry as model_registry
from studio.errors import FAILURES, StorageError
from studio.roles import Actor
from studio.runs import RunStatus, get_run, list_runs

PAGE = "pipelines"
PICK_NEXT_KEY = "pipelines_pick_next"  # the pipeline to show after the rerun an action triggers
EXPORT_FORMATS = {
    "skops": "skops — safe to load, recommended",
    "joblib": "joblib — a pickle: load only files you made yourself",
    "onnx": "ONNX — run without Python or scikit-learn",
    "python": "Python script — retrains this pipeline with plain scikit-learn",
    "bundle": "Bundle (zip) — model, input schema, rules, drift reference, pinned requirements and a README",
    "mlflow": "MLflow model (zip of the directory) — load, register and serve it with MLflow",
}
MIME = {"python": "text/x-python", "bundle": "application/zip", "mlflow": "application/zip"}


def main() -> None:
    common.run_inside_app()
    st.header("Pipelines")
    st.caption("A pipeline is a named history of definitions. Saving adds a version; versions never change.")
    session.show_messages(PAGE)
    _save_section(common.current_spec())
    pipelines = library.list_pipelines(session.actor())
    if not pipelines:
        st.info("No saved pipelines yet. Save the definition above, or import a pipeline file below.",
                icon=":material/account_tree:")
        _import_section()
        return
    pipeline = _pick_pipeline(pipelines)
    versions = library.list_versions(session.actor(), pipeline.id)
    sections = {
        "Versions": lambda: _versions_section(pipeline, versions),
        "Compare versions": lambda: _diff_section(versions),
        "Export": lambda: _export_section(pipeline, versions),
        "Import": _import_section,
        "Delete": lambda: _delete_section(pipeline, versions),
    }
    for tab, render in zip(st.tabs(list(sections), key="pipelines_tab", on_change="rerun"), sections.values(),
                           strict=True):
        if tab.open:  # only the open tab runs: exports are prepared when someone looks at them
            with tab:
                render()


def _notify_and_rerun(message: str, *, show_pipeline: int | None = None) -> None:
    session.leave_message(PAGE, message)
    if show_pipeline is not None:
        st.session_state[PICK_NEXT_KEY] = show_pipeline
    st.rerun()


def _valid_choice(key: str, options: list[Any], default: Any) -> None:
    """Reset a selection whose option disappeared (a deleted pipeline, another pipeline's versions)."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


# ---- save -----------------------------------------------------------------------------------------


def _save_section(spec: PipelineSpec) -> None:
    if common.unsaved_changes():
        state = "unsaved changes"
    else:
        state = "saved" if session.editing().saved_hash else "not saved yet"
    version = session.editing().version
    where = f" as version {version}" if version and state == "saved" else ""
    # the field shows the definition's name: after another pipeline was opened, and after a page switch or a
    # refresh dropped the widget's own state (an empty field made re-saving fail or fork a new pipeline)
    if st.session_state.get("pipelines_name_of") != spec.name or "pipelines_name" not in st.session_state:
        st.session_state["pipelines_name_of"] = spec.name
        st.session_state["pipelines_name"] = spec.name
    with st.form("pipelines_save_form"):
        st.markdown(f"**Current definition** · {len(spec.steps)} step(s), {len(spec.models)} model(s) · "
                    f"{state}{where}")
        name_col, note_col = st.columns([1, 2])
        name = name_col.text_input("Pipeline name", max_chars=200, key="pipelines_name")
        note = note_col.text_input("Note for this version", placeholder="what changed and why",
                                   max_chars=500, key="pipelines_note")
        opened = _opened_pipeline_name()
        as_new = opened is not None and st.checkbox(
            "Save as a new pipeline", key="pipelines_save_as_new",
            help=f"You are editing '{opened}'. Tick this to save under the name above as a separate pipeline "
                 "with its own history; leave it to add a version to the one you opened.")
        submitted = st.form_submit_button("Save version", type="primary", icon=":material/save:",
                                          key="pipelines_save")
    if submitted:
        if opened is not None and name.strip() != opened and not as_new:
            common.show_error(StorageError(
                f"You opened '{opened}' but the name now reads '{name.strip()}'. Put the name back to add a "
                "version to it, or tick 'Save as a new pipeline'."))
            return
        _save(spec, name, note)


def _opened_pipeline_name() -> str | None:
    """The name of the saved pipeline being edited, if any (it may have been deleted since)."""
    pipeline_id = session.editing().pipeline_id
    if pipeline_id is None:
        return None
    return next((p.name for p in library.list_pipelines(session.actor()) if p.id == pipeline_id), None)


def _save(spec: PipelineSpec, name: str, note: str) -> None:
    try:
        version = library.save_version(session.actor(), spec, name=name, note=note, trained_run_id=session.run_id(),
                                       dataset_id=session.dataset_id())
    except FAILURES as e:
        common.show_error(e)
        return
    named = spec.model_copy(update={"name": name.strip()})
    _open_in_editor(named, version)
    st.session_state.pop("pipelines_note", None)  # the note belonged to this version
    _notify_and_rerun(f"Saved '{named.name}' version {version.version}.", show_pipeline=version.pipeline_id)


def _open_in_editor(spec: PipelineSpec, version: Any) -> None:
    common.set_spec(spec)
    session.set_editing(version.pipeline_id, version.version, spec.content_hash())


# ---- browse -----------------------------------------------------------------------------------------


def _pick_pipeline(pipelines: list[Any]) -> Any:
    """Browsing a pipeline does not change the one being edited; saving or opening one shows it."""
    ids = [p.id for p in pipelines]
    pending = st.session_state.pop(PICK_NEXT_KEY, None)
    editing = session.editing().pipeline_id
    if pending in ids:
        st.session_state["pipelines_pick"] = pending
    _valid_choice("pipelines_pick", ids, editing if editing in ids else ids[0])
    names = {p.id: p.name for p in pipelines}
    chosen = st.selectbox("Saved pipeline", ids, format_func=names.get, key="pipelines_pick")
    return next(p for p in pipelines if p.id == chosen)


def _versions_table(versions: list[Any]) -> list[dict[str, Any]]:
    return [{"Version": v.version, "Saved": v.created_at.strftime("%Y-%m-%d %H:%M"), "Note": v.note,
             "Models": ", ".join(_model_label(m.get("kind")) for m in v.definition.get("models", [])) or "defaults",
             "Steps": len(v.definition.get("steps", [])), "Definition sha256": v.definition_sha256[:12]}
            for v in reversed(versions)]


def _model_label(kind: str | None) -> str:
    entry = registry.MODELS.get(kind or "")
    return entry.label if entry else str(kind)


def _versions_section(pipeline: Any, versions: list[Any]) -> None:
    with st.container(key="pipelines_versions"):
        st.dataframe(common.safe_table(_versions_table(versions)), hide_index=True, width="stretch")
    numbers = [v.version for v in versions][::-1]
    _valid_choice("pipelines_version", numbers, numbers[0])
    number = st.selectbox("Version", numbers, format_func=lambda n: f"version {n}", key="pipelines_version")
    version = next(v for v in versions if v.version == number)
    if common.unsaved_changes():
        st.caption(":orange[The definition being edited has unsaved changes; opening a version replaces it.]")
    open_col, train_col = st.columns(2)
    if open_col.button("Open in editor", icon=":material/edit:", key="pipelines_open", width="stretch"):
        _open_version(pipeline, version)
    if train_col.button("Train this version", icon=":material/play_arrow:", key="pipelines_rerun", width="stretch"):
        _train_version(pipeline, version)


def _spec_of(pipeline: Any, version: Any) -> PipelineSpec | None:
    """The version's definition, named after its pipeline so that saving it again adds to that pipeline."""
    try:
        spec = load_spec(version.definition)
    except StudioError as e:
        common.show_error(e)
        return None
    return spec.model_copy(update={"name": pipeline.name})


def _open_version(pipeline: Any, version: Any) -> None:
    spec = _spec_of(pipeline, version)
    if spec is not None:
        _open_in_editor(spec, version)
        _notify_and_rerun(f"Opened '{pipeline.name}' version {version.version} in the editor.",
                          show_pipeline=pipeline.id)


def _train_version(pipeline: Any, version: Any) -> None:
    dataset_id = session.dataset_id()
    spec = _spec_of(pipeline, version)
    if spec is None:
        return
    if dataset_id is None:
        st.error("Load the data to train on first (Data page).", icon=":material/error:")
        return
    try:
        run_id = jobs.submit_training(spec, dataset_id, pipeline_version_id=version.id)
    except FAILURES as e:
        common.show_error(e)
        return
    _open_in_editor(spec, version)
    session.set_run_id(run_id)
    _notify_and_rerun(f"Training '{pipeline.name}' version {version.version} as run #{run_id}; "
                      "follow it on the Train page.")


# ---- diff -------------------------------------------------------------------------------------------


def _diff_section(versions: list[Any]) -> None:
    if len(versions) < 2:
        st.info("Save a second version to compare versions.")
        return
    numbers = [v.version for v in versions]
    old_col, new_col = st.columns(2)
    _valid_choice("pipelines_diff_a", numbers, numbers[-2])
    _valid_choice("pipelines_diff_b", numbers, numbers[-1])
    old = old_col.selectbox("From", numbers, key="pipelines_diff_a", format_func=lambda n: f"version {n}")
    new = new_col.selectbox("To", numbers, key="pipelines_diff_b", format_func=lambda n: f"version {n}")
    by_number = {v.version: v for v in versions}
    lines = library.diff(by_number[old], by_number[new])
    if not lines:
        st.success("These versions are identical.")
        return
    blank = lines.index("") if "" in lines else len(lines)
    st.markdown("\n".join(f"- `{line}`" for line in lines[:blank]))
    with st.expander("Full JSON diff"):
        st.code("\n".join(lines[blank + 1:]), language="diff")


# ---- export -----------------------------------------------------------------------------------------


def _export_section(pipeline: Any, versions: list[Any]) -> None:
    st.markdown("**Trained model**")
    _model_export(pipeline)
    st.markdown("**Definition**")
    latest = versions[-1]
    base = safe_download_name(pipeline.name, "pipeline")
    left, right = st.columns(2)
    left.download_button("Latest version (definition JSON)", json.dumps(latest.definition, indent=2),
                         file_name=f"{base}_v{latest.version}.json", mime="application/json",
                         icon=":material/download:", key="pipelines_download_definition")
    right.download_button("All versions (pipeline export JSON)", _history_json(pipeline.id),
                          file_name=f"{base}_history.json", mime="application/json",
                          icon=":material/download:", key="pipelines_download_history")


def _history_json(pipeline_id: int) -> str:
    try:
        return library.export_history(session.actor(), pipeline_id)
    except FAILURES as e:
        common.show_error(e)
        return ""


def _model_runs(pipeline: Any) -> list[Any]:
    """Finished runs of this pipeline, plus this session's last run (trained before saving, perhaps)."""
    runs = list_runs(session.actor(), pipeline_id=pipeline.id, status=RunStatus.DONE.value)
    session_run = session.run_id()
    if session_run is not None and session_run not in {r.id for r in runs}:
        run = get_run(session.actor(), session_run)
        if run is not None and run.status == RunStatus.DONE:
            runs.append(run)
    runs = sorted(runs, key=lambda r: r.id, reverse=True)  # newest first, the run a user just trained on top
    return [r for r in runs if charts.run_artifact(r.id) is not None]


def _model_export(pipeline: Any) -> None:
    runs = _model_runs(pipeline)
    if not runs:
        st.info("No trained model yet: train this pipeline (Versions tab or the Train page), then export it here.")
        return
    labels = {r.id: charts.run_label(r) for r in runs}
    _valid_choice("pipelines_export_run", list(labels), next(iter(labels)))
    run_col, format_col = st.columns(2)
    run_id = run_col.selectbox("Run", list(labels), format_func=labels.get, key="pipelines_export_run")
    offered = [f for f in EXPORT_FORMATS if f != "mlflow" or models.mlflow_export_available()]
    fmt = format_col.selectbox("Format", offered, format_func=EXPORT_FORMATS.get, key="pipelines_export_format")
    if "mlflow" not in offered:
        format_col.caption(f"MLflow format: not offered here. {models.MLFLOW_MISSING}.")
    artifact = charts.run_artifact(run_id)
    plan, plan_error = _onnx_plan(session.actor(), artifact.id, artifact.sha256)
    if plan is not None and plan.blocked:  # said before anyone picks ONNX, with the reasons
        format_col.caption("ONNX: not possible for this model. " + "; ".join(plan.blocked))
    data, error = _export_bytes(session.actor(), artifact.id, artifact.sha256, fmt)
    if error:
        st.error(error, icon=":material/error:")
        return
    name = safe_download_name(f"{pipeline.name}_run{run_id}.{models.EXPORT_EXTENSIONS[fmt]}", "model")
    st.download_button(f"Download {fmt} file ({len(data) / 1024:,.0f} KB)", data, file_name=name,
                       mime=MIME.get(fmt, "application/octet-stream"), icon=":material/download:",
                       type="primary", key="pipelines_download_model")
    if fmt == "onnx" and plan is not None:
        if not plan.checked:
            st.warning("This graph could not be checked against the model: the data it was trained on is no longer "
                       "here. Check its predictions before relying on them (predict_onnx, or the CLI's "
                       "'export --format onnx --data FILE').", icon=":material/warning:")
        _onnx_inputs(plan, name)
    if fmt == "bundle":
        st.caption("For use outside Pipeline Studio: the zip's README says how to install, load and predict, "
                   "which columns the model reads and which rules the data should meet.")
    if fmt == "mlflow":
        st.caption("Unzip it, then mlflow.pyfunc.load_model(folder) loads it (with pipeline-studio installed); "
                   "the folder's requirements.txt pins what it needs.")
    if fmt == "joblib":
        st.caption("Opening a joblib file can run code hidden in it. Pipeline Studio never loads uploaded joblib "
                   "files; prefer skops to share a model.")


def _onnx_inputs(plan: Any, file_name: str) -> None:
    """What the graph takes, next to its download: names, types and an example feed."""
    with st.expander("Graph inputs: one per column, with an example feed", expanded=True):
        st.caption("Feed each column as a tensor of shape [rows, 1]. Dates go in as seconds since 1970; "
                   "Pipeline Studio's predict does these conversions for you.")
        st.markdown(plan.inputs)
        st.download_button("Download this description (Markdown)", plan.inputs.encode(),
                           file_name=f"{file_name.rsplit('.', 1)[0]}_inputs.md", mime="text/markdown",
                           icon=":material/description:", key="pipelines_download_onnx_inputs")


@st.cache_data(max_entries=16, show_spinner=False)
def _onnx_plan(actor: Actor, artifact_id: int, sha256: str) -> tuple[Any, str]:
    """The ONNX plan (steps that block it, or the graph's inputs), or why there is none."""
    try:
        artifact = models.get_artifact(actor, artifact_id)
        return models.onnx_plan(actor, artifact, load=lambda row: charts.loaded_model(row.id, sha256)), ""
    except FAILURES as e:
        return None, str(e)


@st.cache_data(max_entries=16, show_spinner="Preparing the export…")
def _export_bytes(actor: Actor, artifact_id: int, sha256: str, fmt: str) -> tuple[bytes, str]:
    """The export's bytes, or an error message (cached too, so a refused ONNX export is not retried)."""
    try:
        artifact = models.get_artifact(actor, artifact_id)
        return models.export_model(actor, artifact, fmt, load=lambda row: charts.loaded_model(row.id,
                                   sha256)), ""
    except FAILURES as e:
        return b"", str(e)


def _registered_models(pipeline_id: int) -> list[Any]:
    try:
        return model_registry.list_model_versions(session.actor(), pipeline_id)
    except FAILURES:
        return []


# ---- import and delete ---------------------------------------------------------------------------------


def _import_section() -> None:
    st.subheader("Import")
    upload = st.file_uploader("Pipeline file (a pipeline export or a single definition, JSON)", type=["json"],
                              key="pipelines_import")
    if upload is None or not st.button("Import", icon=":material/upload:", key="pipelines_import_button"):
        return
    try:
        pipeline = library.import_file(session.actor(), upload.getvalue(), upload.name)
    except FAILURES as e:
        common.show_error(e)
        return
    _notify_and_rerun(f"Imported '{common.escape_markdown(upload.name)}' as pipeline "
                      f"'{common.escape_markdown(pipeline.name)}'.", show_pipeline=pipeline.id)


def _delete_section(pipeline: Any, versions: list[Any]) -> None:
    st.markdown(f"Delete **{common.escape_markdown(pipeline.name)}** and its {len(versions)} version(s). Runs and "
                "trained models are kept in the run history, detached from the pipeline.")
    registered = _registered_models(pipeline.id)
    if registered:
        serving = " One of them is in production: scoring by this pipeline's name stops." if any(
            v.stage == "production" for v in registered) else ""
        st.warning(f"Its model registry goes too: {len(registered)} registered model version(s) and their "
                   f"history (Models page).{serving}", icon=":material/warning:")
    confirmed = st.checkbox(f"Yes, delete '{pipeline.name}'", key="pipelines_delete_confirm")
    if st.button("Delete pipeline", icon=":material/delete:", disabled=not confirmed, key="pipelines_delete"):
        try:
            library.delete_pipeline(session.actor(), pipeline.id)
        except FAILURES as e:
            common.show_error(e)
            return
        if session.editing().pipeline_id == pipeline.id:
            session.set_editing(None, None, None)
        st.session_state.pop("pipelines_delete_confirm", None)
        _notify_and_rerun(f"Deleted pipeline '{pipeline.name}'.")


if __name__ == "__main__":
    main()

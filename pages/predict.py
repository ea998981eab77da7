"""Predict: score new rows with a stored or imported model, download the predictions, check for drift.

The model's own record of its training columns (names, types, levels) checks the upload
before scoring; the drift check compares each column with the data the model was trained on.
"""

from __future__ import annotations

from functools import partial
from pathlib import PurePath
from typing import Any

import pandas as pd
import streamlit as st

from pages import charts, common, explain_tabs, session
from pipeline_core.analysis import drift
from pipeline_core.artifacts.predict import (
    PREDICTION,
    PROBABILITY_PREFIX,
)
from pipeline_core.errors import StudioError
from pipeline_core.io.readers import ReadResult
from pipeline_core.io.writers import EXCEL_MAX_ROWS, safe_download_name, write_csv_safe, write_excel_safe
from studio import models, registry, scoring
from studio.datasets import get_dataset, read_upload
from studio.errors import FAILURES
from studio.roles import Actor
from studio.runs import model_label

UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "parquet", "json", "jsonl"]
PREVIEW_ROWS = 200
EXCEL_EAGER_ROWS = 50_000
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORTED_KEY = "predict_imported"  # uploaded model file id -> {"artifact_id", "name", "error"}


def main() -> None:
    common.run_inside_app()
    st.header("Predict")
    st.caption("Score a new file with a trained model. Columns are checked against what the model was trained on.")
    _import_section()
    serving = _production_names()
    choices = _model_choices(serving)
    if not choices:
        st.info("No trained model yet. Train one first (its best model is saved automatically), or import a "
                ".skops model above.", icon=":material/online_prediction:")
        st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
        return
    run, artifact = _pick_model(choices, serving)
    try:
        loaded = charts.loaded_model(artifact.id, artifact.sha256)
    except FAILURES as e:
        common.show_error(e)
        return
    _model_card(loaded.metadata)
    upload = st.file_uploader("New data to score", type=UPLOAD_TYPES, key="predict_upload",
                              help="The same columns as the training data; the target column may be absent.")
    if upload is None:
        return
    read = _read_upload(upload.getvalue(), upload.name)
    if read is None:
        return
    _predictions(loaded, artifact, read, upload.name)
    _drift_section(run, loaded.metadata, read)


# ---- the model -----------------------------------------------------------------------------------


def _import_section() -> None:
    with st.expander("Import a model (.skops)", icon=":material/upload:"):
        st.caption("A model saved by Pipeline Studio in skops format. It is checked before anything is built from "
                   "it; pickle and joblib files are refused, because opening them can run any code they contain.")
        upload = st.file_uploader("Model file", type=["skops"], key="predict_import_model")
        if upload is None:
            return
        imported = st.session_state.setdefault(IMPORTED_KEY, {})
        if upload.file_id not in imported:  # reruns keep the outcome instead of importing again
            imported[upload.file_id] = _import_model(upload.getvalue(), upload.name)
            if imported[upload.file_id]["artifact_id"] is not None:
                st.session_state["predict_model"] = imported[upload.file_id]["artifact_id"]
                st.session_state["predict_followed_run"] = session.run_id()
        outcome = imported[upload.file_id]
        if outcome["error"]:
            st.error(outcome["error"], icon=":material/error:")
        else:
            st.success(f"Imported **{common.escape_markdown(outcome['name'])}**; it is chosen below.",
                       icon=":material/check_circle:")


def _import_model(data: bytes, file_name: str) -> dict[str, Any]:
    """Validate an uploaded model (skops only, trusted types only, same scikit-learn) and store it."""
    try:
        artifact = models.import_model_file(session.actor(), data, file_name)
    except FAILURES as e:
        return {"artifact_id": None, "name": file_name, "error": str(e)}
    return {"artifact_id": artifact.id, "name": file_name, "error": None}


def _model_choices(serving: dict[int, list[str]]) -> dict[int, tuple[Any, Any]]:
    """Artifact id → (run, artifact) for every finished run with a saved model: production models (``serving``)
    first, then the rest newest first."""
    choices = models.model_choices(session.actor())
    return {a: choices[a] for a in sorted(choices, key=lambda a: a not in serving)}


def _production_names() -> dict[int, list[str]]:
    """Artifact id → the pipelines (with version) whose production model it is, from the model registry."""
    try:
        versions = registry.production_versions(session.actor())
    except FAILURES as e:
        common.show_error(e)
        return {}
    found: dict[int, list[str]] = {}
    for version in versions:
        found.setdefault(version.artifact_id, []).append(f"{version.pipeline} v{version.version}")
    return found


def _pick_model(choices: dict[int, tuple[Any, Any]], serving: dict[int, list[str]]) -> tuple[Any, Any]:
    """Defaults to a production model of the registry when there is one; offers this session's latest model
    when it changes (a run trained after opening the page); otherwise keeps the user's choice."""
    ids = list(choices)
    session_run = session.run_id()
    if "predict_model" not in st.session_state and serving:  # first visit: the model in production
        st.session_state["predict_followed_run"] = session_run
        st.session_state["predict_model"] = next(a for a in ids if a in serving)
    latest = next((a for a, (run, _) in choices.items() if run.id == session_run), None)
    if latest is not None and st.session_state.get("predict_followed_run") != session_run:
        st.session_state["predict_followed_run"] = session_run
        st.session_state["predict_model"] = latest
    if st.session_state.get("predict_model") not in ids:
        st.session_state["predict_model"] = ids[0]
    labels = {a: _model_label(run, artifact, serving.get(a)) for a, (run, artifact) in choices.items()}
    chosen = st.selectbox("Model", ids, format_func=labels.get, key="predict_model",
                          help="Production models of the registry (Models page) come first.")
    if chosen in serving:
        st.caption("The production model of " + ", ".join(common.escape_markdown(name) for name in serving[chosen])
                   + " in the model registry (Models page).")
    return choices[chosen]


def _model_label(run: Any, artifact: Any, production_of: list[str] | None = None) -> str:
    label = model_label(run, artifact.model_name)
    when = artifact.created_at.strftime("%d %b %H:%M")
    described = f"{label or artifact.model_name or 'model'} · run #{run.id} · {when} · {artifact.format}"
    # the pipeline's name goes last: a long one would otherwise push the model and run out of the box
    return f"Production · {described} · {', '.join(production_of)}" if production_of else described


def _model_card(metadata: dict[str, Any]) -> None:
    features = metadata.get("features") or []
    target = metadata.get("target")
    task = metadata.get("task", "?")
    summary = f"**{task.capitalize()}** model" + (f" predicting **{target}**" if target else "")
    st.markdown(f"{summary} from {len(features)} column(s).")
    if not features:
        return
    with st.expander("Columns the model reads"):
        table = pd.DataFrame([{"Column": f["name"], "Type": f.get("type"), "Training dtype": f.get("dtype"),
                               "Known levels": len(f["levels"]) if f.get("levels") else None} for f in features])
        with st.container(key="predict_model_card"):
            st.dataframe(common.readable_table(table), hide_index=True, width="stretch")


# ---- the upload ------------------------------------------------------------------------------------


@st.cache_data(max_entries=4, show_spinner="Reading the file…")
def _read(data: bytes, file_name: str) -> ReadResult:
    return read_upload(data, file_name)


def _read_upload(data: bytes, file_name: str) -> ReadResult | None:
    try:
        read = _read(data, file_name)
    except StudioError as e:
        common.show_error(e)
        return None
    st.caption(f"Read **{common.escape_markdown(file_name)}** as {read.format}: "
               f"{len(read.frame):,} rows × {read.frame.shape[1]} columns.")
    for notice in read.notices:
        st.caption(f"• {notice}")
    return read


@st.cache_data(max_entries=4, show_spinner="Scoring…")
def _predict(actor: Actor, artifact_id: int, artifact_sha: str, upload_sha: str, run_id: int | None,
             _frame: pd.DataFrame) -> scoring.LoggedScores:
    """Predictions keyed by model hash and file hash, so widget clicks never rescore (nor log the rows again)."""
    return scoring.score_and_log(actor, charts.loaded_model(artifact_id, artifact_sha), _frame,
                                 artifact_id=artifact_id,
                                 artifact_sha256=artifact_sha, run_id=run_id)


SHORT_CLASS = 14  # characters of a class name in a probability column's header (the full name is its tooltip)


def output_columns(output: list[str]) -> dict[str, Any]:
    """Column settings for the prediction and each class probability: a probability is a bar with its value,
    under a short header (``P(Chronic obstr…)``) whose tooltip names the class in full.

    Headed by the full ``probability_<class>`` name, a column was as wide as a long class name with its small
    number far to the right, and the preview's probabilities looked empty (issue 15 point 15).
    """
    config: dict[str, Any] = {PREDICTION: st.column_config.TextColumn("prediction", width="large")}
    for column in output:
        if column.startswith(PROBABILITY_PREFIX):
            name = column.removeprefix(PROBABILITY_PREFIX)
            short = name if len(name) <= SHORT_CLASS else name[: SHORT_CLASS - 1].rstrip() + "…"
            config[column] = st.column_config.ProgressColumn(f"P({short})", help=f"Probability of '{name}'",
                                                             format="%.3f", min_value=0.0, max_value=1.0,
                                                             width=130)
    return config


def _predictions(loaded: Any, artifact: Any, read: ReadResult, file_name: str) -> None:
    st.subheader("Predictions")
    try:
        scored = _predict(session.actor(), artifact.id, artifact.sha256, read.sha256, artifact.run_id, read.frame)
    except StudioError as e:
        common.show_error(e)
        return
    result = scored.result
    for notice in result.notices:
        st.info(notice, icon=":material/info:")
    output = [c for c in result.frame.columns if c == PREDICTION or str(c).startswith(PROBABILITY_PREFIX)]
    shown = result.frame[output + [c for c in result.frame.columns if c not in output]].head(PREVIEW_ROWS)
    with st.container(key="predict_preview"):
        st.dataframe(common.safe_table(shown), hide_index=True, width="stretch", height=360,
                     column_config=output_columns(output))
    st.caption(f"First {len(shown):,} of {len(result.frame):,} rows; the download holds them all.")
    if scored.request_id:
        st.caption(f"Logged as request `{scored.request_id}` (row ids are row positions from 0): true outcomes "
                   "sent later with these ids (`python -m studio feedback FILE`) are joined to these predictions.")
    st.plotly_chart(charts.prediction_figure(result.frame[PREDICTION], loaded.metadata.get("task")),
                    key="predict_distribution")
    stem = PurePath(file_name).stem
    csv_cell, excel_cell = st.columns(2)
    csv_cell.download_button("Download predictions (CSV)", write_csv_safe(result.frame), mime="text/csv",
                             file_name=safe_download_name(f"{stem}_predictions.csv", "predictions.csv"),
                             icon=":material/download:", type="primary", key="predict_download")
    _excel_download(excel_cell, artifact, read, result.frame, stem)
    _rules_report(result.rules)
    explain_tabs.scored_rows_section(loaded, read.frame, "predict_explain", result.frame[PREDICTION].tolist())


def _rules_report(report: pd.DataFrame) -> None:
    """The pipeline's quality rules on this file: reported next to the predictions, never applied."""
    if report.empty:
        return
    broken = int((report["violations"] > 0).sum())
    with st.expander(f"Quality rules: {broken} of {len(report)} broken on this file", expanded=broken > 0,
                     icon=":material/rule:"):
        st.caption("The rules saved with the pipeline, checked on the rows you scored. Every row was scored; "
                   "rows that break a rule may deserve a second look before you act on their predictions.")
        st.dataframe(common.safe_table(report), hide_index=True, width="stretch", key="predict_rules_table",
                     column_config={
                         "violations": st.column_config.NumberColumn("violations", format="%d"),
                         "share": st.column_config.ProgressColumn("share of rows", format="percent", min_value=0.0,
                                                                  max_value=1.0),
                         "example_rows": st.column_config.TextColumn("example row indices"),
                         "example_values": st.column_config.TextColumn("example values")})


@st.cache_data(max_entries=4, show_spinner="Preparing the Excel file…")
def _excel(artifact_sha: str, upload_sha: str, _frame: pd.DataFrame) -> bytes:
    return write_excel_safe(_frame, sheet_name="predictions")


def _excel_download(cell: Any, artifact: Any, read: ReadResult, frame: pd.DataFrame, stem: str) -> None:
    """Small results are written at once; large ones only when the button is clicked (openpyxl is slow)."""
    if len(frame) > EXCEL_MAX_ROWS:
        cell.caption(f"Excel holds at most {EXCEL_MAX_ROWS:,} rows: download the CSV.")
        return
    if len(frame) > EXCEL_EAGER_ROWS:
        data: Any = partial(write_excel_safe, frame, sheet_name="predictions")
    else:
        data = _excel(artifact.sha256, read.sha256, frame)
    cell.download_button("Download predictions (Excel)", data, mime=XLSX_MIME, icon=":material/table_view:",
                         file_name=safe_download_name(f"{stem}_predictions.xlsx", "predictions.xlsx"),
                         key="predict_download_xlsx")


# ---- drift -----------------------------------------------------------------------------------------


@st.cache_data(max_entries=4, show_spinner="Comparing with the training data…")
def _drift(dataset_sha: str, upload_sha: str, columns: tuple[scoring.DriftColumn, ...], _train: pd.DataFrame,
           _new: pd.DataFrame) -> pd.DataFrame:
    return scoring.drift_from_training(_train, _new, columns)


def _drift_section(run: Any, metadata: dict[str, Any], read: ReadResult) -> None:
    st.subheader("Drift against the training data")
    dataset = get_dataset(session.actor(), run.dataset_id) if run.dataset_id is not None else None
    if dataset is None:
        st.info("No training data is stored with this model (it was imported, or its dataset was deleted), "
                "so drift cannot be checked.")
        return
    train = common.frame_of(dataset)
    columns = scoring.drift_columns(metadata, train)
    try:
        report = _drift(dataset.sha256, read.sha256, columns, train, read.frame)
    except StudioError as e:
        common.show_error(e)
        return
    _drift_summary(report, dataset.name)
    st.plotly_chart(charts.drift_figure(report, drift.PSI_MODERATE, drift.PSI_DRIFT), key="predict_drift_chart")
    with st.container(key="predict_drift_table"):
        st.dataframe(common.readable_table(_drift_table(report), DRIFT_FORMATS), hide_index=True, width="stretch")


def _drift_summary(report: pd.DataFrame, dataset_name: str) -> None:
    drifted = drift.drifted_columns(report)
    if drifted:
        listed = ", ".join(f"**{c}**" for c in drifted[:8]) + (" …" if len(drifted) > 8 else "")
        st.warning(f"{len(drifted)} of {len(report)} columns differ from the training data ({dataset_name}): "
                   f"{listed}. Predictions on these rows may be less reliable than the hold-out scores suggest.",
                   icon=":material/warning:")
    else:
        st.success(f"No column differs markedly from the training data ({dataset_name}).",
                   icon=":material/check_circle:")
    st.caption(f"A column is flagged by PSI ≥ {drift.PSI_DRIFT} (when sampling noise cannot explain it) or by a "
               f"Kolmogorov–Smirnov test (Bonferroni-corrected, statistic ≥ {drift.KS_MIN_STATISTIC}); PSI "
               f"{drift.PSI_MODERATE}–{drift.PSI_DRIFT} is a moderate shift. KS applies to numbers and dates only.")


DRIFT_FORMATS = {"PSI": "{:.4f}", "KS statistic": "{:.4f}", "KS p-value": "{:.2e}"}  # KS is "—" for text columns


def _drift_table(report: pd.DataFrame) -> pd.DataFrame:
    table = report.rename(columns={"column": "Column", "type": "Type", "psi": "PSI", "ks_statistic": "KS statistic",
                                   "ks_pvalue": "KS p-value", "drifted": "Drifted", "note": "Note"})
    return table.round({"PSI": 4, "KS statistic": 4})


if __name__ == "__main__":
    main()

"""Features: the target and task, leakage warnings, class balance, selection and engineering steps."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

import storage
from pages import common, step_editor
from pipeline_core.columns import apply_column_spec, default_steps, infer_schema
from pipeline_core.errors import DataError, StudioError
from pipeline_core.frames import spec_columns
from pipeline_core.leakage import leakage_warnings
from pipeline_core.spec import ColumnsSpec, PipelineSpec
from pipeline_core.steps import DropColumns
from pipeline_core.task import TaskChoice, check_target, detect_task

NO_TARGET = ""  # the selectbox option for "no target" (a None value would read as "nothing selected")
TASKS = ["auto", "classification", "regression", "clustering"]
NOTICE_KEY = "features_notice"
ERROR_KEY = "features_error"
MAX_CLASSES_SHOWN = 30


@st.cache_data(max_entries=32, show_spinner=False)
def _target_values(sha256: str, columns_json: str, target: str, _frame: pd.DataFrame) -> pd.Series:
    """The target column after renaming (a copy; small compared with the frame)."""
    return _sliced(_frame, columns_json, target)[target]


@st.cache_data(max_entries=32, show_spinner=False)
def _task_choice(sha256: str, columns_json: str, target: str | None, _frame: pd.DataFrame) -> TaskChoice:
    return detect_task(None if target is None else _target_values(sha256, columns_json, target, _frame))


@st.cache_data(max_entries=16, show_spinner="Looking for leakage-prone columns…")
def _leakage(sha256: str, columns_json: str, target: str, dropped: tuple[str, ...], _frame: pd.DataFrame) -> list[str]:
    """Warnings for the columns that can reach the model (those dropped by a step are skipped)."""
    sliced = _sliced(_frame, columns_json, target)
    return leakage_warnings(sliced.drop(columns=[c for c in dropped if c in sliced and c != target]), target)


@st.cache_data(max_entries=16, show_spinner=False)
def _class_counts(sha256: str, columns_json: str, target: str, _frame: pd.DataFrame) -> pd.Series:
    y = _target_values(sha256, columns_json, target, _frame)
    return y.astype("object").where(y.notna(), "(missing)").astype(str).value_counts()


def _sliced(frame: pd.DataFrame, columns_json: str, target: str) -> pd.DataFrame:
    """The frame as the steps see it (renamed and selected); the key is the columns section as JSON."""
    return apply_column_spec(frame, PipelineSpec(columns=ColumnsSpec.model_validate_json(columns_json), target=target))


def main() -> None:
    st.header("Features")
    frame = common.require_frame()
    dataset = common.active_dataset()
    spec = common.current_spec()
    columns = spec_columns(list(frame.columns), spec.columns.select, spec.columns.rename)
    columns_json = spec.columns.model_dump_json()
    _target_controls(spec.target, columns)
    spec = common.current_spec()
    if spec.target is not None and spec.target not in columns:
        st.error(f"The target '{spec.target}' is not a column of this dataset; choose another target.")
        return
    try:
        _target_sections(spec, frame, dataset.sha256, columns_json)
    except StudioError as e:
        common.show_error(e)
    st.subheader("Feature selection and engineering")
    step_editor.render(frame, dataset.sha256, kinds=step_editor.FEATURE_KINDS, prefix="features")


def _target_sections(spec: PipelineSpec, frame: pd.DataFrame, sha256: str, columns_json: str) -> None:
    choice = _task_choice(sha256, columns_json, spec.target, frame)
    _task_controls(spec.task, choice)
    if spec.target is None:
        return
    y = _target_values(sha256, columns_json, spec.target, frame)
    task = choice.task if spec.task == "auto" else spec.task
    _target_checks(y, task, spec.evaluation.cv_folds, spec.evaluation.holdout)
    dropped = tuple(sorted({c for s in spec.steps if isinstance(s, DropColumns) for c in s.columns}))
    _leakage_section(sha256, columns_json, spec.target, dropped, frame)
    if task == "classification":
        _class_balance(_class_counts(sha256, columns_json, spec.target, frame))


# ---- target and task ------------------------------------------------------------------------------


def _target_controls(target: str | None, columns: list[str]) -> None:
    options = [NO_TARGET, *columns]
    shown = target if target in columns else NO_TARGET
    if st.session_state.get("features_target") != shown:
        st.session_state["features_target"] = shown
    st.selectbox(
        "Target column", options, key="features_target", on_change=_on_target,
        format_func=lambda c: "— none: group rows (clustering) —" if c == NO_TARGET else c,
        help="The column the model learns to predict. Without one, the studio clusters rows.",
    )
    if message := st.session_state.pop(NOTICE_KEY, None):
        st.success(message, icon=":material/auto_fix_high:")
    if message := st.session_state.pop(ERROR_KEY, None):
        st.error(message, icon=":material/error:")


def _on_target() -> None:
    """Set the target; on a definition without steps, add the defaults for the column types."""
    target = st.session_state.get("features_target") or None
    spec = common.current_spec().model_copy(update={"target": target})
    if target is not None and not spec.steps:
        try:
            steps = default_steps(infer_schema(common.active_frame(), spec))
        except (StudioError, storage.StorageError) as e:
            st.session_state[ERROR_KEY] = str(e)
        else:
            spec = spec.model_copy(update={"steps": steps})
            st.session_state[NOTICE_KEY] = (
                f"Added {len(steps)} default steps for your column types; edit them on the Clean page."
            )
    common.set_spec(spec)


def _task_controls(task: str, choice: TaskChoice) -> None:
    if st.session_state.get("features_task") != task:
        st.session_state["features_task"] = task
    st.radio(
        "Task", TASKS, key="features_task", horizontal=True, on_change=_on_task,
        format_func=lambda t: "auto-detect" if t == "auto" else t,
        help="'auto-detect' follows the detected task shown below; pick one to override it.",
    )
    st.info(f"Detected task: **{choice.task}** — {choice.reason}.", icon=":material/psychology:")
    if choice.ambiguous and task == "auto":
        st.warning("The detection is a guess here: confirm classification or regression above.")


def _on_task() -> None:
    common.set_spec(common.current_spec().model_copy(update={"task": st.session_state["features_task"]}))


def _target_checks(y: pd.Series, task: str, cv_folds: int, holdout: float) -> None:
    if task == "clustering":
        st.warning("Clustering ignores the target column; choose 'auto' or a supervised task to use it.")
        return
    present = y.dropna()
    if present.empty:
        common.show_error(DataError(f"target '{y.name}' has no values: every row is missing; choose another column"))
        return
    try:
        for message in check_target(present, task, cv_folds, holdout=holdout):
            st.warning(message)
    except StudioError as e:
        common.show_error(e)


def _leakage_section(
    sha256: str, columns_json: str, target: str, dropped: tuple[str, ...], frame: pd.DataFrame
) -> None:
    try:
        warnings = _leakage(sha256, columns_json, target, dropped, frame)
    except StudioError as e:
        common.show_error(e)
        return
    for message in warnings:
        st.warning(message, icon=":material/warning:")


def _class_balance(counts: pd.Series) -> None:
    shown = counts.head(MAX_CLASSES_SHOWN).rename_axis("class").reset_index(name="rows")
    shown["share"] = shown["rows"] / counts.sum()
    title = "Class balance" + (f" (top {MAX_CLASSES_SHOWN} of {len(counts)} classes)" if len(counts) > 30 else "")
    figure = px.bar(shown, x="class", y="rows", text=shown["share"].map("{:.1%}".format), title=title)
    figure.update_layout(height=320, margin={"t": 40, "b": 10, "l": 10, "r": 10}, xaxis_type="category")
    st.plotly_chart(figure, key="features_balance")



main()

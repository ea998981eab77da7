"""Features: the target and task, leakage warnings, class balance, selection and engineering steps.

Every summary of the target is cached by (dataset hash, columns section, target, ...) and
small, so a rerun never touches the frame's million values. What does not depend on the
target (column types, the leakage sample) is cached per dataset and warmed on the visit,
so choosing a target only pays for that target.
"""

from __future__ import annotations

import json
from typing import Any, get_args

import pandas as pd
import plotly.express as px
import streamlit as st

from pages import charts, common, session, step_editor
from pipeline_core.analysis.leakage import LeakageBasis, leakage_basis, target_warnings
from pipeline_core.analysis.value_counts import class_counts, distinct_values
from pipeline_core.compiler.columns import apply_column_spec, column_as_seen, merge_default_steps
from pipeline_core.definition.choices import Task
from pipeline_core.definition.spec import ColumnsSpec, PipelineSpec
from pipeline_core.definition.steps import DropColumns
from pipeline_core.definition.task import TaskChoice, check_target, detect_task
from pipeline_core.errors import StudioError
from pipeline_core.io.frames import spec_columns
from studio.errors import FAILURES

NO_TARGET = ""  # the selectbox option for "no target" (a None value would read as "nothing selected")
TASKS = list(get_args(Task))  # the definition's choices
PAGE = "features"
MAX_CLASSES_SHOWN = 30


def _target_values(frame: pd.DataFrame, columns_json: str, target: str) -> pd.Series:
    """The target column under its pipeline name: the frame's own column, not a copy of the frame."""
    return column_as_seen(frame, _spec(columns_json, target), target)


def _spec(columns_json: str, target: str | None) -> PipelineSpec:
    return PipelineSpec(columns=ColumnsSpec.model_validate_json(columns_json), target=target)


@st.cache_data(max_entries=32, show_spinner=False)
def _task_choice(sha256: str, columns_json: str, target: str | None, _frame: pd.DataFrame) -> TaskChoice:
    """Text targets are detected on their distinct values (same answer, one pass of string hashing, not three)."""
    if target is None:
        return detect_task(None)
    y = _target_values(_frame, columns_json, target)
    return detect_task(distinct_values(y) if y.dtype == object else y)


@st.cache_data(max_entries=64, show_spinner=False)
def _target_messages(
    sha256: str, columns_json: str, target: str, task: str, cv_folds: int, holdout: float, _frame: pd.DataFrame
) -> list[tuple[str, str]]:
    """What to say about the target for this task, as ("error" | "warning", text): counted once, not per rerun."""
    y = _target_values(_frame, columns_json, target)
    present = y.dropna()
    if present.empty:
        return [("error", f"target '{y.name}' has no values: every row is missing; choose another column")]
    try:
        return [("warning", message) for message in check_target(present, task, cv_folds, holdout=holdout)]
    except StudioError as e:
        return [("error", str(e))]


@st.cache_resource(max_entries=4, show_spinner="Looking for leakage-prone columns…")
def _leakage_basis(sha256: str, rename_json: str, _frame: pd.DataFrame) -> LeakageBasis:
    """The target-independent part of the leakage checks, shared like the frame (read-only, not copied)."""
    return leakage_basis(_frame, json.loads(rename_json))


@st.cache_data(max_entries=64, show_spinner=False)
def _leakage(sha256: str, columns_json: str, target: str, dropped: tuple[str, ...], _frame: pd.DataFrame) -> list[str]:
    """Warnings for the columns that can reach the model (those dropped by a step are skipped)."""
    spec = _spec(columns_json, target)
    seen = apply_column_spec(_frame.iloc[:0], spec).columns  # names and order as the steps see them
    checked = [c for c in seen if c not in dropped or c == target]
    return target_warnings(_basis(sha256, spec.columns, _frame), target, checked)


def _basis(sha256: str, columns: ColumnsSpec, frame: pd.DataFrame) -> LeakageBasis:
    return _leakage_basis(sha256, json.dumps(columns.rename, sort_keys=True), frame)


@st.cache_data(max_entries=16, show_spinner=False)
def _class_counts(sha256: str, columns_json: str, target: str, _frame: pd.DataFrame) -> pd.Series:
    return class_counts(_target_values(_frame, columns_json, target))


def main() -> None:
    common.run_inside_app()
    st.header("Features")
    frame = common.require_frame()
    dataset = common.active_dataset()
    spec = common.current_spec()
    columns = spec_columns(list(frame.columns), spec.columns.select, spec.columns.rename)
    columns_json = spec.columns.model_dump_json()
    _warm(spec, frame, dataset.sha256)
    _target_controls(spec.target, columns, _type_labels(spec))
    spec = common.current_spec()
    if spec.target is not None and spec.target not in columns:
        st.error(f"The target '{spec.target}' is not a column of this dataset; choose another target.")
        return
    try:
        _target_sections(spec, frame, dataset.sha256, columns_json)
    except StudioError as e:
        common.show_error(e)
    st.subheader("Feature selection and engineering")
    step_editor.render(frame, dataset.sha256, group="features", prefix="features")


def _warm(spec: PipelineSpec, frame: pd.DataFrame, sha256: str) -> None:
    """Compute on the visit what any target choice needs (once per dataset), so the click itself is quick.

    Only a head start: if it fails (say, cells a type check cannot read), nothing is shown
    here, and the same computation fails where the page needs it, with the usual handling.
    """
    try:
        if not spec.steps:  # choosing a target will add default steps for the column types
            common.raw_schema(sha256, frame)
        _basis(sha256, spec.columns, frame)
    except Exception:  # noqa: BLE001 - see the docstring: the real call reports it
        return


def _target_sections(spec: PipelineSpec, frame: pd.DataFrame, sha256: str, columns_json: str) -> None:
    choice = _task_choice(sha256, columns_json, spec.target, frame)
    _task_controls(spec.task, choice)
    if spec.target is None:
        return
    task = choice.task if spec.task == "auto" else spec.task
    _target_checks(sha256, columns_json, spec, task, frame)
    dropped = tuple(sorted({c for s in spec.steps if isinstance(s, DropColumns) for c in s.columns}))
    _leakage_section(sha256, columns_json, spec.target, dropped, frame)
    if task == "classification":
        _class_balance(_class_counts(sha256, columns_json, spec.target, frame))


# ---- target and task ------------------------------------------------------------------------------


def _type_labels(spec: PipelineSpec) -> dict[str, str]:
    """Each column as the target picker shows it, with its type from the one schema (none when the definition does
    not fit the data: the page says why below)."""
    try:
        schema = common.data_schema(spec)
    except FAILURES:
        return {}
    return {c.name: f"{c.name} · {c.type}" for c in schema.kept}


def _target_controls(target: str | None, columns: list[str], labels: dict[str, str]) -> None:
    options = [NO_TARGET, *columns]
    shown = target if target in columns else NO_TARGET
    if st.session_state.get("features_target") != shown:
        st.session_state["features_target"] = shown
    st.selectbox(
        "Target column", options, key="features_target", on_change=_on_target,
        format_func=lambda c: "— none: group rows (clustering) —" if c == NO_TARGET else labels.get(c, c),
        help="The column the model learns to predict. Without one, the studio clusters rows.",
    )
    session.show_messages(PAGE)


def _on_target() -> None:
    """Set the target; when the first target is chosen, add the default steps the pipeline's steps do not cover.

    Merged, not only on an empty list: a cleaning step added before the target used to stop the defaults, and
    Train then refused columns nothing encoded (issue 15 point 6).
    """
    target = st.session_state.get("features_target") or None
    before = common.current_spec()
    spec = before.model_copy(update={"target": target})
    if target is not None and before.target is None:
        try:
            steps = merge_default_steps(spec.steps, common.pipeline_schema(spec))
        except FAILURES as e:
            session.leave_message(PAGE, str(e), "error")
        else:
            added = len(steps) - len(spec.steps)
            if added:
                spec = spec.model_copy(update={"steps": steps})
                session.leave_message(PAGE, f"Added {added} default step(s) for your column types"
                                            + (", next to yours" if before.steps else "")
                                            + "; edit them on the Clean page.")
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


def _target_checks(sha256: str, columns_json: str, spec: PipelineSpec, task: str, frame: pd.DataFrame) -> None:
    if task == "clustering":
        st.warning("Clustering ignores the target column; choose 'auto' or a supervised task to use it.")
        return
    evaluation = spec.evaluation
    for kind, message in _target_messages(sha256, columns_json, spec.target, task, evaluation.cv_folds,
                                          evaluation.holdout, frame):
        if kind == "error":
            st.error(message, icon=":material/error:")
        else:
            st.warning(message)


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
    figure = class_balance_figure(shown, title)
    st.plotly_chart(figure, key="features_balance")


def class_balance_figure(shown: pd.DataFrame, title: str) -> Any:
    """One horizontal bar per class, names wrapped beside it: slanted under vertical bars, long class names took
    most of the figure and left the bars a strip ~60 px high (issue 15 point 15)."""
    names = [str(name) for name in shown["class"]]
    wrapped = [charts.wrap_label(name) for name in names]
    row_px = max(28, charts.LINE_PX * max(w.count("<br>") + 1 for w in wrapped) + 10)
    figure = px.bar(shown.assign(**{"class": names}), y="class", x="rows", orientation="h",
                    text=shown["share"].map("{:.1%}".format), title=title)
    figure.update_layout(height=max(220, row_px * len(names) + 100), margin={"t": 40, "b": 10, "l": 10, "r": 10})
    figure.update_yaxes(type="category", autorange="reversed", tickvals=names, ticktext=wrapped, automargin=True,
                        title=None)
    return figure



if __name__ == "__main__":  # Streamlit runs a page as __main__; tests import it for its constants
    main()

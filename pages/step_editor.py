"""The ordered step list shared by the Clean and Features pages.

Steps are added, moved, edited and removed here; each step's form is drawn from its
pydantic fields (Literal → selectbox, bool → checkbox, numbers → number inputs with the
field's bounds, column lists → multiselects of the data's columns, selectors → a column
type or a chosen list), with each field's description as its help. Which steps a page
offers comes from the step registry (``registry.steps_in``). The selected step gets a
before/after preview computed by the core and cached by data hash and definition, so a
click elsewhere never recomputes it.
"""

from __future__ import annotations

import hashlib
import types
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types as at
import pandas as pd
import streamlit as st
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from pages import common
from pipeline_core.compiler.columns import resolve_columns
from pipeline_core.compiler.compile import feature_columns
from pipeline_core.compiler.order import order_problems
from pipeline_core.compiler.preview import StepPreview, preview_step
from pipeline_core.definition.registry import STEP_ENTRIES, UiGroup, steps_in
from pipeline_core.definition.spec import PipelineSpec, format_validation_error
from pipeline_core.definition.steps import STEPS, Step
from pipeline_core.errors import SpecError, StudioError
from pipeline_core.io.frames import spec_columns
from studio.errors import FAILURES

TYPE_SELECTORS = ("numeric", "categorical", "datetime", "text", "all")


@dataclass(frozen=True)
class ColumnChoices:
    """The columns a step form offers, from the one schema: pipeline names, shown with their type (and role
    when it is not a feature), and the feature types a type selector ("every numeric column") resolves on."""

    names: list[str]
    labels: dict[str, str]
    feature_types: dict[str, str]

    def label(self, name: str) -> str:
        return self.labels.get(name, name)


def column_choices(frame: pd.DataFrame, spec: PipelineSpec) -> ColumnChoices:
    """The schema's kept columns; the names alone when the definition does not fit the data (the page says why)."""
    try:
        schema = common.data_schema(spec)
    except FAILURES:
        names = spec_columns(list(frame.columns), spec.columns.select, spec.columns.rename, spec.target)
        return ColumnChoices(names, {}, {})
    labels = {c.name: f"{c.name} · {c.type}" + ("" if c.role == "feature" else f" · {c.role}") for c in schema.kept}
    return ColumnChoices(schema.names, labels, {name: schema[name].type for name in schema.features})
CHOSEN = "columns chosen below"


# ---- page entry point ----------------------------------------------------------------------------


def render(frame: pd.DataFrame, sha256: str, *, group: UiGroup, prefix: str) -> None:
    """Add/order/edit/remove the steps the registry puts in ``group``; preview the selected one."""
    kinds = steps_in(group)
    spec = common.current_spec()
    choices = column_choices(frame, spec)
    _add_controls(steps_in(group, addable=True), choices.names, prefix)
    for problem in _order_problems(sha256, spec.model_dump_json()):
        st.warning(problem, icon=":material/low_priority:")
    visible = [i for i, s in enumerate(spec.steps) if s.kind in kinds]
    if not visible:
        st.caption("No steps of this kind yet. Pick one above and press **Add step**.")
        return
    st.caption(
        "Row steps run first and selection/PCA steps run after the column steps, wherever they sit in the list; "
        "order matters between column steps that touch the same columns."
    )
    selected = _selected(prefix, visible)
    for position, index in enumerate(visible):
        _elsewhere_note(spec, (visible[position - 1] + 1) if position else 0, index)
        _step_row(spec, index, position, visible, prefix, selected)
    _elsewhere_note(spec, visible[-1] + 1, len(spec.steps))
    st.divider()
    _edit_form(spec, selected, frame, choices, prefix)
    show_preview(spec, selected, frame, sha256)


# ---- the list ---------------------------------------------------------------------------------------


def _add_controls(kinds: tuple[str, ...], columns: list[str], prefix: str) -> None:
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    left.selectbox("Step to add", kinds, format_func=lambda k: STEPS[k].label, key=f"{prefix}_add_kind")
    right.button(
        "Add step", icon=":material/add:", key=f"{prefix}_add_step", type="primary", width="stretch",
        on_click=_add, args=(prefix, columns),
    )


def _step_row(spec: PipelineSpec, index: int, position: int, visible: list[int], prefix: str, selected: int) -> None:
    step = spec.steps[index]
    cells = st.columns([0.5, 8, 0.7, 0.7, 0.7, 0.7], vertical_alignment="center")
    marker = " :blue-badge[editing]" if index == selected else ""
    cells[0].markdown(f"**{index + 1}.**")
    cells[1].markdown(f"{step.describe()}{marker}")
    cells[2].button(":material/edit:", key=f"{prefix}_edit_{index}", help="Edit and preview",
                    on_click=_select, args=(prefix, index))
    up = visible[position - 1] if position > 0 else None
    down = visible[position + 1] if position + 1 < len(visible) else None
    cells[3].button(":material/arrow_upward:", key=f"{prefix}_up_{index}", help="Move up", disabled=up is None,
                    on_click=_move, args=(prefix, index, up))
    cells[4].button(":material/arrow_downward:", key=f"{prefix}_down_{index}", help="Move down",
                    disabled=down is None, on_click=_move, args=(prefix, index, down))
    cells[5].button(":material/delete:", key=f"{prefix}_remove_{index}", help="Remove",
                    on_click=_remove, args=(prefix, index))


@st.cache_data(max_entries=64, show_spinner=False)
def _order_problems(sha256: str, spec_json: str) -> list[str]:
    """Steps placed where missing values would reach them (checked on the pipeline's column types, once per
    dataset and definition: a click that changes neither reads no column)."""
    spec = PipelineSpec.model_validate_json(spec_json)
    try:
        schema = common.pipeline_schema(spec)
    except FAILURES:
        return []
    return order_problems(spec.steps, {c: schema[c].type for c in feature_columns(spec, schema)})


def _elsewhere_note(spec: PipelineSpec, start: int, stop: int) -> None:
    """Steps ``start``..``stop - 1`` belong to another page: say so where they sit, so the numbers (which the
    version diff uses too) never skip without a word."""
    if start >= stop:
        return
    hidden = spec.steps[start:stop]
    pages = sorted({group.capitalize() for step in hidden for group in STEP_ENTRIES[step.kind].groups})
    numbers = f"Step {start + 1}" if stop - start == 1 else f"Steps {start + 1}–{stop}"
    labels = ", ".join(type(step).label for step in hidden)
    st.caption(f"{numbers} ({labels}) {'is' if stop - start == 1 else 'are'} edited on the "
               f"{' / '.join(pages)} page.")


def _selected(prefix: str, visible: list[int]) -> int:
    chosen = st.session_state.get(f"{prefix}_selected")
    if chosen not in visible:
        chosen = visible[0]
        st.session_state[f"{prefix}_selected"] = chosen
    return chosen


def _select(prefix: str, index: int) -> None:
    st.session_state[f"{prefix}_selected"] = index


def _add(prefix: str, columns: list[str]) -> None:
    spec = common.current_spec()
    step = new_step(st.session_state[f"{prefix}_add_kind"], columns)
    common.set_spec(spec.model_copy(update={"steps": [*spec.steps, step]}))
    st.session_state[f"{prefix}_selected"] = len(spec.steps)


def _move(prefix: str, index: int, other: int | None) -> None:
    if other is None:
        return
    spec = common.current_spec()
    steps = list(spec.steps)
    steps[index], steps[other] = steps[other], steps[index]
    common.set_spec(spec.model_copy(update={"steps": steps}))
    selected = st.session_state.get(f"{prefix}_selected")
    if selected in (index, other):
        st.session_state[f"{prefix}_selected"] = other if selected == index else index


def _remove(prefix: str, index: int) -> None:
    spec = common.current_spec()
    steps = [s for i, s in enumerate(spec.steps) if i != index]
    common.set_spec(spec.model_copy(update={"steps": steps}))
    selected = st.session_state.get(f"{prefix}_selected")
    if isinstance(selected, int) and selected > index:
        st.session_state[f"{prefix}_selected"] = selected - 1
    elif selected == index:
        st.session_state.pop(f"{prefix}_selected", None)


def new_step(kind: str, columns: list[str]) -> Step:
    """A step of ``kind`` with its defaults; required fields get a harmless first choice."""
    cls = STEPS[kind]
    values: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        if name == "kind" or not info.is_required():
            continue
        shape, options = _shape(info.annotation)
        if name == "column":
            values[name] = columns[0] if columns else ""
        elif shape == "literal":
            values[name] = "is not missing" if "is not missing" in options else options[0]
        elif shape in ("columns", "literal_list"):
            values[name] = []
        else:
            values[name] = ""
    return cls.model_validate(values)


# ---- the form of one step ---------------------------------------------------------------------------


def _edit_form(spec: PipelineSpec, index: int, frame: pd.DataFrame, columns: ColumnChoices, prefix: str) -> None:
    step = spec.steps[index]
    cls = type(step)
    digest = hashlib.sha256(f"{index}:{step.model_dump_json()}".encode()).hexdigest()[:10]
    st.subheader(f"{index + 1}. {cls.label}")
    if cls.help:
        st.caption(cls.help)
    with st.form(key=f"{prefix}_form_{digest}", border=True):
        raw = {
            name: _field_widget(name, info, getattr(step, name), columns, f"{prefix}_{digest}_{name}")
            for name, info in cls.model_fields.items() if name != "kind"
        }
        submitted = st.form_submit_button("Apply changes", icon=":material/check:", key=f"{prefix}_apply")
    if submitted:
        try:
            updated = build_step(cls, raw, frame, spec, index)
        except SpecError as e:
            common.show_error(e)
            return
        steps = list(spec.steps)
        steps[index] = updated
        common.set_spec(spec.model_copy(update={"steps": steps}))
        st.rerun()


def build_step(cls: type[Step], raw: dict[str, Any], frame: pd.DataFrame, spec: PipelineSpec, index: int) -> Step:
    """Turn widget values into a validated step; errors name ``steps[i].field``."""
    values = {}
    for name, value in raw.items():
        shape, _ = _shape(cls.model_fields[name].annotation)
        values[name] = _convert(name, shape, value, raw, frame, spec)
    try:
        return cls.model_validate(values)
    except ValidationError as e:
        raise SpecError(f"steps[{index}]: {format_validation_error(e)}") from e


def _convert(name: str, shape: str, value: Any, raw: dict, frame: pd.DataFrame, spec: PipelineSpec) -> Any:
    if shape == "selector":
        mode, chosen = value
        if mode != CHOSEN:
            return mode
        if not chosen:
            raise SpecError(f"{name}: choose at least one column, or apply the step to a column type")
        return list(chosen)
    if shape == "number_or_literal":
        automatic, number = value
        return "auto" if automatic or number is None else number
    if shape == "optional_columns":
        return list(value) or None
    if shape == "any":
        return filter_value(_raw_column(frame, spec, raw.get("column")), raw.get("op", "=="), value)
    if shape == "scalar_text" and name != "rule":
        return _number_or_text(value)
    return value


def _raw_column(frame: pd.DataFrame, spec: PipelineSpec, name: str | None) -> pd.Series | None:
    raw = {new: old for old, new in spec.columns.rename.items()}.get(name, name)
    return frame[raw] if raw in frame.columns else None


def filter_value(values: pd.Series | None, op: str, text: Any) -> Any:
    """Parse the text typed for a row filter: numbers for numeric columns, a list for 'in'."""
    if op in ("is missing", "is not missing"):
        return None
    numeric = values is not None and pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if op in ("in", "not in"):
        parts = [p.strip() for p in str(text or "").split(",") if p.strip()]
        return [_number_or_text(p) if numeric else p for p in parts]
    text = str(text or "").strip()
    if numeric and op != "contains":
        return _number_or_text(text)
    return text


def _number_or_text(text: Any) -> Any:
    if text is None or str(text).strip() == "":
        return None
    try:
        number = float(str(text))
    except ValueError:
        return str(text).strip()
    return int(number) if number.is_integer() and "." not in str(text) else number


# ---- widgets drawn from field types ------------------------------------------------------------------


def _shape(annotation: Any) -> tuple[str, tuple]:
    """Classify a field's type into the widget that edits it."""
    origin, args = get_origin(annotation), get_args(annotation)
    simple = {bool: "bool", int: "int", float: "float", str: "str", Any: "any"}
    if annotation in simple:
        return simple[annotation], ()
    if origin is Literal:
        return "literal", args
    if origin is list:
        inner = args[0] if args else str
        return ("literal_list", get_args(inner)) if get_origin(inner) is Literal else ("columns", ())
    if origin in (Union, types.UnionType):
        present = [a for a in args if a is not type(None)]
        literals = [a for a in present if get_origin(a) is Literal]
        others = [a for a in present if get_origin(a) is not Literal]
        if literals and others and get_origin(others[0]) is list:
            return "selector", get_args(literals[0])
        if literals and others:
            return "number_or_literal", get_args(literals[0])
        if len(present) == 1:
            inner, _ = _shape(present[0])
            return f"optional_{inner}", ()
    return "scalar_text", ()


def field_help(info: FieldInfo) -> str | None:
    """A parameter's help is its ``Field(description=...)`` on the step class, so it travels with the step."""
    return info.description


def _field_widget(name: str, info: FieldInfo, value: Any, choices: ColumnChoices, key: str) -> Any:
    columns = choices.names
    shape, options = _shape(info.annotation)
    label = name.replace("_", " ").capitalize()
    help_text = field_help(info)
    if name == "rule":  # made from a quality rule on the Clean page; edited there, shown here
        st.markdown(f"**Rule:** {common.escape_markdown(value.describe())} on "
                    f"'{common.escape_markdown(value.column)}'")
        return value.model_dump(mode="json")
    if shape == "bool":
        return st.checkbox(label, value=bool(value), key=key, help=help_text)
    if shape in ("int", "float", "optional_int", "optional_float"):
        return _number_widget(label, info, value, shape, key, help_text)
    if shape == "literal":
        return st.selectbox(label, options, index=list(options).index(value) if value in options else 0,
                            key=key, help=help_text)
    if shape == "literal_list":
        return st.multiselect(label, options, default=[v for v in value or [] if v in options], key=key,
                              help=help_text)
    if shape in ("columns", "optional_columns"):
        return _columns_widget(label, value or [], choices, key, help_text)
    if shape == "selector":
        return _selector_widget(label, value, choices, key, help_text)
    if shape == "number_or_literal":
        automatic = st.checkbox(f"{label}: {options[0]}", value=value in options, key=f"{key}_auto", help=help_text)
        number = st.number_input(label, value=None if value in options else float(value), key=key,
                                 placeholder=f"a number, used when '{options[0]}' is off", format="%g")
        return automatic, number
    if name == "column":
        return st.selectbox(label, columns, index=columns.index(value) if value in columns else 0, key=key,
                            help=help_text, format_func=choices.label)
    shown = ", ".join(map(str, value)) if isinstance(value, list) else ("" if value is None else str(value))
    return st.text_input(label, value=shown, key=key, help=help_text)


def _number_widget(label: str, info: FieldInfo, value: Any, shape: str, key: str, help_text: str | None) -> Any:
    integer = shape.endswith("int")
    low, high = _bounds(info, integer)
    cast = int if integer else float
    return st.number_input(
        label, min_value=low, max_value=high, value=None if value is None else cast(value),
        step=1 if integer else None, format=None if integer else "%g", key=key, help=help_text,
        placeholder="none" if shape.startswith("optional") else None,
    )


def _bounds(info: FieldInfo, integer: bool) -> tuple[Any, Any]:
    low = high = None
    nudge = 1 if integer else 1e-9
    for item in info.metadata:
        if isinstance(item, at.Ge):
            low = item.ge
        elif isinstance(item, at.Gt):
            low = item.gt + nudge
        elif isinstance(item, at.Le):
            high = item.le
        elif isinstance(item, at.Lt):
            high = item.lt - nudge
    cast = int if integer else float
    return (None if low is None else cast(low)), (None if high is None else cast(high))


def _columns_widget(label: str, value: list[str], choices: ColumnChoices, key: str, help_text: str | None) -> list[str]:
    columns = choices.names
    missing = [c for c in value if c not in columns]
    if missing:
        st.warning(f"Not in the data any more, so dropped from this step: {', '.join(missing)}")
    return st.multiselect(label, columns, default=[c for c in value if c in columns], key=key, help=help_text,
                          format_func=choices.label)


def _selector_widget(label: str, value: Any, choices: ColumnChoices, key: str, help_text: str | None) -> tuple:
    options = [*TYPE_SELECTORS, CHOSEN]
    mode = CHOSEN if isinstance(value, list) else value
    chosen_mode = st.selectbox(
        f"{label}: apply to", options, index=options.index(mode), key=f"{key}_mode", help=help_text,
        format_func=lambda o: o if o == CHOSEN else ("every column" if o == "all" else f"every {o} column"),
    )
    if mode != CHOSEN and choices.feature_types:
        picked = resolve_columns(mode, choices.feature_types)
        st.caption("Applies now to: " + (", ".join(picked) if picked else f"no column (none is {mode})")
                   + " (types and names as on Data and Profile).")
    chosen = _columns_widget("Chosen columns", value if isinstance(value, list) else [], choices, key,
                             "Used when 'columns chosen below' is selected above.")
    return chosen_mode, chosen


# ---- preview ------------------------------------------------------------------------------------------


@st.cache_data(max_entries=64, show_spinner="Previewing the step on a sample…")
def _cached_preview(sha256: str, spec_json: str, index: int, _frame: pd.DataFrame) -> StepPreview:
    from pipeline_core.definition.spec import load_spec

    return preview_step(load_spec(spec_json), index, _frame)


def show_preview(spec: PipelineSpec, index: int, frame: pd.DataFrame, sha256: str) -> None:
    """Before/after of the affected columns, and the counts that changed."""
    try:
        preview = _cached_preview(sha256, spec.to_json(), index, frame)
    except StudioError as e:
        common.show_error(e)
        return
    st.markdown(f"**Preview** · {preview.summary}")
    if not preview.counts.empty:
        st.dataframe(common.safe_table(preview.counts), hide_index=True, width=420, column_config={
            "metric": st.column_config.TextColumn("", width="medium"),
        })
    if preview.before.empty and preview.after.empty:
        return
    left, right = st.columns(2)
    with left:
        st.caption(f"Before · {preview.before.shape[1]} column(s)")
        st.dataframe(common.safe_table(preview.before.head(50)), height=280)
    with right:
        st.caption(f"After · {preview.after.shape[1]} column(s)")
        st.dataframe(common.safe_table(preview.after.head(50)), height=280)
    if preview.removed is not None and len(preview.removed):
        with st.expander(f"Examples of removed rows ({len(preview.removed):,} shown)"):
            st.dataframe(common.safe_table(preview.removed), height=240)


if __name__ == "__main__":  # opened by its address as the first run of a server: not a page
    common.run_inside_app()

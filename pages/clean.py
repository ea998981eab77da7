"""Clean: data-quality rules with a violations report, and the cleaning steps of the pipeline."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from pages import common, step_editor
from pipeline_core.analysis import quality
from pipeline_core.compiler.columns import default_steps, merge_default_steps
from pipeline_core.definition.steps import KeepRowsPassingRule
from pipeline_core.errors import DataError, StudioError
from studio.errors import FAILURES

RULE_HELP = {
    "not_null": "Every row has a value.",
    "range": "Numbers between a minimum and a maximum (inclusive); text that is not a number also breaks it.",
    "allowed_values": "Only the listed values (compared as text).",
    "unique": "No value appears twice (e.g. a customer id).",
    "regex": "The whole value matches a Python regular expression, e.g. [A-Z]{2}\\d{4}.",
}


@st.cache_data(max_entries=32, show_spinner="Checking the rules…")
def _report(sha256: str, rules_json: str, _frame: pd.DataFrame) -> pd.DataFrame:
    return quality.check(_frame, quality.parse_rules(json.loads(rules_json)))


@st.cache_data(max_entries=32, show_spinner=False)
def _violations(sha256: str, rule_json: str, _frame: pd.DataFrame) -> pd.DataFrame:
    return quality.violating_rows(_frame, quality.parse_rules([json.loads(rule_json)])[0], limit=100)


def main() -> None:
    common.run_inside_app()
    st.header("Clean")
    frame = common.require_frame()
    dataset = common.active_dataset()
    rules_tab, steps_tab = st.tabs(["Data quality rules", "Cleaning steps"])
    with rules_tab:
        _rules_section(frame, dataset.sha256)
    with steps_tab:
        st.caption(
            "Each step is part of the pipeline: it is fitted on the training rows of every fold and applied "
            "the same way at prediction time. The preview fits it on a sample of rows."
        )
        _defaults_offer()
        step_editor.render(frame, dataset.sha256, group="clean", prefix="clean")


def _defaults_offer() -> None:
    """Suggestions for the current column types at any time: merged with the user's steps, or a reset to them."""
    if message := st.session_state.pop("clean_defaults_error", None):
        common.show_error(DataError(message))
    has_steps = bool(common.current_spec().steps)
    left, right = st.columns([3, 2])
    left.button("Add suggested steps for my column types" if has_steps else
                "Add the default steps for my column types", icon=":material/auto_fix_high:",
                key="clean_add_defaults", on_click=_add_defaults,
                help="Adds the studio's defaults that your steps do not cover yet (filling gaps, encoding labels, "
                     "date parts, text features, dropping IDs); your own steps stay as they are.")
    if has_steps:
        with right.popover("Reset to the default steps", icon=":material/restart_alt:"):
            st.caption("Replaces every step of the pipeline (cleaning and features) with the defaults for your "
                       "column types. Rules, target and models stay.")
            st.button("Replace my steps", key="clean_reset_defaults", type="primary", on_click=_add_defaults,
                      kwargs={"replace": True})


def _add_defaults(*, replace: bool = False) -> None:
    spec = common.current_spec()
    try:
        schema = common.pipeline_schema(spec)  # the types kept per dataset: no pass over the frame
    except FAILURES as e:
        st.session_state["clean_defaults_error"] = str(e)
        return
    steps = default_steps(schema) if replace else merge_default_steps(spec.steps, schema)
    added = len(steps) - (0 if replace else len(spec.steps))
    common.set_spec(spec.model_copy(update={"steps": steps}))
    st.toast("Steps reset to the defaults." if replace else
             f"Added {added} suggested step(s)." if added else "Your steps already cover the suggestions.",
             icon=":material/auto_fix_high:")


# ---- quality rules ------------------------------------------------------------------------------------


def _current_rules() -> list[dict[str, Any]]:
    """The pipeline's rules as JSON dicts: they live in the definition, so they are saved, versioned and exported
    with it and checked on every file the model scores."""
    return [rule.model_dump(mode="json") for rule in common.current_spec().rules]


def _set_rules(rules: list[dict[str, Any]]) -> None:
    spec = common.current_spec()
    common.set_spec(spec.model_copy(update={"rules": quality.parse_rules(rules)}))


def _rules_section(frame: pd.DataFrame, sha256: str) -> None:
    st.caption("Rules are part of the pipeline: they are saved with it and checked on this data and on every file "
               "the model scores (Predict, batch scoring, the scoring service). They change no row unless you "
               "turn one into a filter step.")
    schema = _schema()
    _add_rule_form(list(map(str, frame.columns)), schema)
    rules = _current_rules()
    if not rules:
        st.info("No rules yet. Add one above to count the rows that break it.")
        return
    try:
        report = _report(sha256, json.dumps(rules), frame)
    except StudioError as e:
        common.show_error(e)
        _remove_rule_control(rules)
        return
    names = schema.names_of_raw() if schema is not None else {}
    report = report.assign(column=[names.get(c, c) for c in report["column"]])  # as every other page names it
    _show_report(report)
    _rule_details(rules, report, frame, sha256, names)


def _schema() -> Any:
    """The pipeline's schema of the data, or None (the file's own names) when the definition does not fit it."""
    try:
        return common.data_schema()
    except FAILURES:
        return None


def _column_label(raw: str, schema: Any) -> str:
    """A column as the rule picker shows it: its pipeline name and type, and where the file names it otherwise.

    Rules check files as they come (scored files carry the file's names), so a rule keeps the file's name;
    the picker shows the name every other page uses.
    """
    column = next((c for c in schema.columns if c.raw == raw), None) if schema is not None else None
    if column is None:
        return raw
    label = f"{column.name} · {column.type}"
    if column.name != raw:
        label += f" ('{raw}' in the file)"
    return label + ("" if column.kept else " · left out of the pipeline")


def _add_rule_form(columns: list[str], schema: Any) -> None:
    left, right = st.columns(2)
    kind = left.selectbox(
        "Rule", list(quality.RULES), format_func=lambda k: quality.RULES[k].label, key="clean_rule_kind",
        help="What every row of the column must satisfy.",
    )
    column = right.selectbox("Column", columns, key="clean_rule_column", format_func=lambda c: _column_label(c, schema))
    st.caption(RULE_HELP.get(kind, ""))
    with st.form("clean_rule_form", border=False):
        params = _rule_params(kind)
        added = st.form_submit_button("Add rule", icon=":material/rule:", key="clean_add_rule")
    if added:
        _add_rule({"kind": kind, "column": column, **params})


def _rule_params(kind: str) -> dict[str, Any]:
    if kind == "range":
        low, high = st.columns(2)
        minimum = low.number_input("Minimum", value=None, placeholder="no minimum", format="%g", key="clean_rule_min")
        maximum = high.number_input("Maximum", value=None, placeholder="no maximum", format="%g",
                                    key="clean_rule_max")
        return {"min": minimum, "max": maximum}
    if kind == "allowed_values":
        text = st.text_input("Allowed values", placeholder="yes, no", key="clean_rule_values",
                             help="Separate values with commas.")
        return {"values": [v.strip() for v in text.split(",") if v.strip()]}
    if kind == "regex":
        pattern = st.text_input("Pattern", placeholder=r"[A-Z]{2}\d{4}", key="clean_rule_pattern",
                                help="Matched against the whole value; values over 1,000 characters count as "
                                     "violations. Nested repetition like (a+)+ is refused (it can hang).")
        return {"pattern": pattern}
    return {}


def _add_rule(raw: dict[str, Any]) -> None:
    try:
        rule = quality.parse_rules([raw])[0]
    except StudioError as e:
        detail = str(e).replace("rules[0].", "").replace("rules[0]: ", "")
        common.show_error(DataError(f"The rule was not added: {detail}"))
        return
    _set_rules([*_current_rules(), rule.model_dump(mode="json")])
    st.toast(f"Rule added: {rule.describe()} on '{rule.column}'", icon=":material/rule:")


def _show_report(report: pd.DataFrame) -> None:
    failing = int((report["violations"] > 0).sum())
    st.markdown(f"**{failing} of {len(report)} rule(s) broken**")
    st.dataframe(
        common.safe_table(report), hide_index=True, width="stretch",
        column_config={
            "rule": st.column_config.TextColumn("rule", width="medium"),
            "violations": st.column_config.NumberColumn("violations", format="%d"),
            "share": st.column_config.ProgressColumn("share of rows", format="percent", min_value=0.0, max_value=1.0),
            "example_rows": st.column_config.TextColumn("example row indices"),
            "example_values": st.column_config.TextColumn("example values"),
        },
    )


def _rule_details(rules: list[dict], report: pd.DataFrame, frame: pd.DataFrame, sha256: str,
                  names: dict[str, str]) -> None:
    labels = [f"{i + 1}. {r} on '{c}'" for i, (r, c) in enumerate(zip(report["rule"], report["column"], strict=True))]
    index = st.selectbox("Look at a rule", range(len(rules)), format_func=lambda i: labels[i], key="clean_rule_pick")
    bad = _violations(sha256, json.dumps(rules[index]), frame).rename(columns=names)
    if len(bad):
        st.caption(f"First {len(bad):,} rows breaking it (row index of the dataset on the left):")
        st.dataframe(common.safe_table(bad), height=240)
    else:
        st.success("No row breaks this rule.", icon=":material/check_circle:")
    left, right = st.columns(2)
    right.button("Remove this rule", icon=":material/delete:", key="clean_remove_rule", on_click=_drop_rule,
                 args=(index,))
    left.button("Train only on rows that pass it", icon=":material/filter_alt:", key="clean_rule_to_step",
                on_click=_rule_to_step, args=(index,),
                help="Adds a cleaning step that keeps the training rows passing this rule. Like every row step it "
                     "does not run on scored files, where the rule is reported instead.")


def _rule_to_step(index: int) -> None:
    spec = common.current_spec()
    if not 0 <= index < len(spec.rules):
        return
    rule = spec.rules[index]
    schema = _schema()
    if schema is not None and rule.column in schema.names_of_raw():
        column = next(c for c in schema.columns if c.raw == rule.column)
        if not column.kept:
            st.toast(f"'{rule.column}' is left out of the pipeline's columns, so no training row can be filtered on "
                     "it; keep it on the Data page first.", icon=":material/error:")
            return
        rule = rule.model_copy(update={"column": column.name})  # row steps read the columns under pipeline names
    step = KeepRowsPassingRule(rule=rule)
    if step in spec.steps:
        st.toast("That filter is already a step of the pipeline.", icon=":material/info:")
        return
    common.set_spec(spec.model_copy(update={"steps": [step, *spec.steps]}))
    st.toast(f"Step added: {step.describe()}", icon=":material/filter_alt:")


def _remove_rule_control(rules: list[dict]) -> None:
    index = st.selectbox("Rule to remove", range(len(rules)), key="clean_rule_pick",
                         format_func=lambda i: f"{i + 1}. {rules[i]['kind']} on '{rules[i]['column']}'")
    st.button("Remove this rule", icon=":material/delete:", key="clean_remove_rule", on_click=_drop_rule,
              args=(index,))


def _drop_rule(index: int) -> None:
    rules = _current_rules()
    if 0 <= index < len(rules):
        rules.pop(index)
    _set_rules(rules)
    st.session_state.pop("clean_rule_pick", None)



main()

"""Data: load tables (upload, sample, SQL, merge), switch between them, preview and shape the columns."""

from __future__ import annotations

from typing import Any, get_args

import pandas as pd
import streamlit as st

from pages import common, session
from pages.step_editor import filter_value
from pipeline_core.compiler.columns import ColumnInfo
from pipeline_core.definition.spec import ColumnsSpec, DataSource, PipelineSpec
from pipeline_core.definition.steps import ColumnType, FilterOp, FilterRows
from pipeline_core.errors import DataError, StudioError
from pipeline_core.io import frames
from pipeline_core.io.samples import SAMPLE_INFO, sample_names
from studio.datasets import (
    UploadOptions,
    get_dataset,
    import_query,
    ingest_upload,
    list_datasets,
    load_sample_dataset,
    merge_datasets,
)
from studio.errors import FAILURES
from studio.settings import settings

UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "parquet", "json", "jsonl"]
PAGE_SIZES = [25, 50, 100, 500]
# The preview shows at most this many columns: sending every cell of a 20,000-column page to the browser
# took most of the page's time. The caption states the cap; every column is still listed under "Columns".
MAX_PREVIEW_COLUMNS = 100
TYPE_CHOICES = ["auto", *get_args(ColumnType)]
INGESTED_KEY = "data_ingested"  # upload key -> {"dataset_id", "name", "notices", "error"}
NOTICES_KEY = "data_notices"  # dataset id -> reader notices of its last load in this session
EDITOR_KEY = "data_columns_editor"
ORDER_KEY = "data_columns_order"


def main() -> None:
    common.run_inside_app()
    st.header("Data")
    upload_tab, sample_tab, sql_tab = st.tabs(["Upload files", "Sample datasets", "SQL query"])
    with upload_tab:
        _upload_section()
    with sample_tab:
        _sample_section()
    with sql_tab:
        _sql_section()
    datasets = _stored_datasets()
    if not datasets:
        st.info("No dataset yet: upload a file, load a sample or run a SQL query above.")
        return
    st.divider()
    _dataset_switcher(datasets)
    try:
        dataset, frame = common.active_dataset(), common.active_frame()
    except FAILURES as e:
        common.show_error(e)
        return
    if dataset is None or frame is None:
        return
    _active_dataset_sections(dataset, frame, datasets)


def _active_dataset_sections(dataset: Any, frame: pd.DataFrame, datasets: list[Any]) -> None:
    for notice in st.session_state.get(NOTICES_KEY, {}).get(dataset.id, []):
        st.info(notice, icon=":material/info:")
    _spec_mismatch_warning(list(map(str, frame.columns)))
    tabs = st.tabs(["Preview", "Columns and types", "Row filters", "Merge with another dataset"])
    with tabs[0]:
        _preview(frame)
    with tabs[1]:
        _columns_section(frame, dataset.sha256)
    with tabs[2]:
        _filters_section(frame, dataset.sha256)
    with tabs[3]:
        _merge_section(datasets, dataset.id)


# ---- loading ------------------------------------------------------------------------------------------


def _activate(dataset: Any, notices: list[str] | None = None) -> None:
    """Make ``dataset`` the one every page works on, and record where the pipeline's data comes from."""
    session.set_dataset_id(dataset.id)  # the switcher below follows it on the next run
    if notices is not None:
        st.session_state.setdefault(NOTICES_KEY, {})[dataset.id] = list(notices)
    source = DataSource(file_name=dataset.file_name, sha256=dataset.sha256, format=dataset.format)
    common.set_spec(common.current_spec().model_copy(update={"data": source}))


def _upload_section() -> None:
    files = st.file_uploader(
        "Tables to load", type=UPLOAD_TYPES, accept_multiple_files=True, key="data_upload",
        help="CSV/TSV, Excel (.xlsx), Parquet or JSON. The format is detected from the content; each file "
             "becomes a stored dataset (the same file uploaded twice is stored once).",
    )
    with st.expander("Reading options"):
        left, middle, right = st.columns(3)
        delimiter = left.selectbox("Delimiter", ["auto", ",", ";", "\\t", "|"], key="data_delimiter")
        encoding = middle.selectbox("Encoding", ["auto", "utf-8", "cp1252", "latin-1", "utf-16"], key="data_encoding")
        sheet = right.text_input("Excel sheet", placeholder="first sheet", key="data_sheet")
    options = UploadOptions(delimiter=None if delimiter == "auto" else delimiter.replace("\\t", "\t"),
                          encoding=None if encoding == "auto" else encoding, sheet=sheet.strip() or None)
    ingested = st.session_state.setdefault(INGESTED_KEY, {})
    newest = None
    for upload in files or []:
        key = f"{upload.file_id}|{options}"
        if key not in ingested:
            ingested[key] = _ingest(upload.getvalue(), upload.name, options)
            newest = ingested[key]
        _show_ingest_result(ingested[key])
    if newest and newest["dataset_id"] is not None:
        _activate(get_dataset(session.actor(), newest["dataset_id"]), newest["notices"])
        st.rerun()  # the sidebar was drawn before this page: show the new dataset there too


def _ingest(data: bytes, file_name: str, options: UploadOptions) -> dict[str, Any]:
    """Read and store one uploaded file; failures become a message, never an exception."""
    try:
        loaded = ingest_upload(session.actor(), data, file_name, options)
    except FAILURES as e:
        return {"dataset_id": None, "name": file_name, "notices": [], "error": str(e)}
    return {"dataset_id": loaded.dataset.id, "name": file_name, "notices": loaded.notices, "error": None}


def _show_ingest_result(outcome: dict[str, Any]) -> None:
    if outcome["error"]:
        common.show_error(DataError(outcome["error"]))
    else:
        st.success(f"Loaded **{common.escape_markdown(outcome['name'])}**.", icon=":material/check_circle:")


def _sample_section() -> None:
    names = sample_names()
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    name = left.selectbox("Sample dataset", names, key="data_sample",
                          help="Small datasets bundled with the studio, to try things out.")
    clicked = right.button("Load sample", key="data_load_sample", icon=":material/download:", width="stretch")
    info = SAMPLE_INFO.get(name)
    if info is not None:
        st.caption(f"{info.description} Target: `{info.target}` ({info.task}).")
    if clicked:
        _load_sample(name)


def _load_sample(name: str) -> None:
    try:
        dataset = load_sample_dataset(session.actor(), name)
    except FAILURES as e:
        common.show_error(e)
        return
    _activate(dataset, [])
    st.rerun()


def _sql_section() -> None:
    """The form, only when the administrator allowed some database: otherwise say so and offer nothing."""
    policy = settings().sql_policy()
    if not policy.enabled:
        st.info("The administrator has not enabled SQL sources on this server: set PIPELINE_STUDIO_SQL_SOURCES "
                "(database URLs) or PIPELINE_STUDIO_SQL_DIRS (folders of SQLite files) to allow some.",
                icon=":material/block:")
        return
    st.caption("Runs one read-only query (SELECT or WITH) on a database the administrator allows and stores the "
               "result as a dataset.")
    allowed = [common.escape_markdown(source) for source in policy.shown_sources()]
    allowed += [f"SQLite files in {common.escape_markdown(folder)}" for folder in policy.sqlite_dirs]
    st.caption("Allowed: " + "; ".join(allowed))
    with st.form("data_sql_form", border=False):
        url = st.text_input("Database URL", key="data_sql_url",
                            placeholder="postgresql+psycopg://user@host/db  or  sqlite:////path/file.db",
                            help="One of the allowed URLs (the password, if any, is the administrator's and is "
                                 "never shown), or sqlite:////absolute/path for a file in an allowed folder.")
        query = st.text_area("Query", key="data_sql_query", placeholder="SELECT * FROM customers", height=100)
        name = st.text_input("Dataset name", value="query result", key="data_sql_name")
        run = st.form_submit_button("Run query", icon=":material/database:", key="data_sql_run")
    if run:
        _load_sql(url, query, name)


def _load_sql(url: str, query: str, name: str) -> None:
    try:
        with st.spinner("Running the query…"):
            dataset = import_query(session.actor(), url, query, name)
    except FAILURES as e:
        common.show_error(e)
        return
    _activate(dataset, [])
    st.rerun()


# ---- stored datasets and merging -------------------------------------------------------------------------


def _stored_datasets() -> list[Any]:
    try:
        return list_datasets(session.actor())
    except FAILURES as e:
        common.show_error(e)
        return []


def _label(dataset: Any) -> str:
    return f"{dataset.name} · {dataset.n_rows:,} × {dataset.n_columns} · {dataset.format} · #{dataset.id}"


def _dataset_switcher(datasets: list[Any]) -> None:
    by_id = {d.id: d for d in datasets}
    active = session.dataset_id()
    if active not in by_id:
        active = None
    if st.session_state.get("data_active") != active:
        st.session_state["data_active"] = active
    st.selectbox(
        "Active dataset", list(by_id), key="data_active", on_change=_on_switch, args=(by_id,),
        format_func=lambda i: _label(by_id[i]), placeholder="Choose a stored dataset",
        help="Every page works on this dataset. Stored datasets stay available between sessions.",
    )


def _on_switch(by_id: dict[int, Any]) -> None:
    chosen = st.session_state.get("data_active")
    if chosen is None:
        session.set_dataset_id(None)
    else:
        _activate(by_id[chosen])


def _merge_section(datasets: list[Any], active_id: int) -> None:
    if len(datasets) < 2:
        st.info("Load a second dataset to merge it with this one on key columns.")
        return
    by_id = {d.id: d for d in datasets}
    ids = list(by_id)
    left_col, right_col, how_col = st.columns([3, 3, 1])
    left_id = left_col.selectbox("First table", ids, index=ids.index(active_id), key="data_merge_left",
                                 format_func=lambda i: _label(by_id[i]))
    others = [i for i in ids if i != left_id]
    right_id = right_col.selectbox("Second table", others, format_func=lambda i: _label(by_id[i]),
                                   key="data_merge_right")
    how = how_col.selectbox("Join", ["inner", "left", "right", "outer"], key="data_merge_how",
                            help="inner: rows whose keys are in both; left: every row of the first table; …")
    left, right = _column_names(by_id[left_id]), _column_names(by_id[right_id])
    mapping = _mapping_editor(left, right)
    shared = [c for c in left if c in {mapping.get(r, r) for r in right}]
    keys = st.multiselect("Key columns (names in the first table)", shared, default=shared[:1], key="data_merge_keys",
                          help="Rows are matched when all key columns agree. Map differing names above first.")
    name = st.text_input("Name of the merged dataset", value=f"{by_id[left_id].name} + {by_id[right_id].name}",
                         key="data_merge_name")
    st.caption("The merged table is stored as a new dataset and becomes the active one.")
    if st.button("Merge and save", icon=":material/merge:", key="data_merge_run"):
        _merge(keys, mapping, how, name, (by_id[left_id], by_id[right_id]))


def _mapping_editor(left: list[str], right: list[str]) -> dict[str, str]:
    """An editable table: each second-table column and the first-table column it means (blank: none)."""
    suggested = frames.suggest_mapping(left, right)
    shown = list(common.safe_table(pd.DataFrame(columns=left)).columns)  # formulas neutralised, still distinct
    back, as_shown = dict(zip(shown, left, strict=True)), dict(zip(left, shown, strict=True))
    table = pd.DataFrame(
        {"second table column": right, "same as first-table column": [as_shown.get(suggested.get(c)) for c in right]}
    )
    st.caption("Schema mapping: when a column has a different name in the second table, say which one it is.")
    edited = st.data_editor(  # shows names as safe_table does; the answer is mapped back to the real names
        common.safe_table(table), hide_index=True, key="data_merge_mapping", disabled=["second table column"],
        width="stretch", column_config={"same as first-table column": st.column_config.SelectboxColumn(options=shown)},
    )
    pairs = zip(right, (back.get(m) for m in edited["same as first-table column"]), strict=True)
    return {r: m for r, m in pairs if isinstance(m, str) and m and m != r}


def _merge(keys: list[str], mapping: dict[str, str], how: Any, name: str, sources: tuple[Any, Any]) -> None:
    try:
        with st.spinner("Merging…"):
            loaded = merge_datasets(session.actor(), *sources, keys=keys, mapping=mapping, how=how, name=name,
                                             load=common.frame_of)
    except FAILURES as e:
        common.show_error(e)
        return
    _activate(loaded.dataset, loaded.notices)
    st.rerun()


def _column_names(dataset: Any) -> list[str]:
    """Column names from the stored metadata, so the merge form never loads a frame until asked."""
    return [str(c["name"]) for c in dataset.columns or []]


# ---- the active dataset -------------------------------------------------------------------------------


def _spec_mismatch_warning(columns: list[str]) -> None:
    spec = common.current_spec()
    names = set(frames.spec_columns(columns, None, spec.columns.rename))
    wanted = {spec.target} if spec.target else set()
    wanted |= set(spec.columns.select or []) | set(spec.columns.types)
    missing = sorted(c for c in wanted if c not in names)
    if not missing:
        return
    st.warning(f"The pipeline refers to column(s) this dataset does not have: {', '.join(missing)}.")
    st.button("Start a fresh pipeline for this dataset", key="data_reset_spec", on_click=_reset_spec)


def _reset_spec() -> None:
    spec = common.current_spec()
    common.set_spec(PipelineSpec(name=spec.name, data=spec.data))


def _preview(frame: pd.DataFrame) -> None:
    """The rows as the pipeline reads them: kept columns under their names after renames (values unchanged)."""
    try:
        schema = common.data_schema()
    except FAILURES as e:  # a definition that does not fit this data: the raw columns, and why
        common.show_error(e)
        schema = None
    left, right, _ = st.columns([1, 1, 3])
    size = left.selectbox("Rows per page", PAGE_SIZES, index=2, key="data_page_size")
    pages = frames.n_pages(len(frame), size)
    if st.session_state.get("data_page", 1) > pages:  # fewer pages after a switch or a bigger page size
        st.session_state["data_page"] = pages
    page = right.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, step=1, key="data_page")
    rows = frames.page_of(frame, int(page), size)  # the page's rows first: nothing else of a long frame is read
    kept = schema.kept if schema is not None else None
    n_columns = len(kept) if kept is not None else frame.shape[1]
    if kept is None:
        shown = rows.iloc[:, :MAX_PREVIEW_COLUMNS]
    else:
        shown = schema.view(rows, typed=False).iloc[:, :MAX_PREVIEW_COLUMNS]
    start = (min(int(page), pages) - 1) * size
    st.dataframe(common.safe_table(shown), height=min(38 + 35 * len(shown), 420), width="stretch")
    columns = f"{n_columns} columns"
    if n_columns > MAX_PREVIEW_COLUMNS:
        columns = (f"the first {MAX_PREVIEW_COLUMNS:,} of {n_columns:,} columns shown (at most "
                   f"{MAX_PREVIEW_COLUMNS:,} in the preview; all are listed under Columns and types)")
    st.caption(f"Rows {start + 1:,}–{start + len(shown):,} of {len(frame):,} · {columns}")
    if schema is not None:
        _preview_changes(schema)


def _preview_changes(schema: Any) -> None:
    """Say what the preview shows differently from the file: renamed and left-out columns."""
    renamed = [f"{c.raw} → {c.name}" for c in schema.columns if c.raw != c.name]
    left_out = [c.raw for c in schema.columns if not c.kept]
    notes = []
    if renamed:
        notes.append("renamed: " + ", ".join(renamed[:10]) + (" …" if len(renamed) > 10 else ""))
    if left_out:
        notes.append(f"{len(left_out):,} column(s) left out of the pipeline: " + ", ".join(left_out[:10])
                     + (" …" if len(left_out) > 10 else ""))
    if notes:
        st.caption("As the pipeline reads the file (Columns and types): " + "; ".join(notes) + ".")


def _columns_section(frame: pd.DataFrame, sha256: str) -> None:
    spec = common.current_spec()
    columns = list(map(str, frame.columns))
    schema = common.raw_schema(sha256, frame)  # renames and overrides ignored: 'detected' stays detected
    base = _column_table(columns, spec.columns, schema)
    st.caption("Rename columns and override a detected type in the table; choose and order the kept columns below.")
    st.data_editor(  # shown neutralised; ``_apply_columns`` reads the real names from ``base`` plus the edits
        common.safe_table(base), hide_index=True, key=EDITOR_KEY, width="stretch",
        disabled=["column", "detected", "why"], height=min(38 + 35 * len(base), 560),
        column_config={
            "column": st.column_config.TextColumn("column", width="medium"),
            "detected": st.column_config.TextColumn("detected", width="small"),
            "why": st.column_config.TextColumn("why", width="large"),
            "name": st.column_config.TextColumn("name", help="New name; steps and the target use it."),
            "type": st.column_config.SelectboxColumn("type", options=TYPE_CHOICES, required=True,
                                                     help="'auto' keeps the detected type."),
        },
    )
    if ORDER_KEY not in st.session_state:  # seeded here, not via ``default``: Streamlit checks a default
        present = set(columns)  # with a list lookup per value, quadratic (5 s at 20,000 columns)
        st.session_state[ORDER_KEY] = [c for c in _kept_order(columns, spec.columns) if c in present]
    st.multiselect("Columns to keep, in this order", columns, key=ORDER_KEY,
                   help="Remove a column to leave it out; remove and add it again to move it to the end.")
    st.button("Apply column changes", icon=":material/check:", key="data_columns_apply", type="primary",
              on_click=_apply_columns, args=(base, columns))
    if message := st.session_state.pop("data_columns_error", None):
        common.show_error(DataError(message))


def _column_table(columns: list[str], current: ColumnsSpec, schema: dict[str, ColumnInfo]) -> pd.DataFrame:
    names = [current.rename.get(c, c) for c in columns]
    return pd.DataFrame({
        "column": columns,
        "name": names,
        "type": [current.types.get(n, "auto") for n in names],
        "detected": [schema[c].type if c in schema else "" for c in columns],
        "why": [schema[c].reason if c in schema else "" for c in columns],
    })


def _kept_order(columns: list[str], current: ColumnsSpec) -> list[str]:
    if current.select is None:
        return columns
    back = {current.rename.get(c, c): c for c in columns}
    return [back[name] for name in current.select if name in back]


def _apply_columns(base: pd.DataFrame, columns: list[str]) -> None:
    """Write renames, type overrides and the kept order into the definition (runs before the rerun)."""
    table = base.copy()
    edits = st.session_state.get(EDITOR_KEY) or {}
    for row, changes in (edits.get("edited_rows") or {}).items():
        for column, value in changes.items():
            table.loc[int(row), column] = value
    spec = common.current_spec()
    try:
        rename = frames.check_rename(columns, dict(zip(table["column"], table["name"].fillna(""), strict=True)))
        kept = st.session_state.get(ORDER_KEY) or []
        if not kept:
            raise StudioError("columns.select: keep at least one column")
        names = [rename.get(c, c) for c in kept]
        select = None if kept == columns else names
        types = {rename.get(c, c): t for c, t in zip(table["column"], table["type"], strict=True) if t != "auto"}
        updated = ColumnsSpec(select=select, rename=rename, types=types)
    except (StudioError, ValueError) as e:
        st.session_state["data_columns_error"] = str(e)
        return
    common.set_spec(spec.model_copy(update={"columns": updated}))
    st.session_state.pop(EDITOR_KEY, None)
    st.toast("Column changes applied to the pipeline.", icon=":material/check:")


def _filters_section(frame: pd.DataFrame, sha256: str) -> None:
    spec = common.current_spec()
    columns = frames.spec_columns(list(map(str, frame.columns)), spec.columns.select, spec.columns.rename)
    st.caption("Filters keep the matching rows for training (never at prediction time).")
    with st.form("data_filter_form", border=False):
        column_cell, op_cell, value_cell = st.columns([2, 1, 2])
        column = column_cell.selectbox("Column", columns, key="data_filter_column")
        op = op_cell.selectbox("Condition", get_args(FilterOp), key="data_filter_op")
        value = value_cell.text_input("Value", key="data_filter_value", placeholder="e.g. 18, or a, b for 'in'")
        added = st.form_submit_button("Add filter", icon=":material/filter_alt:", key="data_filter_add")
    if added:
        _add_filter(frame, spec, column, op, value)
    _filter_list(frame, sha256)


def _add_filter(frame: pd.DataFrame, spec: PipelineSpec, column: str, op: str, text: str) -> None:
    raw = {new: old for old, new in spec.columns.rename.items()}.get(column, column)
    parsed = filter_value(frame.get(raw), op, text)
    step = FilterRows(column=column, op=op, value=parsed)
    try:  # refuse a filter that cannot run (a word compared with a numeric column) before it is kept
        step.apply(frame.head(5).rename(columns=spec.columns.rename), spec.target)
    except StudioError as e:
        common.show_error(e)
        return
    common.set_spec(spec.model_copy(update={"steps": [*spec.steps, step]}))
    st.rerun()


def _filter_list(frame: pd.DataFrame, sha256: str) -> None:
    spec = common.current_spec()
    filters = [(i, s) for i, s in enumerate(spec.steps) if isinstance(s, FilterRows)]
    if not filters:
        return
    for i, step in filters:
        text_cell, button_cell = st.columns([6, 1], vertical_alignment="center")
        text_cell.markdown(f"`{step.column} {step.op} {step.value!r}`" if step.value is not None
                           else f"`{step.column} {step.op}`")
        button_cell.button(":material/delete:", key=f"data_filter_remove_{i}", help="Remove this filter",
                           on_click=_remove_step, args=(i,))
    try:
        kept = _rows_after_filters(sha256, spec.model_dump_json(include={"columns", "steps", "target"}), frame)
    except FAILURES as e:
        common.show_error(e)
        return
    st.markdown(f"**{kept:,} of {len(frame):,} rows** pass the filters.")


@st.cache_data(max_entries=32, show_spinner=False)
def _rows_after_filters(sha256: str, spec_json: str, _frame: pd.DataFrame) -> int:
    from pipeline_core.compiler.columns import apply_column_spec

    spec = PipelineSpec.model_validate_json(spec_json)
    rows = apply_column_spec(_frame, spec)
    for step in spec.steps:
        if isinstance(step, FilterRows):
            rows, _ = step.apply(rows, spec.target)
    return len(rows)


def _remove_step(index: int) -> None:
    spec = common.current_spec()
    common.set_spec(spec.model_copy(update={"steps": [s for i, s in enumerate(spec.steps) if i != index]}))


main()

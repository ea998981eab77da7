"""Shared page furniture: session-state defaults, cached loaders, the sidebar, error display.

Session state holds only small things (ids, the definition being edited as JSON-able
data). Frames and fitted models are cached by content hash, so a widget click never
reloads or recomputes them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from pages import session
from pipeline_core.compiler.columns import ColumnInfo
from pipeline_core.definition.spec import ColumnsSpec, PipelineSpec, load_spec
from pipeline_core.errors import DataError, StudioError
from pipeline_core.io.writers import neutralise_frame
from studio import datasets, runs, schema, training
from studio.errors import FAILURES

APP_SCRIPT = Path(__file__).resolve().parents[1] / "app.py"
RUN_POLL_SECONDS = 2  # how often the sidebar looks at a queued or running run
_inside_app: ContextVar[bool] = ContextVar("inside_app", default=False)


@contextmanager
def inside_app() -> Iterator[None]:
    """app.py runs the chosen page inside this, so the page knows it has its frame."""
    token = _inside_app.set(True)
    try:
        yield
    finally:
        _inside_app.reset(token)


def run_inside_app() -> None:
    """Every page calls this first: it makes sure the page runs inside app.py (page config, storage,
    session-state defaults, the sidebar and the ``st.navigation`` menu).

    Until ``st.navigation`` has been called once in a server process, Streamlit treats the ``pages/``
    folder beside app.py as a legacy multipage app. So the first script run of a fresh server, opened
    at ``/profile``, runs ``pages/profile.py`` on its own, under a menu made of every file in ``pages/``
    (helpers included). Streamlit has no setting against that short of renaming the folder; such a
    lone run runs app.py in its place (as Streamlit does for the entrypoint), which shows the same page
    inside its frame, and stops. Every later run of the process goes through app.py directly.
    """
    if _inside_app.get():
        return
    code = compile(APP_SCRIPT.read_bytes(), str(APP_SCRIPT), "exec")
    exec(code, {"__name__": "__main__", "__file__": str(APP_SCRIPT)})  # as Streamlit runs an entrypoint
    st.stop()


# ---- the definition being edited -----------------------------------------------------------


def current_spec() -> PipelineSpec:
    raw = st.session_state.get(session.SPEC)
    return load_spec(raw) if raw else PipelineSpec()


def set_spec(spec: PipelineSpec) -> None:
    st.session_state[session.SPEC] = spec.to_dict()


def unsaved_changes() -> bool:
    raw = st.session_state.get(session.SPEC)
    return bool(raw) and current_spec().content_hash() != session.editing().saved_hash


# ---- data ---------------------------------------------------------------------------------------


@st.cache_resource(max_entries=4, show_spinner="Loading the dataset…")
def _frame_by_hash(dataset_id: int, sha256: str, _actor: Any) -> pd.DataFrame:
    """Stored datasets are shared and immutable, so one copy per content hash serves every session.

    Callers must not mutate the returned frame (copy before editing).
    """
    return datasets.load_table(_actor, dataset_id)


def frame_of(dataset: Any) -> pd.DataFrame:
    """The stored frame of ``dataset``, shared by content hash; do not mutate it. The session's right to the
    dataset is checked on every call, before the shared copy."""
    actor = session.actor()
    if datasets.get_dataset(actor, dataset.id) is None:
        raise datasets.NotFound(f"dataset {dataset.id} was not found in this workspace (it may have been deleted)")
    return _frame_by_hash(dataset.id, dataset.sha256, actor)


def active_dataset() -> Any | None:
    dataset_id = session.dataset_id()
    return datasets.get_dataset(session.actor(), dataset_id) if dataset_id is not None else None


def active_frame() -> pd.DataFrame | None:
    dataset = active_dataset()
    return frame_of(dataset) if dataset is not None else None


@st.cache_data(max_entries=32, show_spinner="Inferring column types…")
def raw_schema(sha256: str, _frame: pd.DataFrame) -> dict[str, ColumnInfo]:
    """Detected types of the stored columns, by content hash (renames and overrides ignored).

    Inferring reads every value (seconds on a million rows), so it is done once per dataset:
    the Data page shows these, and :func:`data_schema` builds on them.
    """
    return schema.detected_types(_frame)


@st.cache_data(max_entries=32, show_spinner=False)
def _column_types(sha256: str, columns_json: str, _frame: pd.DataFrame) -> dict[str, ColumnInfo]:
    """Every column's type under the renames and overrides: the only part of a schema that reads values (a
    renamed number column, whose new name can make it an ID), so it is kept per dataset and columns section."""
    columns = ColumnsSpec.model_validate_json(columns_json)
    return schema.column_types(_frame, columns, raw_schema(sha256, _frame))


def _types_of(dataset: Any, spec: PipelineSpec) -> tuple[pd.DataFrame, dict[str, ColumnInfo]]:
    frame = frame_of(dataset)
    return frame, _column_types(dataset.sha256, spec.columns.model_dump_json(), frame)


@st.cache_data(max_entries=32, show_spinner=False)
def _schema_of(sha256: str, fingerprint: str, _spec: PipelineSpec, _frame: pd.DataFrame,
               _types: dict[str, ColumnInfo]) -> schema.DataSchema:
    """Keyed by the dataset's hash and what of the definition a schema reads (``columns_fingerprint``)."""
    return schema.dataset_schema(_frame, _spec, types=_types)


def _dataset_or_error() -> Any:
    dataset = active_dataset()
    if dataset is None:
        raise DataError("no dataset is loaded; load one on the Data page first")
    return dataset


def data_schema(spec: PipelineSpec | None = None) -> schema.DataSchema:
    """The active dataset's one schema under ``spec`` (default: the definition being edited): names after
    renames, types after overrides, roles. Every page that lists, types or names columns reads this."""
    dataset = _dataset_or_error()
    spec = spec or current_spec()
    frame, types = _types_of(dataset, spec)
    return _schema_of(dataset.sha256, schema.columns_fingerprint(spec), spec, frame, types)


def pipeline_schema(spec: PipelineSpec) -> dict[str, ColumnInfo]:
    """The active dataset's feature column types under ``spec``, as ``infer_schema`` gives them, from the types
    kept per dataset and columns section (:func:`data_schema` reads the same ones)."""
    frame, types = _types_of(_dataset_or_error(), spec)
    return schema.feature_types(frame, spec, types)


def require_frame() -> pd.DataFrame:
    """The active frame, or a pointer to the Data page and a stop."""
    try:
        frame = active_frame()
    except FAILURES as e:
        show_error(e)
        st.stop()
    if frame is None:
        st.info("No dataset yet. Load a file or a sample on the **Data** page first.")
        st.page_link("pages/data.py", label="Go to Data", icon=":material/upload_file:")
        st.stop()
    return frame


# ---- display ----------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#+!|~$:])")


def escape_markdown(text: object) -> str:
    """User-chosen text (file, dataset and pipeline names) as literal markdown, on one line.

    Streamlit already shows raw HTML as text; this also stops a name from forming a link,
    an image fetched from elsewhere, emphasis, a code span, a formula or a colour directive.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def accounts_html(rows: Iterable[tuple[str, str]]) -> str:
    """Account names in bold, each followed by ``rest`` (plain text), as a list for ``st.markdown(...,
    unsafe_allow_html=True)``.

    HTML rather than markdown text because Streamlit's markdown makes any e-mail address in text a mailto link,
    whatever escapes it carries, and single sign-on names accounts by their e-mail. Everything is HTML-escaped; the
    block is one line, so markdown leaves it raw."""
    return "<ul>" + "".join(f"<li><b>{html.escape(name)}</b>{html.escape(rest)}</li>" for name, rest in rows) + "</ul>"


def account_line_html(name: str, rest: str = "") -> str:
    """One account name in bold on one line, cut with an ellipsis when the column is narrow (the whole name shows on
    hover): an e-mail address wrapped at any letter reads badly. HTML for the reason :func:`accounts_html` gives."""
    whole = html.escape(name + rest)
    return (f'<div title="{whole}" style="overflow: hidden; text-overflow: ellipsis; white-space: nowrap">'
            f"<b>{html.escape(name)}</b>{html.escape(rest)}</div>")


def show_error(error: StudioError | Exception) -> None:
    """Show an expected failure plainly, where the user is looking."""
    st.error(str(error), icon=":material/error:")


def sidebar() -> None:
    """Always shows the active dataset, the pipeline being built and the last run."""
    with st.sidebar:
        dataset = active_dataset()
        st.caption("DATASET")
        shown = f"**{escape_markdown(dataset.name)}** · {dataset.n_rows:,} × {dataset.n_columns}" if dataset else None
        st.markdown(shown or "_none loaded_")
        spec = current_spec()
        st.caption("PIPELINE")
        flag = " · :orange[unsaved changes]" if unsaved_changes() else ""
        version = session.editing().version
        st.markdown(f"**{escape_markdown(spec.name)}**" + (f" v{version}" if version else "") + flag)
        st.markdown(f"Target: `{spec.target}` · task: {spec.task}" if spec.target else "Target: _not chosen_")
        if spec.steps:
            st.markdown("\n".join(f"{i + 1}. {step.describe()}" for i, step in enumerate(spec.steps)))
        else:
            st.caption("No steps yet: defaults are added when you choose a target.")
        run_id = session.run_id()
        run = runs.get_run(session.actor(), run_id) if run_id is not None else None
        if run is not None:
            st.caption("LAST RUN")
            if run.status in training.ACTIVE:
                _live_run_status(run.id)
            else:
                _run_status(run)


def _run_status(run: Any) -> None:
    st.markdown(f"Run #{run.id}: **{run.status}**")


@st.fragment(run_every=RUN_POLL_SECONDS)
def _live_run_status(run_id: int) -> None:
    """A queued or running run's status, polled; when the run ends the whole page reruns.

    The sidebar is drawn once per run of the app, so without this it said "running" on every page but Train
    (whose own panel polls) until the user clicked something, minutes after the run ended, and Compare kept
    saying its leaderboard "appears here when it ends" (issue 15 point 1). The full rerun lets whichever page
    is open show the finished run.
    """
    run = runs.get_run(session.actor(), run_id)
    if run is None or run.status not in training.ACTIVE:
        st.rerun()
    st.markdown(f"Run #{run.id}: **{run.status}** ({run.progress:.0%})")


if __name__ == "__main__":  # opened by its address as the first run of a server: not a page
    run_inside_app()


MISSING_TEXT = "—"  # what a table shows for a missing value (Streamlit's own rendering of one is "None")


def _cell_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    return str(value)


def readable_table(frame: Any, formats: dict[str, str] | None = None) -> Styler:
    """:func:`safe_table` where a missing value reads "—" and numbers read short (``formats`` maps columns to format
    strings such as ``"{:.2e}"``).

    Streamlit draws a missing cell as "None" whatever a Styler says, which read as a broken value in Profile's
    statistics, drift's KS columns, the model card and a cancelled run's duration (issue 15 point 15). So a column
    with gaps becomes text ("—" in the gaps, its numbers formatted); a column without keeps its numbers (and its
    sorting by value), formatted by a Styler.
    """
    table = safe_table(frame)
    formats = {column: spec for column, spec in (formats or {}).items() if column in table.columns}
    for column in table.columns:
        missing = table[column].isna()
        if missing.any():
            spec = formats.pop(column, None)
            table[column] = [MISSING_TEXT if gap else spec.format(value) if spec else _cell_text(value)
                             for value, gap in zip(table[column], missing, strict=True)]
    return table.style.format(formats) if formats else table.style


def safe_table(frame: Any) -> pd.DataFrame:
    """What a table of user data shows: formulas neutralised, as in the app's own CSV and Excel downloads.

    Streamlit's table toolbar offers every ``st.dataframe`` and ``st.data_editor`` as "Download as CSV" and
    writes the cells raw, so a value or column name such as ``=cmd|' /C calc'!A0`` or ``@SUM(A1)`` would run
    when the file is opened in a spreadsheet. There is no per-table switch for that download in Streamlit
    1.67 (only the app-wide ``client.disableDataExport``, which also takes copying away), so every table in
    ``pages/`` shows its data through this: text starting with ``= + - @``, tab or CR gets a leading ``'``,
    numbers stay numbers (:func:`pipeline_core.io.writers.neutralise_frame`). Takes what ``st.dataframe`` takes
    (a frame, or records a frame is built from).
    """
    if isinstance(frame, Styler):  # its formats and styles are keyed to the data it was built on
        raise TypeError("safe_table needs the data, not a Styler: neutralise it before styling "
                        "(as charts.leaderboard_table does)")
    return neutralise_frame(frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame))

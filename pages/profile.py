"""Profile: an instant overview of the active dataset, and the full ydata-profiling report on demand."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from pages import common
from pipeline_core.analysis.overview_tables import MAX_CORRELATION_COLUMNS
from pipeline_core.analysis.profile import Overview, Summary, summarise_schema, with_target
from pipeline_core.analysis.report import (
    MAX_REPORT_COLUMNS,
    MINIMAL_REPORT_ABOVE_COLUMNS,
    full_report_html,
    sandboxed_report_html,
)
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.errors import StudioError
from pipeline_core.io.writers import safe_download_name
from studio.errors import FAILURES
from studio.schema import DataSchema
from studio.settings import settings

DEFAULT_REPORT_ROWS = 100_000
MAX_HEATMAP_COLUMNS = 30
REPORT_KEY = "profile_report_shown"  # (sha256, schema, features only, rows, minimal) of the report asked for
CHART_LAYOUT = {"height": 360, "margin": {"t": 40, "b": 10, "l": 10, "r": 10}}


@st.cache_resource(max_entries=4, show_spinner="Summarising the data…")
def _summary(sha256: str, fingerprint: str, features_only: bool, _schema: DataSchema, _frame: pd.DataFrame) -> Summary:
    """Shared by content hash and schema like the frame (not copied per rerun): it holds per-row codes for the
    target relations.

    Within the server's memory budget: one user's very wide upload is refused here, not summarised until the
    server runs out of memory.
    """
    return summarise_schema(_frame, _schema, dropped=not features_only,
                            memory_budget_bytes=settings().memory_budget_bytes,
                            budget_setting="PIPELINE_STUDIO_MEMORY_BUDGET_MB")


@st.cache_data(max_entries=16, show_spinner="Relating the features to the target…")
def _overview(sha256: str, fingerprint: str, features_only: bool, target: str | None, _schema: DataSchema,
              _frame: pd.DataFrame) -> Overview:
    """A new target only costs the relations: the summary is computed once per dataset and schema."""
    return with_target(_summary(sha256, fingerprint, features_only, _schema, _frame), target)


@st.cache_data(max_entries=8, show_spinner=False)
def _report(sha256: str, fingerprint: str, sample_rows: int, minimal: bool, title: str, _frame: pd.DataFrame) -> str:
    """The report wrapped in a sandboxed frame (what is shown and what is downloaded); ``_frame`` is the schema's
    view of the data, so the report names and types columns as the overview does."""
    report = full_report_html(_frame, title=title, minimal=minimal, sample_rows=sample_rows, seed=0)
    return sandboxed_report_html(report, title=title)


def main() -> None:
    common.run_inside_app()
    st.header("Profile")
    frame = common.require_frame()
    dataset = common.active_dataset()
    schema = _schema()
    features_only = st.toggle("Only the columns the model reads (and the target)", key="profile_features_only",
                              help="Leaves out identifiers, constant columns and the columns the pipeline drops.")
    target = _target_picker(schema.names, schema.target)
    try:
        summary = _overview(dataset.sha256, schema.fingerprint(), features_only, target, schema, frame)
    except StudioError as e:
        common.show_error(e)
        return
    _headline(summary)
    tabs = st.tabs(["Columns", "Distributions", "Missing values", "Correlation", "Target vs features"])
    with tabs[0]:
        _stats_table(summary)
    with tabs[1]:
        _distribution(summary)
    with tabs[2]:
        _missing(summary)
    with tabs[3]:
        _correlation(summary)
    with tabs[4]:
        _target_relations(summary)
    st.divider()
    _full_report(frame, dataset, schema, features_only)


def _schema() -> DataSchema:
    """The pipeline's schema of the data; the file's own columns (with a note) when the definition does not fit."""
    try:
        return common.data_schema()
    except FAILURES as e:
        st.warning(f"Showing the file's own columns: the pipeline's column settings do not fit this data ({e}).",
                   icon=":material/warning:")
        return common.data_schema(PipelineSpec())


def _target_picker(columns: list[str], target: str | None) -> str | None:
    if st.session_state.get("profile_target") not in ["", *columns]:  # first visit, another dataset or rename
        st.session_state["profile_target"] = target if target in columns else ""
    chosen = st.selectbox(
        "Target to relate the features to", ["", *columns], key="profile_target",
        format_func=lambda c: c or "— none —",
        help="Only for this overview; the pipeline's target is chosen on the Features page.",
    )
    return chosen or None


# ---- overview ------------------------------------------------------------------------------------------


def _headline(summary: Overview) -> None:
    rows, cols = summary.shape
    missing_cells = int(summary.missing["missing"].sum())
    share = missing_cells / (rows * cols) if rows and cols else 0.0
    cells = st.columns(5)
    cells[0].metric("Rows", f"{rows:,}")
    cells[1].metric("Columns", f"{cols:,}")
    cells[2].metric("Missing cells", f"{share:.1%}", help=f"{missing_cells:,} empty cells")
    cells[3].metric("Duplicate rows", f"{summary.duplicate_rows:,}",
                    help="Rows identical to an earlier row in every column.")
    cells[4].metric("In memory", _size(summary.memory_bytes),
                    help="The table's size in this server's memory, every text value counted in full. The full "
                         "report's \"Total size in memory\" counts only a pointer per text value, so it is smaller.")
    types = summary.stats["type"].value_counts()
    roles = summary.stats["role"].value_counts()
    st.caption("Column types: " + " · ".join(f"{n} {t}" for t, n in types.items()) + " — roles: "
               + " · ".join(f"{n} {r}" for r, n in roles.items())
               + ". Names, types and roles are the pipeline's (Data page, Columns and types).")


def _stats_table(summary: Overview) -> None:
    numbers = {k: "{:.4g}" for k in ("mean", "std", "min", "p25", "median", "p75", "max")}
    st.dataframe(
        common.readable_table(summary.stats, {"missing_pct": "{:.1f}", **numbers}), hide_index=True,
        width="stretch", height=min(38 + 35 * len(summary.stats), 460),
        column_config={"missing_pct": st.column_config.NumberColumn("missing %")},
    )


def _distribution(summary: Overview) -> None:
    histograms = summary.histograms
    columns = list(dict.fromkeys(histograms["column"]))
    if not columns:
        st.info("No column has values to chart.")
        return
    column = st.selectbox("Column", columns, key="profile_column")
    rows = histograms[histograms["column"] == column]
    if (rows["kind"] == "numeric").all():
        centres = (rows["bin_left"] + rows["bin_right"]) / 2
        figure = px.bar(rows.assign(centre=centres), x="centre", y="count", title=f"Distribution of {column}",
                        hover_data={"bin_left": ":.4g", "bin_right": ":.4g", "centre": False})
        figure.update_traces(width=(rows["bin_right"] - rows["bin_left"]).to_numpy())
        figure.update_layout(bargap=0.02, xaxis_title=column)
    else:
        figure = px.bar(rows, x="value", y="count", title=f"Most frequent values of {column}")
        figure.update_layout(xaxis_type="category", xaxis_title=column)
    figure.update_layout(**CHART_LAYOUT)
    st.plotly_chart(figure, key="profile_distribution_chart")


def _missing(summary: Overview) -> None:
    missing = summary.missing[summary.missing["missing"] > 0].sort_values("missing_pct", ascending=False)
    if missing.empty:
        st.success("No missing values.", icon=":material/check_circle:")
        return
    figure = px.bar(missing, x="column", y="missing_pct", hover_data=["missing"], title="Missing values per column")
    figure.update_layout(yaxis_title="% of rows missing", xaxis_type="category", **CHART_LAYOUT)
    st.plotly_chart(figure, key="profile_missing_chart")


def _correlation(summary: Overview) -> None:
    corr = summary.correlation
    if corr.shape[0] < 2:
        st.info("Fewer than two numeric columns: nothing to correlate.")
        return
    if summary.numeric_columns > corr.shape[0]:
        st.caption(f"Correlations are computed for the first {corr.shape[0]:,} of {summary.numeric_columns:,} "
                   f"numeric columns only (at most {MAX_CORRELATION_COLUMNS:,}, so wide data stays fast and "
                   "within memory); relations to a target cover every column.")
    if corr.shape[0] > MAX_HEATMAP_COLUMNS:
        st.caption(f"The heatmap shows the first {MAX_HEATMAP_COLUMNS} of the {corr.shape[0]:,} correlated columns.")
        corr = corr.iloc[:MAX_HEATMAP_COLUMNS, :MAX_HEATMAP_COLUMNS]
    figure = px.imshow(corr, zmin=-1, zmax=1, color_continuous_scale="RdBu_r", aspect="auto",
                       text_auto=".2f" if corr.shape[0] <= 12 else False, title="Pearson correlation")
    figure.update_layout(height=min(120 + 32 * corr.shape[0], 700), margin=CHART_LAYOUT["margin"])
    st.plotly_chart(figure, key="profile_correlation_chart")


def _target_relations(summary: Overview) -> None:
    relations = summary.target_relations
    if summary.target is None:
        st.info("Choose a target above to see how each feature relates to it.")
        return
    if relations.empty:
        st.info(f"No feature has a measurable relation to '{summary.target}'.")
        return
    if summary.target_kind in ("numeric", "datetime"):
        table = relations.dropna(subset=["value"]).head(30)
        figure = px.bar(table, x="value", y="feature", color="measure", orientation="h",
                        title=f"Strength of relation to {summary.target}")
        figure.update_layout(yaxis={"autorange": "reversed"}, **CHART_LAYOUT)
        st.plotly_chart(figure, key="profile_target_chart")
        if summary.target_kind == "datetime":
            name = common.escape_markdown(summary.target)
            st.caption(f"'{name}' holds dates, so each is taken as a point in time. pearson: linear correlation "
                       "with time (−1…1; positive: the feature grows over time); correlation_ratio: share of the "
                       "spread in dates a categorical feature explains (0…1).")
        else:
            st.caption("pearson: linear correlation (−1…1); correlation_ratio: share of the target's spread a "
                       "categorical feature explains (0…1).")
        return
    _categorical_relation(relations, str(summary.target))


def _categorical_relation(relations: pd.DataFrame, target: str) -> None:
    features = list(dict.fromkeys(relations["feature"]))
    feature = st.selectbox("Feature", features, key="profile_relation_feature")
    rows = relations[relations["feature"] == feature]
    if rows["level"].isna().all():
        figure = px.bar(rows, x="target_class", y="mean", title=f"Mean of {feature} per {target} class")
        figure.update_layout(xaxis_type="category", xaxis_title=target)
    else:
        figure = px.bar(rows, x="level", y="count", color="target_class", barmode="group",
                        title=f"{feature} by {target} class (top levels)")
        figure.update_layout(xaxis_type="category", xaxis_title=feature, legend_title=target)
    figure.update_layout(**CHART_LAYOUT)
    st.plotly_chart(figure, key="profile_target_chart")


# ---- the full report -----------------------------------------------------------------------------------


def _full_report(frame: pd.DataFrame, dataset: Any, schema: DataSchema, features_only: bool) -> None:
    st.subheader("Full profiling report")
    n_rows, n_columns = len(frame), len(schema.view(frame.iloc[:0], dropped=not features_only).columns)
    if n_columns > MAX_REPORT_COLUMNS:
        st.info(f"The full report covers at most {MAX_REPORT_COLUMNS:,} columns; this dataset has {n_columns:,}. "
                "The overview above covers every column.", icon=":material/info:")
        return
    wide = n_columns > MINIMAL_REPORT_ABOVE_COLUMNS
    if st.session_state.get("profile_sample_for") != dataset.sha256:  # another dataset: back to its default size
        st.session_state.pop("profile_sample_rows", None)
        st.session_state["profile_sample_for"] = dataset.sha256
    left, middle = st.columns([1, 1], vertical_alignment="bottom")
    sample_rows = left.number_input(
        "Rows to profile", min_value=1, max_value=n_rows, value=min(n_rows, DEFAULT_REPORT_ROWS), step=1000,
        key="profile_sample_rows", help="A seeded random sample when smaller than the dataset; the report says which.",
    )
    minimal = middle.toggle("Minimal report (faster: no interactions or correlations)", value=n_rows > 50_000 or wide,
                            key="profile_minimal", disabled=wide,
                            help=f"Always minimal above {MINIMAL_REPORT_ABOVE_COLUMNS:,} columns." if wide else None)
    minimal = minimal or wide
    sample_text = "all rows" if sample_rows >= n_rows else f"a random sample of {int(sample_rows):,} of {n_rows:,} rows"
    wide_text = (f" Minimal, since the data has more than {MINIMAL_REPORT_ABOVE_COLUMNS:,} columns (correlations "
                 "and interactions grow with the square of the columns)." if wide else "")
    st.caption(f"ydata-profiling on {sample_text}. It can take a minute on wide data.{wide_text}")
    request = (dataset.sha256, schema.fingerprint(), features_only, int(sample_rows), bool(minimal))
    if st.button("Build full report", icon=":material/summarize:", key="profile_full_report"):
        st.session_state[REPORT_KEY] = request
    if st.session_state.get(REPORT_KEY) != request:
        return
    html = _build_report(frame, dataset, (schema, features_only), int(sample_rows), bool(minimal))
    if html is None:
        return
    st.download_button(
        "Download report (HTML)", data=html, file_name=safe_download_name(f"{dataset.name}_profile.html"),
        mime="text/html", icon=":material/download:", key="profile_download", on_click="ignore",
    )
    st.iframe(html, height=900)


def _build_report(frame: pd.DataFrame, dataset: Any, seen: tuple[DataSchema, bool], sample_rows: int,
                  minimal: bool) -> str | None:
    schema, features_only = seen
    error: StudioError | None = None
    html = None
    with st.status("Building the profiling report…", expanded=False) as status:
        try:
            view = schema.view(frame, dropped=not features_only)
            html = _report(dataset.sha256, f"{schema.fingerprint()}|{features_only}", sample_rows, minimal,
                           dataset.name, view)
        except StudioError as e:
            error = e
            status.update(label="The report could not be built", state="error")
        else:
            status.update(label=f"Report ready ({sample_rows:,} rows profiled)", state="complete")
    if error is not None:
        common.show_error(error)
        st.session_state.pop(REPORT_KEY, None)
    return html


def _size(n: float) -> str:
    """Short enough for a metric tile: at most three digits before the unit."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):  # powers of 1024, named as such (the full report's units too)
        if n < 1000 or unit == "GiB":
            return f"{n:,.1f} {unit}" if unit != "bytes" and n < 100 else f"{n:,.0f} {unit}"
        n /= 1024
    return f"{n:,.0f} GiB"



main()

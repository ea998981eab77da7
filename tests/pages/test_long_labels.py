"""Readability with long class names (issue 15 point 15), checked on the figures and tables the pages draw."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pytest

import storage
from pages import charts
from pipeline_core.io.samples import load_sample
from tests.apptest import open_page, store_frame
from tests.e2e.data import LONG_CLASSES
from tests.pages.test_compare_page import by_key, fast_spec, train_now

SHORT = ("a", "b", "c")


def _confusion(classes) -> pd.DataFrame:
    return pd.DataFrame([{"actual": a, "predicted": p, "count": 5 if a == p else 1} for a in classes for p in classes])


def _roc(classes) -> pd.DataFrame:
    return pd.DataFrame([{"class": c, "fpr": x, "tpr": min(1.0, 2 * x), "auc": 0.9} for c in classes
                         for x in (0.0, 0.5, 1.0)])


def test_confusion_matrix_wraps_long_class_names_and_grows_for_them():
    short, long = charts.confusion_figure(_confusion(SHORT)), charts.confusion_figure(_confusion(LONG_CLASSES))
    for axis in (long.layout.xaxis, long.layout.yaxis):
        assert list(axis.tickvals) == list(LONG_CLASSES)  # the cells still belong to the full names
        assert all(len(line) <= charts.LABEL_WIDTH for text in axis.ticktext for line in text.split("<br>"))
    assert long.layout.height > short.layout.height


@pytest.mark.parametrize("build", [charts.roc_figure, charts.pr_figure])
def test_curve_legends_sit_below_the_plot_and_the_figure_grows_for_them(build):
    frame = _roc(LONG_CLASSES).assign(recall=lambda f: f["fpr"], precision=lambda f: f["tpr"], average_precision=0.8)
    short = build(frame.assign(**{"class": frame["class"].str[0]}))
    long = build(frame)
    assert long.layout.legend.y < 0 and long.layout.legend.yanchor == "top"  # outside the plot area
    assert long.layout.height > short.layout.height
    assert all(len(line) <= 2 * charts.LABEL_WIDTH for trace in long.data for line in trace.name.split("<br>"))


def test_error_bars_of_a_bounded_metric_stop_at_its_bounds():
    board = pd.DataFrame({"Model": ["A", "B"], "accuracy": [0.98, 0.03], "accuracy__std": [0.05, 0.05]})
    folds = pd.DataFrame({"Model": ["A", "B"], "fold": [1, 1], "value": [0.98, 0.03]})
    mean_trace = charts.fold_spread_figure(board, folds, "accuracy").data[1]
    uppers = [m + u for m, u in zip(mean_trace.x, mean_trace.error_x.array, strict=True)]
    lowers = [m - d for m, d in zip(mean_trace.x, mean_trace.error_x.arrayminus, strict=True)]
    assert max(uppers) <= 1.0 and min(lowers) >= 0.0
    assert uppers[1] == pytest.approx(0.08)  # an unclipped side keeps its full std


def test_an_unbounded_metric_keeps_symmetric_bars():
    bars = charts.error_bars(pd.Series([5.0]), pd.Series([2.0]), "neg_root_mean_squared_error")
    assert bars["array"] == [2.0] and bars["arrayminus"] == [2.0]


# ---- tables: no "None", nothing cut ---------------------------------------------------------------------------


def shown_cells(element) -> pd.DataFrame:
    """The texts a table's cells show in the browser: a missing value as "None" (Streamlit draws it so whatever a
    Styler says), other cells as the Styler's display values when the page styled the table, else as they are."""
    data = element.value
    styler = element.proto.arrow_data.styler
    shown = pa.ipc.open_stream(styler.display_values).read_pandas() if styler.display_values else data
    shown = shown.set_axis(data.index).astype(object)
    return shown.where(data.notna(), "None").astype(str)


def keyed(at, key: str):
    """The table inside the container the page keyed ``key``."""
    return by_key(at.container, key).dataframe[0]


def column_config(element) -> dict:
    return json.loads(element.proto.columns or "{}")


def no_none(frame: pd.DataFrame) -> None:
    cells = frame.astype(str).to_numpy().ravel().tolist()
    assert not {"None", "nan", "NaN", "<NA>"} & set(cells), frame


@pytest.fixture
def long_iris_id(store) -> int:
    frame = load_sample("iris")
    names = dict(zip(sorted(frame["target"].unique()), LONG_CLASSES, strict=True))
    return store_frame(store, frame.assign(target=frame["target"].map(names)), "long iris")


def test_profile_stats_show_a_dash_for_statistics_a_text_column_has_not(store):
    frame = pd.DataFrame({"n": [1.5, 2.0, None, 4.0], "diagnosis": list(LONG_CLASSES) + [None]})
    at = open_page("pages/profile.py", dataset_id=store_frame(store, frame, "mixed"))
    assert not at.exception
    cells = shown_cells(at.dataframe[0])
    no_none(cells)
    assert (cells.set_index("column").loc["diagnosis", "mean"]) == "—"


def test_a_cancelled_runs_duration_is_a_dash_and_run_columns_are_wide_enough(store, long_iris_id):
    run = storage.create_run(store, dataset_id=long_iris_id)
    storage.finish_run(store, run.id, status="cancelled", error="stopped by the user")
    at = open_page("pages/compare.py", dataset_id=long_iris_id)
    assert not at.exception
    table = by_key(at.container, "compare_runs").dataframe[0]
    cells = shown_cells(table)
    no_none(cells)
    assert cells.loc[0, "Status"] == "cancelled" and cells.loc[0, "Duration (s)"] == "—"
    widths = {name: config.get("width") for name, config in column_config(table).items()}
    assert widths.get("Status", 0) >= 100 and widths.get("Run", 0) >= 60  # "cancelled", "interrupted", "#123"


def test_predict_shows_probabilities_as_bars_under_short_headers_and_a_card_without_none(store, long_iris_id):
    run = train_now(store, long_iris_id, fast_spec())
    at = open_page("pages/predict.py", dataset_id=long_iris_id)
    at.session_state["run_id"] = run.id
    at.run()
    card = keyed(at, "predict_model_card")
    no_none(shown_cells(card))
    rows = load_sample("iris").drop(columns="target").head(20)
    at.file_uploader(key="predict_upload").upload("new.csv", rows.to_csv(index=False).encode(), "text/csv").run()
    assert not at.exception
    preview = keyed(at, "predict_preview")
    config = column_config(preview)
    for name in LONG_CLASSES:
        column = config[f"probability_{name}"]
        assert column["type_config"]["type"] == "progress", column
        assert len(column["label"]) <= 22 and name in column["help"]
    assert preview.value.filter(like="probability_").notna().all().all()


def test_profile_says_what_its_memory_figure_measures_in_the_reports_units(iris_id):
    at = open_page("pages/profile.py", dataset_id=iris_id)
    [tile] = [m for m in at.metric if m.label == "In memory"]
    assert tile.value.endswith(" KiB")  # iris: a few KiB, in powers of 1024 as the full report counts
    assert "full report" in tile.proto.help


def test_every_metric_declares_the_values_it_can_take():
    from pipeline_core.definition import metrics

    assert set(metrics.BOUNDS) == set(metrics.LABELS)  # a new metric without bounds would draw impossible error bars


def test_drift_shows_a_dash_where_a_column_has_no_ks_test(store, long_iris_id):
    run = train_now(store, long_iris_id, fast_spec())
    at = open_page("pages/predict.py", dataset_id=long_iris_id)
    at.session_state["run_id"] = run.id
    at.run()
    rows = load_sample("iris").drop(columns=["target", "petal length (cm)"]).head(30)
    at.file_uploader(key="predict_upload").upload("partial.csv", rows.to_csv(index=False).encode(), "text/csv").run()
    assert not at.exception
    cells = shown_cells(keyed(at, "predict_drift_table")).set_index("Column")
    no_none(cells)
    assert cells.loc["petal length (cm)", "KS p-value"] == "—"


def test_class_balance_lists_long_class_names_beside_their_bars():
    from pages.features import class_balance_figure

    shown = pd.DataFrame({"class": list(LONG_CLASSES), "rows": [80, 76, 72], "share": [0.35, 0.32, 0.3]})
    figure = class_balance_figure(shown, "Class balance")
    assert figure.data[0].orientation == "h"
    assert all(len(line) <= charts.LABEL_WIDTH for text in figure.layout.yaxis.ticktext for line in text.split("<br>"))

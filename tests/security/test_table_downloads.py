"""Issue 14 point 3: what a table shows is safe to download from Streamlit's table toolbar.

Every ``st.dataframe`` and ``st.data_editor`` has a toolbar "Download as CSV" that writes the cells
as shown, raw; Streamlit 1.67 has no per-table switch for it. So every table on the pages shows user
data through ``pages/common.py`` ``safe_table``, the neutralisation of the app's own CSV downloads.
The test opens every page (and the Predict page with a scored upload) on data whose column names,
values and target labels are formulas, and checks every table element the pages render.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

import storage
from tests.apptest import open_page, store_frame
from tests.security.conftest import train_and_store
from tests.security.test_rendering import PAGES

CMD = "=cmd|' /C calc'!A0"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def formula_frame(n: int = 90) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    return pd.DataFrame({
        CMD: x,
        "@SUM(A1)": rng.choice([CMD, "@SUM(A1)", "+1+1", "-2+3", "\tcmd", "plain", "-5"], n),
        "label": np.where(x + rng.normal(scale=0.5, size=n) > 0, "=yes", "@no"),
    })


def formulas_in(frame: pd.DataFrame) -> list[str]:
    """Column names, index labels and text cells a spreadsheet would run."""
    values = [*map(str, frame.columns), *(v for v in frame.index if isinstance(v, str))]
    values += [v for column in range(frame.shape[1]) for v in frame.iloc[:, column] if isinstance(v, str)]
    return [v for v in values if v.startswith(FORMULA_START) and not PLAIN_NUMBER.match(v)]


def tables(at) -> list[pd.DataFrame]:
    """The data of every table element on the page (``st.dataframe`` and ``st.data_editor`` alike)."""
    return [element.value for element in at.dataframe]


def test_every_table_on_every_page_shows_formulas_neutralised(studio, store):
    frame = formula_frame()
    dataset_id = store_frame(store, frame, "formulas")
    trained = train_and_store(store, frame, "label", dataset_id)
    storage.save_pipeline_version(store, name=CMD, definition={"name": CMD, "target": "label"}, note="@SUM(A1)")
    seen: dict[str, list[pd.DataFrame]] = {}
    for page in PAGES:
        at = open_page(page, dataset_id=dataset_id, run_id=trained.run.id,
                       spec={"target": "label", "name": CMD, "steps": [{"kind": "drop_missing_target"}]})
        assert not at.exception, (page, at.exception)
        seen[page] = tables(at)
    at = open_page("pages/predict.py", dataset_id=dataset_id, run_id=trained.run.id)
    at.file_uploader(key="predict_upload").upload("rows.csv", frame.to_csv(index=False).encode(), "text/csv")
    at.run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    seen["predict with an upload"] = tables(at)
    for where, shown in seen.items():
        for table in shown:
            assert formulas_in(table) == [], (where, formulas_in(table)[:5], list(table.columns))
    every = [table for shown in seen.values() for table in shown]
    assert len(every) >= 8  # the walk really reached the tables
    data_preview = seen["pages/data.py"]
    assert any("'" + CMD in table.columns and "'@SUM(A1)" in table.columns for table in data_preview)
    assert any(table.map(lambda v: v == "'" + CMD).any().any() for table in data_preview)
    assert any("'@SUM(A1)" in set(table.get("Note", [])) for table in seen["pages/pipelines.py"])  # versions
    assert any("'=yes" in set(map(str, table.to_numpy().ravel())) for table in seen["predict with an upload"])
    numbers = [table["'" + CMD] for table in data_preview if "'" + CMD in table.columns]
    assert all(pd.api.types.is_float_dtype(column) for column in numbers)  # numbers stay numbers


def test_the_merge_mapping_editor_shows_names_neutralised_and_maps_back_to_the_real_ones(studio, store):
    """The one editor whose answer is read back: what it shows is neutralised, what it returns is the real name."""
    customers = store_frame(store, pd.DataFrame({"=customer_id": [1, 2, 3], "city": ["a", "b", "c"]}), "customers")
    store_frame(store, pd.DataFrame({"=Customer ID": [1, 1, 3], "@amount": [5.0, 6.0, 7.0]}), "orders")
    at = open_page("pages/data.py", dataset_id=customers)
    shown = at.data_editor(key="data_merge_mapping").value
    assert formulas_in(shown) == []
    assert shown.set_index("second table column").loc["'=Customer ID"].iloc[0] == "'=customer_id"
    at.multiselect(key="data_merge_keys").set_value(["=customer_id"])
    at.button(key="data_merge_run").click().run()
    assert not at.exception, at.exception
    merged = storage.get_dataset(store, at.session_state["dataset_id"])
    assert (merged.format, merged.n_rows, merged.n_columns) == ("merge", 3, 3)

"""Data page: loading (sample, upload, SQL, merge), paging, column types and row filters."""

from __future__ import annotations

import io
import sqlite3

import pandas as pd

import storage
from pages import common
from tests.apptest import open_page, store_frame, texts

PAGE = "pages/data.py"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CSV = b"name,age,city\nann,31,paris\nbob,45,lyon\ncid,27,nice\n"


def test_smoke_with_a_dataset(iris_id):
    at = open_page(PAGE, dataset_id=iris_id)
    assert not at.exception
    assert at.selectbox(key="data_active").value == iris_id


def test_loading_a_sample_stores_it_and_makes_it_active(store):
    at = open_page(PAGE)
    at.selectbox(key="data_sample").set_value("iris")
    at.button(key="data_load_sample").click().run()
    assert not at.exception
    dataset = storage.get_dataset(store, at.session_state["dataset_id"])
    assert (dataset.name, dataset.n_rows, dataset.n_columns) == ("iris", 150, 5)
    assert at.session_state["spec"]["data"]["sha256"] == dataset.sha256


def test_uploading_a_csv_stores_it_and_makes_it_active(store):
    at = open_page(PAGE)
    at.file_uploader(key="data_upload").upload("people.csv", CSV, "text/csv")
    at.run()
    assert not at.exception
    dataset = storage.get_dataset(store, at.session_state["dataset_id"])
    assert (dataset.name, dataset.format, dataset.n_rows) == ("people", "csv", 3)
    assert "Loaded **people.csv**" in texts(at, "success")
    at.run()  # a rerun with the same upload does not store it again
    assert len(storage.list_datasets(store)) == 1


def test_a_png_named_csv_shows_an_error_and_stores_nothing(store):
    at = open_page(PAGE)
    at.file_uploader(key="data_upload").upload("data.csv", PNG, "text/csv")
    at.run()
    assert not at.exception
    assert "PNG image" in texts(at, "error")
    assert at.session_state["dataset_id"] is None
    assert storage.list_datasets(store) == []


def test_the_preview_sends_one_page_of_rows(churn_id):
    at = open_page(PAGE, dataset_id=churn_id)
    table = at.dataframe[0].value
    assert len(table) == 100 and table.index[0] == 0
    at.number_input(key="data_page").set_value(3).run()
    table = at.dataframe[0].value
    assert len(table) == 100 and table.index[0] == 200
    assert any("Rows 201–300 of 2,000" in caption for caption in at.caption.values)


def test_a_type_override_and_a_rename_change_the_spec(iris_id):
    at = open_page(PAGE, dataset_id=iris_id)
    at.session_state["data_columns_editor"] = {
        "edited_rows": {1: {"type": "categorical", "name": "sepal_width"}}, "added_rows": [], "deleted_rows": [],
    }
    at.button(key="data_columns_apply").click().run()
    assert not at.exception
    columns = at.session_state["spec"]["columns"]
    assert columns["types"] == {"sepal_width": "categorical"}
    assert columns["rename"] == {"sepal width (cm)": "sepal_width"}
    assert columns["select"] is None


def test_choosing_and_ordering_columns_writes_select(iris_id):
    at = open_page(PAGE, dataset_id=iris_id)
    at.multiselect(key="data_columns_order").set_value(["target", "petal length (cm)"])
    at.button(key="data_columns_apply").click().run()
    assert at.session_state["spec"]["columns"]["select"] == ["target", "petal length (cm)"]


def test_a_row_filter_adds_a_step_and_counts_the_rows_left(iris_id):
    at = open_page(PAGE, dataset_id=iris_id)
    at.selectbox(key="data_filter_column").set_value("petal length (cm)")
    at.selectbox(key="data_filter_op").set_value(">")
    at.text_input(key="data_filter_value").input("4")
    at.button(key="data_filter_add").click().run()
    assert not at.exception
    step = at.session_state["spec"]["steps"][0]
    assert step == {"kind": "filter_rows", "column": "petal length (cm)", "op": ">", "value": 4}
    assert any("**84 of 150 rows** pass the filters." in m.value for m in at.markdown)


def test_merging_two_datasets_maps_key_names_and_saves_the_result(store):
    customers = store_frame(store, pd.DataFrame({"customer_id": [1, 2, 3], "city": ["a", "b", "c"]}), "customers")
    store_frame(store, pd.DataFrame({"Customer ID": [1, 1, 3], "amount": [5.0, 6.0, 7.0]}), "orders")
    at = open_page(PAGE, dataset_id=customers)
    suggested = at.data_editor(key="data_merge_mapping").value
    assert suggested.set_index("second table column").loc["Customer ID"].iloc[0] == "customer_id"
    at.multiselect(key="data_merge_keys").set_value(["customer_id"])
    at.button(key="data_merge_run").click().run()
    assert not at.exception, at.exception
    merged = storage.get_dataset(store, at.session_state["dataset_id"])
    assert (merged.format, merged.n_rows, merged.n_columns) == ("merge", 3, 3)


def test_the_sql_tab_says_sources_are_off_until_the_administrator_allows_some():
    at = open_page(PAGE)
    assert "has not enabled SQL sources" in texts(at, "info")
    assert not [w for w in at.text_input if w.key == "data_sql_url"]


def test_the_sql_tab_lists_allowed_sources_without_passwords_and_refuses_the_apps_own_database(
        tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_STUDIO_SQL_SOURCES", "postgresql+psycopg://reader:hunter2@db.internal/shop")
    monkeypatch.setenv("PIPELINE_STUDIO_SQL_DIRS", str(tmp_path))  # holds the app's home, which stays private
    at = open_page(PAGE)
    captions = texts(at, "caption")
    assert "db.internal" in captions and "hunter2" not in captions
    at.text_input(key="data_sql_url").input(f"sqlite:///{tmp_path / 'home' / 'studio.db'}")
    at.text_area(key="data_sql_query").input("SELECT * FROM dataset")
    at.button(key="data_sql_run").click().run()
    assert not at.exception
    assert "not available for SQL queries" in texts(at, "error")


def test_a_sql_query_loads_a_table_and_a_write_is_refused(store, tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_STUDIO_SQL_DIRS", str(tmp_path / "shared"))
    path = tmp_path / "shared" / "shop.db"
    path.parent.mkdir()
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE sales (region TEXT, amount REAL)")
        connection.executemany("INSERT INTO sales VALUES (?, ?)", [("north", 1.5), ("south", 2.5)])
    at = open_page(PAGE)
    at.text_input(key="data_sql_url").input(f"sqlite:///{path}")
    at.text_area(key="data_sql_query").input("DELETE FROM sales")
    at.button(key="data_sql_run").click().run()
    assert "Only read queries" in texts(at, "error")
    at.text_area(key="data_sql_query").input("SELECT * FROM sales")
    at.button(key="data_sql_run").click().run()
    assert not at.exception
    dataset = storage.get_dataset(store, at.session_state["dataset_id"])
    assert (dataset.format, dataset.n_rows, dataset.n_columns) == ("sql", 2, 2)


def test_excel_sheets_read_with_other_options_are_stored_separately(store):
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer) as writer:
        pd.DataFrame({"a": [1, 2]}).to_excel(writer, sheet_name="first", index=False)
        pd.DataFrame({"b": [3, 4, 5]}).to_excel(writer, sheet_name="second", index=False)
    at = open_page(PAGE)
    at.file_uploader(key="data_upload").upload("book.xlsx", buffer.getvalue())
    at.run()
    first = storage.get_dataset(store, at.session_state["dataset_id"])
    at.text_input(key="data_sheet").input("second").run()
    second = storage.get_dataset(store, at.session_state["dataset_id"])
    assert not at.exception
    assert (first.n_rows, second.n_rows) == (2, 3)


def test_an_empty_file_shows_an_error():
    at = open_page(PAGE)
    at.file_uploader(key="data_upload").upload("empty.csv", b"", "text/csv")
    at.run()
    assert not at.exception
    assert "'empty.csv' is empty" in texts(at, "error")


def test_a_filter_comparing_a_numeric_column_with_a_word_is_refused(iris_id):
    at = open_page(PAGE, dataset_id=iris_id)
    at.selectbox(key="data_filter_column").set_value("sepal length (cm)")
    at.selectbox(key="data_filter_op").set_value(">")
    at.text_input(key="data_filter_value").input("tall")
    at.button(key="data_filter_add").click().run()
    assert not at.exception
    assert "'tall' is not a number" in texts(at, "error")
    assert at.session_state["spec"] is None or not at.session_state["spec"]["steps"]


def test_a_stored_file_that_went_missing_is_explained_on_every_page(iris_id, studio_home):
    for path in (studio_home / "datasets").glob("*.parquet"):
        path.unlink()
    common._frame_by_hash.clear()  # frames are cached per (id, hash) for the whole process
    for page in ("pages/data.py", "pages/profile.py", "pages/clean.py", "pages/features.py"):
        at = open_page(page, dataset_id=iris_id)
        assert not at.exception, page
        assert "missing" in texts(at, "error"), page


def test_several_files_in_one_upload_are_each_stored_and_the_last_is_active(store):
    at = open_page(PAGE)
    uploader = at.file_uploader(key="data_upload")
    uploader.upload("people.csv", CSV, "text/csv")
    uploader.upload("scores.tsv", b"id\tscore\n1\t0.5\n2\t0.7\n", "text/tab-separated-values")
    at.run()
    assert not at.exception
    assert sorted(d.name for d in storage.list_datasets(store)) == ["people", "scores"]
    assert storage.get_dataset(store, at.session_state["dataset_id"]).name == "scores"

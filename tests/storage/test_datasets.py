from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import storage
from storage import StorageError
from tests.storage.helpers import sha256, small_frame

RAW = b"age,income,city\n31,1000.5,Lyon\n"


def test_save_dataset_records_metadata_and_stores_parquet_by_hash(store, studio: Path) -> None:
    frame = small_frame()
    dataset = storage.save_dataset(store,
        name="customers", file_name="customers.csv", fmt="csv", frame=frame, sha256=sha256(RAW)
    )

    assert (dataset.name, dataset.file_name, dataset.format) == ("customers", "customers.csv", "csv")
    assert (dataset.n_rows, dataset.n_columns) == (4, 3)
    assert dataset.columns == [
        {"name": "age", "dtype": "int64"},
        {"name": "income", "dtype": "float64"},
        {"name": "city", "dtype": "object"},
    ]
    assert dataset.sha256 == sha256(RAW)
    assert dataset.parquet_path == f"datasets/{sha256(RAW)}.parquet"
    parquet = studio / dataset.parquet_path
    assert parquet.stat().st_size == dataset.parquet_size
    assert sha256(parquet.read_bytes()) == dataset.parquet_sha256
    assert dataset.created_at.tzinfo is not None


def test_load_frame_round_trips_the_table(store, studio: Path) -> None:
    frame = small_frame(7)
    dataset = storage.save_dataset(store, name="d", file_name="d.csv", fmt="csv", frame=frame, sha256=sha256(RAW))
    pd.testing.assert_frame_equal(storage.load_frame(store, dataset), frame)
    pd.testing.assert_frame_equal(storage.load_frame(store, dataset.id), frame)


def test_same_upload_twice_is_stored_once_and_returns_the_existing_row(store, studio: Path) -> None:
    first = storage.save_dataset(store, name="a", file_name="a.csv", fmt="csv", frame=small_frame(), sha256=sha256(RAW))
    again = storage.save_dataset(store, name="b", file_name="b.csv", fmt="csv", frame=small_frame(), sha256=sha256(RAW))

    assert again.id == first.id
    assert again.name == "a"
    assert [d.id for d in storage.list_datasets(store)] == [first.id]
    assert len(list((studio / "datasets").iterdir())) == 1


def test_different_uploads_are_listed_newest_first(store, studio: Path) -> None:
    one = storage.save_dataset(store, name="one", file_name="1.csv", fmt="csv",
                               frame=small_frame(), sha256=sha256(b"1"))
    two = storage.save_dataset(store, name="two", file_name="2.csv", fmt="csv",
                               frame=small_frame(2), sha256=sha256(b"2"))
    assert [d.id for d in storage.list_datasets(store)] == [two.id, one.id]
    assert storage.get_dataset(store, one.id).name == "one"
    assert storage.get_dataset(store, 999) is None


def test_load_frame_refuses_a_tampered_parquet_file(store, studio: Path) -> None:
    dataset = storage.save_dataset(store, name="d", file_name="d.csv", fmt="csv",
                                   frame=small_frame(), sha256=sha256(RAW))
    small_frame(5).to_parquet(studio / dataset.parquet_path)

    with pytest.raises(StorageError, match="has changed since it was saved"):
        storage.load_frame(store, dataset)


def test_load_frame_explains_a_missing_file(store, studio: Path) -> None:
    dataset = storage.save_dataset(store, name="d", file_name="d.csv", fmt="csv",
                                   frame=small_frame(), sha256=sha256(RAW))
    (studio / dataset.parquet_path).unlink()

    with pytest.raises(StorageError, match="file for dataset 'd' is missing"):
        storage.load_frame(store, dataset)


def test_uploading_again_repairs_a_dataset_whose_file_was_lost(store, studio: Path) -> None:
    dataset = storage.save_dataset(store, name="d", file_name="d.csv", fmt="csv",
                                   frame=small_frame(), sha256=sha256(RAW))
    (studio / dataset.parquet_path).unlink()

    again = storage.save_dataset(store, name="d", file_name="d.csv", fmt="csv", frame=small_frame(), sha256=sha256(RAW))

    assert again.id == dataset.id
    pd.testing.assert_frame_equal(storage.load_frame(store, again), small_frame())


def test_a_frame_parquet_cannot_hold_gives_a_clear_error_and_leaves_nothing(store, studio: Path) -> None:
    mixed = pd.DataFrame({"x": [1, "two", 3.0]})

    with pytest.raises(StorageError, match="could not be stored as Parquet.*one kind of value"):
        storage.save_dataset(store, name="mixed", file_name="m.csv", fmt="csv", frame=mixed, sha256=sha256(b"m"))

    assert storage.list_datasets(store) == []
    assert list((studio / "datasets").iterdir()) == []


@pytest.mark.parametrize(("name", "digest", "message"), [("  ", sha256(b"x"), "name is empty"), ("d", "abc", "sha256")])
def test_save_dataset_rejects_bad_arguments(store, studio: Path, name: str, digest: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        storage.save_dataset(store, name=name, file_name="d.csv", fmt="csv", frame=small_frame(), sha256=digest)


def test_delete_dataset_removes_row_and_file_but_keeps_its_runs(store, studio: Path) -> None:
    dataset = storage.save_dataset(store, name="d", file_name="d.csv", fmt="csv",
                                   frame=small_frame(), sha256=sha256(RAW))
    run = storage.create_run(store, dataset_id=dataset.id)

    storage.delete_dataset(store, dataset.id)

    assert storage.get_dataset(store, dataset.id) is None
    assert list((studio / "datasets").iterdir()) == []
    assert storage.get_run(store, run.id).dataset_id is None
    with pytest.raises(StorageError, match="Dataset .* does not exist"):
        storage.delete_dataset(store, dataset.id)


def test_the_same_upload_in_two_workspaces_is_two_datasets_over_one_file_and_each_can_go(store, studio: Path) -> None:
    """Issue 19: a dataset is a workspace's; deleting one workspace's copy keeps the file the other still reads."""
    other = storage.create_workspace(store, name="Team B", owner_id=None)
    frame = small_frame()
    mine = storage.save_dataset(store, name="d", file_name="d.csv", fmt="csv", frame=frame, sha256=sha256(RAW))
    theirs = storage.save_dataset(store, name="d", file_name="d.csv", fmt="csv", frame=frame, sha256=sha256(RAW),
                                  workspace_id=other.id)
    assert mine.id != theirs.id and mine.parquet_path == theirs.parquet_path
    assert [d.id for d in storage.list_datasets(store, workspace_id=other.id)] == [theirs.id]
    assert [d.id for d in storage.list_datasets(store, workspace_id=storage.DEFAULT_WORKSPACE_ID)] == [mine.id]

    storage.delete_dataset(store, mine.id)
    pd.testing.assert_frame_equal(storage.load_frame(store, theirs.id), frame)
    storage.delete_dataset(store, theirs.id)
    assert not (studio / theirs.parquet_path).exists()

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import storage
from storage import StorageError
from tests.storage.helpers import sha256, small_frame

RAW = b"age,income,city\n31,1000.5,Lyon\n"


def test_save_dataset_records_metadata_and_stores_parquet_by_hash(studio: Path) -> None:
    frame = small_frame()
    dataset = storage.save_dataset(
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


def test_load_frame_round_trips_the_table(studio: Path) -> None:
    frame = small_frame(7)
    dataset = storage.save_dataset(name="d", file_name="d.csv", fmt="csv", frame=frame, sha256=sha256(RAW))
    pd.testing.assert_frame_equal(storage.load_frame(dataset), frame)
    pd.testing.assert_frame_equal(storage.load_frame(dataset.id), frame)


def test_same_upload_twice_is_stored_once_and_returns_the_existing_row(studio: Path) -> None:
    first = storage.save_dataset(name="a", file_name="a.csv", fmt="csv", frame=small_frame(), sha256=sha256(RAW))
    again = storage.save_dataset(name="b", file_name="b.csv", fmt="csv", frame=small_frame(), sha256=sha256(RAW))

    assert again.id == first.id
    assert again.name == "a"
    assert [d.id for d in storage.list_datasets()] == [first.id]
    assert len(list((studio / "datasets").iterdir())) == 1


def test_different_uploads_are_listed_newest_first(studio: Path) -> None:
    one = storage.save_dataset(name="one", file_name="1.csv", fmt="csv", frame=small_frame(), sha256=sha256(b"1"))
    two = storage.save_dataset(name="two", file_name="2.csv", fmt="csv", frame=small_frame(2), sha256=sha256(b"2"))
    assert [d.id for d in storage.list_datasets()] == [two.id, one.id]
    assert storage.get_dataset(one.id).name == "one"
    assert storage.get_dataset_by_sha256(sha256(b"2")).id == two.id
    assert storage.get_dataset(999) is None


def test_load_frame_refuses_a_tampered_parquet_file(studio: Path) -> None:
    dataset = storage.save_dataset(name="d", file_name="d.csv", fmt="csv", frame=small_frame(), sha256=sha256(RAW))
    small_frame(5).to_parquet(studio / dataset.parquet_path)

    with pytest.raises(StorageError, match="has changed since it was saved"):
        storage.load_frame(dataset)


def test_load_frame_explains_a_missing_file(studio: Path) -> None:
    dataset = storage.save_dataset(name="d", file_name="d.csv", fmt="csv", frame=small_frame(), sha256=sha256(RAW))
    (studio / dataset.parquet_path).unlink()

    with pytest.raises(StorageError, match="file for dataset 'd' is missing"):
        storage.load_frame(dataset)


def test_uploading_again_repairs_a_dataset_whose_file_was_lost(studio: Path) -> None:
    dataset = storage.save_dataset(name="d", file_name="d.csv", fmt="csv", frame=small_frame(), sha256=sha256(RAW))
    (studio / dataset.parquet_path).unlink()

    again = storage.save_dataset(name="d", file_name="d.csv", fmt="csv", frame=small_frame(), sha256=sha256(RAW))

    assert again.id == dataset.id
    pd.testing.assert_frame_equal(storage.load_frame(again), small_frame())


def test_a_frame_parquet_cannot_hold_gives_a_clear_error_and_leaves_nothing(studio: Path) -> None:
    mixed = pd.DataFrame({"x": [1, "two", 3.0]})

    with pytest.raises(StorageError, match="could not be stored as Parquet.*one kind of value"):
        storage.save_dataset(name="mixed", file_name="m.csv", fmt="csv", frame=mixed, sha256=sha256(b"m"))

    assert storage.list_datasets() == []
    assert list((studio / "datasets").iterdir()) == []


@pytest.mark.parametrize(("name", "digest", "message"), [("  ", sha256(b"x"), "name is empty"), ("d", "abc", "sha256")])
def test_save_dataset_rejects_bad_arguments(studio: Path, name: str, digest: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        storage.save_dataset(name=name, file_name="d.csv", fmt="csv", frame=small_frame(), sha256=digest)


def test_delete_dataset_removes_row_and_file_but_keeps_its_runs(studio: Path) -> None:
    dataset = storage.save_dataset(name="d", file_name="d.csv", fmt="csv", frame=small_frame(), sha256=sha256(RAW))
    run = storage.create_run(dataset_id=dataset.id)

    storage.delete_dataset(dataset.id)

    assert storage.get_dataset(dataset.id) is None
    assert list((studio / "datasets").iterdir()) == []
    assert storage.get_run(run.id).dataset_id is None
    with pytest.raises(StorageError, match="Dataset .* does not exist"):
        storage.delete_dataset(dataset.id)

from __future__ import annotations

from pathlib import Path

import pytest

import storage
from storage import StorageError
from tests.storage.helpers import sha256

MODEL = b"\x00skops-zip-bytes" * 64


@pytest.fixture
def run_id(store, studio: Path) -> int:
    return storage.create_run(store, dataset_id=None).id


def test_model_artifact_is_stored_by_content_hash(store, studio: Path, run_id: int) -> None:
    artifact = storage.save_model_artifact(store, run_id=run_id, data=MODEL, fmt="skops", model_name="ridge")

    assert (artifact.run_id, artifact.format, artifact.model_name) == (run_id, "skops", "ridge")
    assert (artifact.sha256, artifact.size) == (sha256(MODEL), len(MODEL))
    assert artifact.path == f"models/{sha256(MODEL)}.skops"
    assert (studio / artifact.path).read_bytes() == MODEL
    assert storage.load_model_bytes(store, artifact) == MODEL
    assert storage.load_model_bytes(store, artifact.id) == MODEL
    assert [a.id for a in storage.list_model_artifacts(store, run_id=run_id)] == [artifact.id]
    assert storage.get_model_artifact(store, artifact.id).sha256 == sha256(MODEL)


def test_tampered_model_file_is_refused(store, studio: Path, run_id: int) -> None:
    artifact = storage.save_model_artifact(store, run_id=run_id, data=MODEL, fmt="skops", model_name="ridge")
    (studio / artifact.path).write_bytes(MODEL + b"injected")

    with pytest.raises(
        StorageError, match="model 'ridge' of run .* has changed since it was saved.*will not be loaded"
    ):
        storage.load_model_bytes(store, artifact)


def test_missing_model_file_is_explained(store, studio: Path, run_id: int) -> None:
    artifact = storage.save_model_artifact(store, run_id=run_id, data=MODEL, fmt="onnx")
    (studio / artifact.path).unlink()
    with pytest.raises(StorageError, match="is missing"):
        storage.load_model_bytes(store, artifact)


def test_identical_models_share_one_file_until_the_last_run_goes(store, studio: Path, run_id: int) -> None:
    other_run = storage.create_run(store, dataset_id=None).id
    first = storage.save_model_artifact(store, run_id=run_id, data=MODEL, fmt="skops")
    second = storage.save_model_artifact(store, run_id=other_run, data=MODEL, fmt="skops")
    assert first.path == second.path and len(list((studio / "models").iterdir())) == 1

    storage.delete_run(store, run_id)
    assert storage.get_run(store, run_id) is None and storage.get_model_artifact(store, first.id) is None
    assert storage.load_model_bytes(store, second) == MODEL

    storage.delete_run(store, other_run)
    assert list((studio / "models").iterdir()) == []


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [(MODEL, "../x", "not a simple file extension"), (MODEL, "", "not a simple"), (b"", "skops", "non-empty bytes")],
)
def test_bad_artifacts_are_refused_without_leaving_files(store,
    studio: Path, run_id: int, data: bytes, fmt: str, message: str
) -> None:
    with pytest.raises(StorageError, match=message):
        storage.save_model_artifact(store, run_id=run_id, data=data, fmt=fmt)
    assert not (studio / "models").exists() or list((studio / "models").iterdir()) == []


def test_artifact_for_a_missing_run_leaves_no_file(store, studio: Path) -> None:
    with pytest.raises(StorageError, match="Run 404 does not exist"):
        storage.save_model_artifact(store, run_id=404, data=MODEL, fmt="skops")
    assert list((studio / "models").iterdir()) == []

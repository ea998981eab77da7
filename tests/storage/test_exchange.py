from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import storage
from storage import StorageError

V1 = {"steps": [{"kind": "impute", "strategy": "mean"}], "models": [{"kind": "ridge"}]}
V2 = {"steps": [{"kind": "impute", "strategy": "median"}], "models": [{"kind": "ridge"}]}


@pytest.fixture
def exported(store, studio: Path) -> dict[str, Any]:
    storage.save_pipeline_version(store, name="houses", definition=V1, note="baseline")
    version = storage.save_pipeline_version(store, name="houses", definition=V2, note="median is robust")
    return storage.export_pipeline(store, version.pipeline_id)


def test_export_holds_every_version_and_survives_json(exported: dict[str, Any]) -> None:
    assert exported["format"] == "pipeline-studio/pipeline" and exported["name"] == "houses"
    assert [(v["version"], v["definition"], v["note"]) for v in exported["versions"]] == [
        (1, V1, "baseline"),
        (2, V2, "median is robust"),
    ]
    assert json.loads(json.dumps(exported)) == exported


def test_import_round_trip_recreates_all_versions_under_a_suffixed_name(store, exported: dict[str, Any]) -> None:
    original = storage.get_pipeline(store, "houses")
    imported = storage.import_pipeline(store, json.loads(json.dumps(exported)))

    assert imported.name == "houses (2)" and imported.id != original.id
    old, new = storage.list_versions(store, original.id), storage.list_versions(store, imported.id)
    assert [(v.version, v.definition, v.note, v.definition_sha256, v.created_at) for v in new] == [
        (v.version, v.definition, v.note, v.definition_sha256, v.created_at) for v in old
    ]
    assert storage.import_pipeline(store, exported).name == "houses (3)"
    assert storage.export_pipeline(store, imported.id)["versions"] == exported["versions"]


def test_import_under_a_new_name(store, exported: dict[str, Any]) -> None:
    assert storage.import_pipeline(store, exported, name="houses from Ana").name == "houses from Ana"


def _broken(exported: dict[str, Any], change: str) -> Any:
    data = copy.deepcopy(exported)
    if change == "not an object":
        return [data]
    if change == "wrong format":
        data["format"] = "something-else"
    elif change == "future version":
        data["format_version"] = 7
    elif change == "no versions":
        data["versions"] = []
    elif change == "definition not a dict":
        data["versions"][1]["definition"] = "steps: impute"
    elif change == "duplicate versions":
        data["versions"][1]["version"] = 1
    elif change == "edited definition":
        data["versions"][0]["definition"]["steps"][0]["strategy"] = "constant"
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("not an object", "expected a JSON object"),
        ("wrong format", "'format' should be 'pipeline-studio/pipeline'"),
        ("future version", "format version 7"),
        ("no versions", "damaged or incomplete: versions: List should have at least 1 item"),
        ("definition not a dict", "versions\\[1\\].definition: Input should be a valid dictionary"),
        ("duplicate versions", "versions \\[1, 1\\]; they must be distinct"),
        ("edited definition", "Version 1 in the export does not match its recorded hash"),
    ],
)
def test_import_explains_what_is_wrong_with_a_bad_file(
    store, exported: dict[str, Any], change: str, message: str
) -> None:
    with pytest.raises(StorageError, match=message):
        storage.import_pipeline(store, _broken(exported, change))
    assert [p.name for p in storage.list_pipelines(store)] == ["houses"]


def test_import_accepts_a_deliberate_edit_without_its_hash(store, exported: dict[str, Any]) -> None:
    data = _broken(exported, "edited definition")
    del data["versions"][0]["definition_sha256"]
    imported = storage.import_pipeline(store, data)
    assert storage.get_version(store, imported.id, version=1).definition["steps"][0]["strategy"] == "constant"


def test_export_of_a_missing_pipeline_is_an_error(store, studio: Path) -> None:
    with pytest.raises(StorageError, match="Pipeline 12 does not exist"):
        storage.export_pipeline(store, 12)

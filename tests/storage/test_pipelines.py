from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlmodel import Session

import storage
from storage import PipelineVersion, StorageError

MEAN = {"schema_version": 1, "steps": [{"kind": "drop", "columns": ["id"]}, {"kind": "impute", "strategy": "mean"}]}
MEDIAN = {"schema_version": 1, "steps": [{"kind": "drop", "columns": ["id"]}, {"kind": "impute", "strategy": "median"}]}


def test_first_save_creates_the_pipeline_at_version_1(store, studio: Path) -> None:
    version = storage.save_pipeline_version(store, name="churn", definition=MEAN, note="first try")

    pipeline = storage.get_pipeline(store, "churn")
    assert pipeline is not None and storage.get_pipeline(store, pipeline.id).name == "churn"
    assert (version.pipeline_id, version.version, version.note) == (pipeline.id, 1, "first try")
    assert version.definition == MEAN
    canonical = json.dumps(MEAN, sort_keys=True, separators=(",", ":"))
    assert version.definition_sha256 == hashlib.sha256(canonical.encode()).hexdigest()


def test_each_changed_save_adds_version_n_plus_1(store, studio: Path) -> None:
    v1 = storage.save_pipeline_version(store, name="churn", definition=MEAN)
    v2 = storage.save_pipeline_version(store, name="churn", definition=MEDIAN)
    v3 = storage.save_pipeline_version(store, name="churn", definition=MEAN, note="back to mean")

    assert [v.version for v in storage.list_versions(store, v1.pipeline_id)] == [1, 2, 3]
    assert v2.pipeline_id == v1.pipeline_id and v3.version == 3
    assert storage.get_version(store, v1.pipeline_id, version=2).definition == MEDIAN
    assert storage.get_version(store, v1.pipeline_id).id == v3.id
    assert storage.get_version_by_id(store, v2.id).version == 2
    assert storage.get_version(store, v1.pipeline_id, version=9) is None


def test_saving_the_latest_definition_again_returns_the_latest_version(store, studio: Path) -> None:
    v1 = storage.save_pipeline_version(store, name="churn", definition=MEAN)
    reordered = json.loads(json.dumps(MEAN, sort_keys=True))
    same = storage.save_pipeline_version(store, name="churn", definition=reordered, note="ignored")

    assert same.id == v1.id
    assert len(storage.list_versions(store, v1.pipeline_id)) == 1


def test_saved_versions_are_immutable(store, studio: Path) -> None:
    definition = json.loads(json.dumps(MEAN))
    v1 = storage.save_pipeline_version(store, name="churn", definition=definition)
    definition["steps"][1]["strategy"] = "most_frequent"
    v1.definition["steps"][1]["strategy"] = "constant"
    storage.save_pipeline_version(store, name="churn", definition=MEDIAN)

    assert storage.get_version(store, v1.pipeline_id, version=1).definition == MEAN
    with Session(storage.get_engine(store.url)) as session:
        row = session.get(PipelineVersion, v1.id)
        row.note = "rewritten"
        with pytest.raises(StorageError, match="read-only; save the change as a new version"):
            session.commit()


def test_diff_versions_summarises_paths_then_shows_a_unified_diff(store, studio: Path) -> None:
    v1 = storage.save_pipeline_version(store, name="churn", definition=MEAN)
    v2 = storage.save_pipeline_version(store, name="churn", definition=MEDIAN)

    lines = storage.diff_versions(v1, v2)

    assert lines[0] == "step 2.strategy: 'mean' → 'median'"  # counted from 1, as the pages number steps
    assert lines[1] == ""
    assert lines[2:4] == ["--- version 1", "+++ version 2"]
    assert '-      "strategy": "mean"' in lines
    assert '+      "strategy": "median"' in lines
    assert storage.diff_versions(v1, v1) == []


def test_diff_reports_an_inserted_step_as_one_addition() -> None:
    inserted = {**MEAN, "steps": [{"kind": "scale"}, *MEAN["steps"]], "target": "churned"}
    summary = storage.summarize_changes(MEAN, inserted)
    assert summary == ['step 1: added {"kind": "scale"}', "target: added 'churned'"]
    assert storage.summarize_changes(inserted, MEAN) == [
        'step 1: removed (was {"kind": "scale"})',
        "target: removed (was 'churned')",
    ]


def test_list_pipelines_is_alphabetical(store, studio: Path) -> None:
    for name in ("zeta", "alpha", "mid"):
        storage.save_pipeline_version(store, name=name, definition=MEAN)
    assert [p.name for p in storage.list_pipelines(store)] == ["alpha", "mid", "zeta"]
    assert storage.get_pipeline(store, "nope") is None


def test_delete_pipeline_removes_versions_and_detaches_runs(store, studio: Path) -> None:
    v1 = storage.save_pipeline_version(store, name="churn", definition=MEAN)
    run = storage.create_run(store, dataset_id=None, pipeline_version_id=v1.id)
    storage.finish_run(store, run.id, status="done", leaderboard=[{"model": "lr", "metrics": {"f1": {"mean": 0.5}}}])

    storage.delete_pipeline(store, v1.pipeline_id)

    assert storage.get_pipeline(store, v1.pipeline_id) is None
    assert storage.list_versions(store, v1.pipeline_id) == []
    kept = storage.get_run(store, run.id)
    assert kept.pipeline_version_id is None and kept.leaderboard[0]["model"] == "lr"
    with pytest.raises(StorageError, match="Pipeline .* does not exist"):
        storage.delete_pipeline(store, v1.pipeline_id)


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (["not", "a", "dict"], "must be a JSON object"),
        ({"when": object()}, "not plain JSON data"),
        ({"threshold": float("nan")}, "no NaN"),
    ],
)
def test_definitions_that_are_not_json_are_refused(store, studio: Path, definition: object, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        storage.save_pipeline_version(store, name="bad", definition=definition)  # type: ignore[arg-type]
    assert storage.list_pipelines(store) == []


def test_diff_counts_list_items_from_one_and_names_other_lists() -> None:
    old = {"columns": {"select": ["a", "b"]}, "models": [{"kind": "ridge"}], "steps": []}
    new = {"columns": {"select": ["a", "c"]}, "models": [{"kind": "lasso"}], "steps": []}
    assert storage.summarize_changes(old, new) == ["columns.select item 2: 'b' → 'c'",
                                                   "model 1.kind: 'ridge' → 'lasso'"]

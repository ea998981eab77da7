"""Every place that keeps a definition opens an old one through the one upgrade path (``load_spec``'s migrations).

A schema 5 regression definition (before target transforms and regression's category codes) is kept as a draft, a
saved version, an imported file and a run's job; each comes back as schema 6 with the old behaviour pinned
(``tests/pipeline_core/test_schema_6_pins.py`` shows it compiles to what schema 5 compiled).
"""

from __future__ import annotations

import json
from pathlib import Path

import storage
from pipeline_core.jobs.job import run_training
from pipeline_core.training.results import leaderboard_rows
from storage.files import resolve
from storage.reporter import RunReporter
from studio import drafts, pipelines, runs
from studio.roles import Actor
from tests.apptest import store_frame
from tests.pipeline_core.frames import house_sales

LOCAL = Actor.local()
V5 = json.loads((Path(__file__).parents[1] / "pipeline_core" / "fixtures" / "spec_v5_regression.json").read_text())


def pinned(spec) -> bool:
    return (spec.schema_version == 9 and {m.target_transform for m in spec.models} == {"none"}
            and [s.boosting for s in spec.steps if s.kind == "onehot"] == ["large"]
            and (spec.open_choices.target_transform, spec.open_choices.one_hot_boosting) == ("none", "large"))


def test_a_schema_5_draft_opens_pinned(store):
    token = drafts.new_token()
    storage.save_draft(store, token, dataset_id=None, definition=V5, context={})
    assert pinned(drafts.open_draft(LOCAL, token).spec)


def test_a_schema_5_saved_version_and_an_imported_file_open_pinned(store):
    version = storage.save_pipeline_version(store, name="houses", definition=V5)
    assert pinned(pipelines.version_spec(version))
    imported = pipelines.import_file(LOCAL, json.dumps(V5).encode(), "houses.json")
    assert pinned(pipelines.version_spec(pipelines.list_versions(LOCAL, imported.id)[-1]))


def test_a_run_of_a_schema_5_definition_trains_and_records_it_pinned(store):
    dataset_id = store_frame(store, house_sales(300), "houses")
    old = {**V5, "models": [{"kind": "hist_gradient_boosting", "params": {"max_iter": 20}}],
           "evaluation": {"cv_folds": 2}}
    run = storage.create_run(store, dataset_id=dataset_id)
    data_path = str(resolve(store.home, storage.get_dataset(store, dataset_id).parquet_path))
    assert run_training(json.dumps(old), data_path, RunReporter(store, run.id)) == "done"
    run = storage.get_run(store, run.id)
    assert [row.target_transform for row in leaderboard_rows(run)] == ["none"]
    assert pinned(runs.run_inputs(LOCAL, run.id).spec)

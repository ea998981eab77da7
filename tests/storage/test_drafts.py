"""Drafts on a real SQLite file: saved under a token, overwritten in place, found again after the engine (the
server) restarts, kept apart per token, migrated up and down."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import inspect

import storage
from storage import StorageError, Store
from storage.db import current_revision, make_engine, upgrade
from tests.storage.helpers import sha256, small_frame
from tests.storage.test_migrations import HEAD, _downgrade

TOKEN = "k3J9x-Qw_7zLmN2pR5tV"


def test_a_draft_is_overwritten_in_place_and_survives_a_restart(store: Store) -> None:
    frame = small_frame()
    dataset = storage.save_dataset(store, name="d", file_name="d.csv", fmt="csv", frame=frame, sha256=sha256(b"d"))
    first = storage.save_draft(store, TOKEN, dataset_id=dataset.id, definition={"target": "a"},
                               context={"pipeline_name": "churn"})
    second = storage.save_draft(store, TOKEN, dataset_id=dataset.id, definition={"target": "b", "steps": []},
                                context={"pipeline_name": "churn v2", "run_id": 3})
    assert (first.id, first.revision, second.id, second.revision) == (first.id, 1, first.id, 2)
    storage.reset_engines()  # a new server process opens the same file
    found = storage.get_draft(store, TOKEN)
    assert (found.dataset_id, found.definition, found.context, found.revision) == (
        dataset.id, {"target": "b", "steps": []}, {"pipeline_name": "churn v2", "run_id": 3}, 2)
    assert storage.get_draft(store, "another-token-0000000") is None


def test_deleting_the_dataset_keeps_the_draft(store: Store) -> None:
    dataset = storage.save_dataset(store, name="d", file_name="d.csv", fmt="csv", frame=small_frame(),
                                   sha256=sha256(b"x"))
    storage.save_draft(store, TOKEN, dataset_id=dataset.id, definition={"target": "a"}, context={})
    storage.delete_dataset(store, dataset.id)
    draft = storage.get_draft(store, TOKEN)
    assert (draft.dataset_id, draft.definition) == (None, {"target": "a"})


@pytest.mark.parametrize("token", ["", "short", "../../etc/passwd-000000", "x" * 65, "a b c d e f g h i j k"])
def test_a_malformed_token_is_refused_in_one_line(store: Store, token: str) -> None:
    with pytest.raises(StorageError, match="malformed"):
        storage.get_draft(store, token)
    with pytest.raises(StorageError, match="malformed"):
        storage.save_draft(store, token, dataset_id=None, definition={}, context={})


def test_two_tabs_saving_one_new_draft_at_once_make_one_row(store: Store) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def tab(n: int) -> None:
        try:
            barrier.wait()
            storage.save_draft(store, TOKEN, dataset_id=None, definition={"n": n}, context={})
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=tab, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert storage.get_draft(store, TOKEN).revision == 8


def test_0007_adds_drafts_and_drops_them_again(sqlite_store: Store) -> None:
    old = make_engine(sqlite_store.url)
    upgrade(old, "0006")
    assert "drafts" not in inspect(old).get_table_names()
    old.dispose()
    storage.save_draft(sqlite_store, TOKEN, dataset_id=None, definition={"a": 1}, context={})
    assert current_revision(storage.get_engine(sqlite_store.url)) == HEAD
    storage.reset_engines()
    engine = make_engine(sqlite_store.url)
    _downgrade(engine, "0006")
    assert "drafts" not in inspect(engine).get_table_names()

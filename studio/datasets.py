"""Datasets: store a table read from an upload, a sample, a merge or a SQL query; list, load and preview them.

Each use case takes the :class:`~studio.roles.Actor` and checks its role first (storing takes an editor, reading a
viewer); a dataset of another workspace is "not found".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

import storage
from pipeline_core.errors import DataError
from pipeline_core.io.frames import JoinHow, merge_frames, stored_table_sha256
from pipeline_core.io.readers import ReadResult, read_table
from pipeline_core.io.samples import load_sample
from pipeline_core.io.stabilise import clean_column_names
from storage import Dataset
from storage.sql_source import read_sql_query
from studio.audit_log import EventKind, record
from studio.limits import check_can_store
from studio.roles import Action, Actor, NotFound, check_same_workspace, require
from studio.settings import settings
from studio.workspace import current_store, open_store

PREVIEW_ROWS = 200


@dataclass(frozen=True)
class UploadOptions:
    """How to read an uploaded file; ``None`` means detect it from the content."""

    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | None = None

    def chosen(self) -> list[tuple[str, str | None]]:
        """The options as sorted pairs, when any is set (they are part of the stored table's identity)."""
        pairs = sorted({"delimiter": self.delimiter, "encoding": self.encoding, "sheet": self.sheet}.items())
        return pairs if any(value for _, value in pairs) else []


@dataclass(frozen=True)
class Loaded:
    """A stored dataset and what happened on the way (repaired names, dropped blank rows, the join made…)."""

    dataset: Dataset
    notices: list[str] = field(default_factory=list)


def save_table(actor: Actor, frame: pd.DataFrame, *, name: str, file_name: str, fmt: str, sha256: str) -> Dataset:
    """Store a parsed table in the actor's workspace once per source hash (the same file uploaded twice is one
    dataset there), owned by the actor and within their storage limit (:mod:`studio.limits`)."""
    config = settings()
    store = open_store(config)
    require(store, actor, Action.UPLOAD)
    max_bytes = check_can_store(store, actor, config)
    dataset = storage.save_dataset(store, name=name, file_name=file_name, fmt=fmt, frame=frame, sha256=sha256,
                                   workspace_id=actor.workspace_id, owner_id=actor.user_id, max_owner_bytes=max_bytes)
    record(store, actor, EventKind.UPLOAD, f"dataset #{dataset.id} '{dataset.name}'",
           f"{file_name}: {dataset.n_rows:,} rows x {dataset.n_columns} columns")
    return dataset


def read_upload(data: bytes, file_name: str, options: UploadOptions | None = None) -> ReadResult:
    """Parse an uploaded file, its format told by its content, within the server's memory budget."""
    options = options or UploadOptions()
    return read_table(data, file_name, delimiter=options.delimiter, encoding=options.encoding, sheet=options.sheet,
                      memory_budget_bytes=settings().memory_budget_bytes,
                      budget_setting="PIPELINE_STUDIO_MEMORY_BUDGET_MB")


def ingest_upload(actor: Actor, data: bytes, file_name: str, options: UploadOptions | None = None) -> Loaded:
    """Parse an uploaded file (as :func:`read_upload`) and store it.

    Other reading options give another table from the same bytes, so they change its identity.
    """
    options = options or UploadOptions()
    config = settings()
    require(open_store(config), actor, Action.UPLOAD)  # before parsing: a viewer's upload is refused at once
    check_can_store(open_store(config), actor, config)  # so is one whose files fill their storage
    result = read_upload(data, file_name, options)
    sha256 = result.sha256
    if options.chosen():
        sha256 = hashlib.sha256(f"{sha256}|{options.chosen()}".encode()).hexdigest()
    stem = file_name.rsplit(".", 1)[0] or file_name
    dataset = save_table(actor, result.frame, name=stem, file_name=file_name, fmt=result.format, sha256=sha256)
    return Loaded(dataset, list(result.notices))


def load_sample_dataset(actor: Actor, name: str) -> Dataset:
    """Store one of the bundled sample tables (generated here: no download)."""
    frame = load_sample(name)
    return save_table(actor, frame, name=name, file_name=f"{name} (sample)", fmt="sample",
                      sha256=stored_table_sha256(frame))


def merge_datasets(actor: Actor, left: Dataset, right: Dataset, *, keys: list[str], mapping: dict[str, str],
                   how: JoinHow, name: str, load: Callable[[Dataset], pd.DataFrame] | None = None) -> Loaded:
    """Join two stored tables on ``keys`` (``mapping`` renames the second table's columns first) and store it.

    ``load`` reads a stored table (default: from the store; a page passes its cache).
    """
    require(current_store(), actor, Action.UPLOAD)
    for dataset in (left, right):
        check_same_workspace(actor, "dataset", dataset.id, dataset.workspace_id)
    load = load or (lambda dataset: load_table(actor, dataset))
    merged = merge_frames(load(left), load(right), on=keys, mapping=mapping, how=how)
    if merged.empty:
        raise DataError("The merge has no rows: no key value is in both tables; check the keys.")
    dataset = save_table(actor, merged, name=name or "merged", file_name=f"{left.file_name} ⋈ {right.file_name}",
                         fmt="merge", sha256=stored_table_sha256(merged))
    return Loaded(dataset, [f"Merged on {', '.join(keys)} ({how} join): {len(merged):,} rows × {merged.shape[1]}."])


def import_query(actor: Actor, url: str, query: str, name: str) -> Dataset:
    """Run a read-only query on a SQL database and store the result as a dataset.

    Only databases the administrator allows (settings), never the app's own store, within the time limit and
    the memory budget: storage cannot read the settings itself, so the policy is passed down here.
    """
    require(current_store(), actor, Action.UPLOAD)
    frame = read_sql_query(url, query, policy=settings().sql_policy())
    if frame.empty:
        raise DataError("The query returned no rows; nothing was stored.")
    frame.columns, _ = clean_column_names(list(frame.columns))
    return save_table(actor, frame, name=name or "query result", file_name="SQL query", fmt="sql",
                      sha256=stored_table_sha256(frame))


def get_dataset(actor: Actor, dataset_id: int) -> Dataset | None:
    """The dataset, or ``None`` when it does not exist or is another workspace's (an id in an address)."""
    store = current_store()
    require(store, actor, Action.READ)
    row = storage.get_dataset(store, dataset_id)
    return row if row is not None and row.workspace_id == actor.workspace_id else None


def list_datasets(actor: Actor) -> list[Dataset]:
    """The actor's workspace's datasets, newest first."""
    store = current_store()
    require(store, actor, Action.READ)
    return storage.list_datasets(store, workspace_id=actor.workspace_id)


def _readable(actor: Actor, dataset: Dataset | int) -> Dataset:
    key = dataset.id if isinstance(dataset, Dataset) else dataset
    row = get_dataset(actor, key) if key is not None else None
    if row is None:
        raise NotFound(f"dataset {key} was not found in this workspace (it may have been deleted)")
    return row


def load_table(actor: Actor, dataset: Dataset | int) -> pd.DataFrame:
    """The whole stored table, checked against the hash recorded when it was saved."""
    return storage.load_frame(current_store(), _readable(actor, dataset))


def preview_rows(actor: Actor, dataset: Dataset | int, rows: int = PREVIEW_ROWS) -> pd.DataFrame:
    """The first ``rows`` rows, without building the whole table in memory."""
    return storage.load_rows(current_store(), _readable(actor, dataset), rows)

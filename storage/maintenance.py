"""Start-up duties: bring the schema to head and tidy files left by a crash.

Call :func:`init_db` once when the app (or CLI) starts. Repository calls also migrate on
first use, so forgetting it loses only the file clean-up, never data.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session, select

from storage import files
from storage.db import get_engine, read
from storage.models import Dataset, ModelArtifact
from storage.store import Store

_log = logging.getLogger(__name__)


def _referenced_files(store: Store) -> dict[str, str]:
    """Relative path → sha256 of every file a row points at."""

    def work(session: Session) -> dict[str, str]:
        found = dict(session.exec(select(Dataset.parquet_path, Dataset.parquet_sha256)).all())
        found.update(session.exec(select(ModelArtifact.path, ModelArtifact.sha256)).all())
        return found

    return read(store, work)


def cleanup_orphans(store: Store) -> int:
    """Finish or undo file operations cut short by a crash; returns how many files were fixed.

    * a temp or trash file whose row committed but which never reached its final name (the
      process died between commit and rename) is moved into place when its hash matches;
    * any other abandoned temp or trash file is deleted (its row never committed);
    * a final-name file no row refers to is deleted (a delete died after its commit).

    Files being written by live processes are left alone (see :func:`storage.files.stale_temp_files`),
    and so is what the disk refuses to change (a read-only store): the app still starts and reads,
    and the next start with a writable store finishes the job.
    """
    stored = files.stored_files(store.home)
    referenced = _referenced_files(store)
    fixed = 0
    for temp in files.stale_temp_files(store.home):
        expected = referenced.get(temp.relpath)
        if not temp.final.exists() and expected and files.sha256_file(temp.path) == expected:
            fixed += _tidy(temp.path, lambda path=temp.path, final=temp.final: os.replace(path, final))
        else:
            fixed += _tidy(temp.path, lambda path=temp.path: path.unlink(missing_ok=True))
    for relpath in stored:
        if relpath not in referenced:
            path = files.resolve(store.home, relpath)
            fixed += _tidy(path, lambda path=path: path.unlink(missing_ok=True))
    return fixed


def _tidy(path: Path, change: Callable[[], object]) -> int:
    """1 when ``change`` to ``path`` worked, 0 (and a log line) when the disk refused it."""
    try:
        change()
    except OSError as e:
        _log.warning("Left %s as it is: %s", path, e.strerror or e)
        return 0
    return 1


def init_db(store: Store) -> int:
    """Migrate ``store``'s database to head and clean up its files.

    Returns the number of files :func:`cleanup_orphans` fixed, which a start-up log may report.
    """
    get_engine(store.url)  # migrates the schema to head
    return cleanup_orphans(store)

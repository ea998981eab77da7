"""Opening the store a server works on: the database and the data directory, from the settings.

Storage takes its :class:`~storage.Store` as an argument and reads no environment; this module is where
the application turns :mod:`studio.settings` into that store. :func:`current_store` is what the use cases
call: it re-reads the settings (cheap, and a test that changes the environment is seen at once) but hands
back the same ``Store`` for the same database and home, so nothing is rebuilt per call and the engine,
cached per URL by storage, is reused.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import storage
from storage import Store
from studio.settings import Settings, settings


@dataclass(frozen=True)
class Workspace:
    """Where this process keeps its work; the two strings identify the store (a cache key for the app)."""

    database_url: str
    home: str

    @property
    def store(self) -> Store:
        return _store(self.database_url, self.home)


@lru_cache(maxsize=32)
def _store(url: str, home: str) -> Store:
    return Store(url=url, home=Path(home))


def open_store(config: Settings) -> Store:
    """The store the settings name (``DATABASE_URL`` or ``<home>/studio.db``, and ``PIPELINE_STUDIO_HOME``)."""
    return _store(config.resolved_database_url, str(config.resolved_home))


def current_store() -> Store:
    """The store in force for this process now: :func:`open_store` of the current settings."""
    return open_store(settings())


def current_workspace() -> Workspace:
    """The store in force for this process, as the app's cache key."""
    store = current_store()
    return Workspace(database_url=store.url, home=str(store.home))


def prepare_workspace(workspace: Workspace) -> int:
    """Migrate the schema and finish or undo file writes a crash cut short; returns the files tidied.

    Run once per server process and store, before the first page reads anything: a killed save then
    leaves no row without its file and no file without its row.
    """
    return storage.init_db(workspace.store)

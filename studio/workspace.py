"""Opening the store a server works on: the database and the data directory, from the settings.

Storage takes its :class:`~storage.Store` as an argument and reads no environment; this module is where
the application turns :mod:`studio.settings` into that store. A ``Store`` is two plain values that compare
and hash by value, so building it per call costs nothing and the engine, cached per URL by storage, is reused.
"""

from __future__ import annotations

import storage
from storage import Store
from studio.settings import Settings, settings


def open_store(config: Settings) -> Store:
    """The store the settings name (``DATABASE_URL`` or ``<home>/studio.db``, and ``PIPELINE_STUDIO_HOME``)."""
    return Store(url=config.resolved_database_url, home=config.resolved_home)


def current_store() -> Store:
    """The store in force for this process now: :func:`open_store` of the current settings."""
    return open_store(settings())


def prepare_store(store: Store) -> int:
    """Migrate the schema and finish or undo file writes a crash cut short; returns the files tidied.

    Run once per server process and store, before the first page reads anything: a killed save then
    leaves no row without its file and no file without its row.
    """
    return storage.init_db(store)

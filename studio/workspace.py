"""Opening the store a server works on: the database and the data directory."""

from __future__ import annotations

from dataclasses import dataclass

import storage


@dataclass(frozen=True)
class Workspace:
    """Where this process keeps its work; the two strings identify the store (a cache key for the app)."""

    database_url: str
    home: str


def current_workspace() -> Workspace:
    """The store in force for this process."""
    return Workspace(database_url=storage.database_url(), home=str(storage.studio_home()))


def prepare_workspace(workspace: Workspace) -> int:
    """Migrate the schema and finish or undo file writes a crash cut short; returns the files tidied.

    Run once per server process and store, before the first page reads anything: a killed save then
    leaves no row without its file and no file without its row.
    """
    return storage.init_db(workspace.database_url)

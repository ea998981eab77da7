"""The store a repository call works on: one database and one data directory, passed explicitly.

Before this object the database URL and the home directory were process-wide (a module global and two
environment variables), so a Dask worker had to rewrite its environment to reach the right studio and a
test could not hold two stores at once. A :class:`Store` is two plain values: it pickles to a worker and
compares and hashes by value (a cache key). It holds no connection: :func:`storage.db.get_engine` keeps
one engine per URL, migrated on first use, so every store on the same database shares one pool (and this
module imports nothing of storage, so the engine code can name it without a cycle). Building it from the
environment is the application's job (``studio.workspace``), not this layer's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DB_FILE = "studio.db"


def sqlite_url(home: Path) -> str:
    """The default database of a home directory: the SQLite file ``<home>/studio.db``."""
    return f"sqlite:///{Path(home).expanduser().resolve() / DB_FILE}"


@dataclass(frozen=True)
class Store:
    """Where a studio keeps its data: ``url`` (any SQLAlchemy URL) and ``home`` (datasets and models).

    ``home`` is made absolute here, so stored relative paths resolve the same in every process whatever
    its working directory.
    """

    url: str
    home: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home).expanduser().resolve())

    @classmethod
    def at(cls, home: Path | str, url: str | None = None) -> Store:
        """The store of ``home``, on ``url`` when given, else on the SQLite file in ``home``."""
        return cls(url=url or sqlite_url(Path(home)), home=Path(home))

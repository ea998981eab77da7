"""The failures a caller of the application layer shows to the user as a message, not a traceback.

``StudioError`` covers bad data, definitions and models (from the core); ``StorageError`` covers the
store (a deleted row, a full disk, a database that cannot be reached). Catching :data:`FAILURES` is
how a page, the CLI or the service turns either into one plain line.
"""

from __future__ import annotations

from pipeline_core.errors import DataError, ModelError, SpecError, StudioError
from storage.errors import StorageError

FAILURES: tuple[type[Exception], ...] = (StudioError, StorageError)

__all__ = ["FAILURES", "DataError", "ModelError", "SpecError", "StorageError", "StudioError"]

"""Migrations of pipeline definitions between schema versions.

Each entry upgrades a definition dict from version N to N+1. Version 1 is the first
public schema, so the table is empty; the mechanism (and its error for versions from
the future) is what callers rely on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline_core.errors import SpecError

CURRENT_VERSION = 1
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Upgrade ``data`` to the current schema version, one registered step at a time."""
    version = data.get("schema_version", CURRENT_VERSION)
    if not isinstance(version, int) or version < 1:
        raise SpecError(f"schema_version: expected a positive integer, got {version!r}")
    if version > CURRENT_VERSION:
        raise SpecError(
            f"schema_version: this definition was written by a newer Pipeline Studio "
            f"(schema {version}); this one reads up to {CURRENT_VERSION}. Upgrade to open it."
        )
    while version < CURRENT_VERSION:
        data = MIGRATIONS[version](dict(data))
        version += 1
        data["schema_version"] = version
    return data

"""The caller's reading options as one value, handed from ``read_table`` to every format reader.

``readers.py`` decides them once (display name, memory budget) and imports the format readers;
the options live apart so those readers can take them without importing ``readers.py`` back.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ReadOptions:
    """What ``read_table`` was asked for: the file's display name, sheet, overrides, row limit, budget in bytes."""

    name: str
    sheet: str | int | None
    delimiter: str | None
    encoding: str | None
    max_rows: int | None
    budget: int
    budget_setting: str = "the memory budget"  # what the administrator or user changes to raise it

"""A bundle's ``schema.json``: the columns a model reads and example rows, as typed, validated data.

Its own module because both the bundle writer and the README it writes read it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict


class SchemaColumn(BaseModel):
    """One column the model reads: its name in the data, semantic type, training dtype, allowed levels."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    type: str
    dtype: str | None = None
    levels: list[str] | None = None


class BundleSchema(BaseModel):
    """The model's input: the columns in order, what it predicts, and example rows from the training data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: int = 1
    task: str | None = None
    target: str | None = None
    classes: list[Any] | None = None
    columns: list[SchemaColumn]
    examples: list[dict[str, Any]]

    def example_frame(self) -> pd.DataFrame:
        """The example rows as a frame with the training dtypes where they can be restored."""
        frame = pd.DataFrame(self.examples, columns=[c.name for c in self.columns])
        for column in self.columns:
            if column.dtype and column.dtype.startswith("datetime"):
                frame[column.name] = pd.to_datetime(frame[column.name], errors="coerce")
        return frame

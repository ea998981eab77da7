"""Ground truth for logged predictions: the true outcome of a row, named by the request id and row id the
service (or a batch run) gave it, and the report of joining a set of outcomes to the log.

Outcomes arrive later than predictions (a loan defaults months after it was scored), as a file or as
``POST /feedback``. Both are read here into :class:`Outcome` values, with a one-line :class:`DataError`
naming the row at fault; storing and joining them is the application layer's, which answers a
:class:`GroundTruthReport`: how many outcomes matched a logged row, and which ids matched none, so a typo in
an id column shows up as a count and examples instead of rows silently missing from the live metrics.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from pipeline_core.errors import DataError
from pipeline_core.serving.prediction_log import json_value

REQUEST_ID = "request_id"
ROW_ID = "row_id"
OUTCOME = "outcome"
MAX_ID_LENGTH = 128
EXAMPLES = 10


class Outcome(BaseModel):
    """The true outcome of row ``row_id`` (its position in the request, from 0) of request ``request_id``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    row_id: int = Field(ge=0)
    outcome: str | int | float | bool


class FeedbackBody(BaseModel):
    """The JSON body of ``POST /feedback``."""

    model_config = ConfigDict(extra="forbid")

    outcomes: list[Outcome] = Field(min_length=1)


class RowKey(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    row_id: int


class GroundTruthReport(BaseModel):
    """What one upload of outcomes did: ``received`` outcomes stored (a repeated id replaces the earlier
    outcome), ``matched`` of them name a logged prediction, ``unmatched`` name none (up to
    ``EXAMPLES`` of those ids in ``unmatched_examples``). Unmatched outcomes are kept too: a prediction still
    on its way to the log, or from another service, matches them when it arrives."""

    received: int
    matched: int
    unmatched: int
    unmatched_examples: list[RowKey]

    def summary(self) -> str:
        """One line for a terminal or a page."""
        line = f"stored {self.received:,} outcome(s): {self.matched:,} matched a logged prediction"
        if self.unmatched:
            shown = ", ".join(f"{k.request_id}/{k.row_id}" for k in self.unmatched_examples)
            line += f"; {self.unmatched:,} matched none (request_id/row_id, e.g. {shown})"
        return line


FeedbackSink = Callable[[list[Outcome]], GroundTruthReport]


def outcomes_from_frame(frame: pd.DataFrame, outcome_column: str = OUTCOME, *, what: str = "the file") \
        -> list[Outcome]:
    """The outcomes of a table with ``request_id``, ``row_id`` and ``outcome_column`` columns (others ignored).

    Raises :class:`DataError` naming the missing column or the first bad row (1-based, as a spreadsheet
    shows it), so the file can be fixed and sent again.
    """
    missing = [c for c in (REQUEST_ID, ROW_ID, outcome_column) if c not in frame.columns]
    if missing:
        raise DataError(f"{what} lacks column(s) {', '.join(repr(c) for c in missing)}; ground truth needs "
                        f"'{REQUEST_ID}', '{ROW_ID}' and the outcome column ('{outcome_column}')")
    if frame.empty:
        raise DataError(f"{what} holds no rows")
    found = []
    for i, (request, row, value) in enumerate(zip(frame[REQUEST_ID], frame[ROW_ID], frame[outcome_column],
                                                  strict=True), start=1):
        found.append(_outcome(i, request, row, value, outcome_column, what))
    return found


def _outcome(i: int, request: Any, row: Any, value: Any, outcome_column: str, what: str) -> Outcome:
    request = json_value(request)
    if request is None or str(request).strip() == "":
        raise DataError(f"row {i} of {what} has no {REQUEST_ID}")
    request = str(request).strip()
    if len(request) > MAX_ID_LENGTH:
        raise DataError(f"row {i} of {what}: the {REQUEST_ID} is longer than {MAX_ID_LENGTH} characters")
    row = json_value(row)
    if isinstance(row, float) and row.is_integer():
        row = int(row)
    if isinstance(row, str) and row.strip().isdigit():
        row = int(row.strip())
    if not isinstance(row, int) or isinstance(row, bool) or row < 0:
        raise DataError(f"row {i} of {what}: {ROW_ID} must be a whole number from 0, got {row!r}")
    value = json_value(value)
    if value is None or isinstance(value, float) and not math.isfinite(value):
        raise DataError(f"row {i} of {what} has no value in '{outcome_column}'")
    if not isinstance(value, str | int | float | bool):
        value = str(value)
    return Outcome(request_id=request, row_id=row, outcome=value)

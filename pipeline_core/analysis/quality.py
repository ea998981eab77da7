"""The data-quality report: how many rows break each rule of the definition, with examples.

The rules themselves are part of the pipeline definition (:mod:`pipeline_core.definition.rules`);
this module evaluates them on a frame: :func:`check` gives one row per rule (violations, share, a few
example rows and values, so a data scientist can find them), :func:`row_violations` one record per
broken (row, rule) for a scoring response, and :func:`rules_of` reads the rules a saved model carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline_core.definition.rules import (
    MAX_PATTERN_LENGTH,
    MAX_VALUE_LENGTH,
    RULE_TYPES,
    RULES,
    AllowedValues,
    InRange,
    NotNull,
    Pattern,
    Rule,
    RuleSpec,
    Unique,
    parse_rules,
)
from pipeline_core.errors import DataError

N_EXAMPLES = 5
REPORT_COLUMNS = ["rule", "column", "violations", "share", "example_rows", "example_values"]

__all__ = [
    "MAX_PATTERN_LENGTH", "MAX_VALUE_LENGTH", "N_EXAMPLES", "REPORT_COLUMNS", "RULES", "RULE_TYPES", "AllowedValues",
    "InRange", "NotNull", "Pattern", "Rule", "RowViolation", "RuleSpec", "Unique", "check", "parse_rules",
    "raw_target", "row_violations", "rules_of", "scoring_rules", "violating_rows",
]


def check(frame: pd.DataFrame, rules: list[Rule], *, missing: str = "raise") -> pd.DataFrame:
    """One report row per rule: violations count and share, and example row indices and values.

    On the data a pipeline is built from, a rule on an absent column is a mistake in the rules
    (``missing="raise"``). On a file being scored it is a fact about that file (``missing="report"``):
    every row counts as breaking the rule and the examples say the column is absent.
    """
    absent = sorted({r.column for r in rules if r.column not in frame.columns})
    if absent and missing == "raise":
        raise DataError(f"quality rules refer to column(s) not in the data: {', '.join(absent)}; remove those rules")
    rows = [_report_row(frame[rule.column], rule) if rule.column in frame.columns else _absent_row(rule, len(frame))
            for rule in rules]
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


def _report_row(values: pd.Series, rule: Rule) -> dict[str, Any]:
    mask = rule.violations(values).fillna(False).astype(bool)
    bad = values[mask]
    examples = bad.head(N_EXAMPLES)
    return {
        "rule": rule.describe(),
        "column": rule.column,
        "violations": int(mask.sum()),
        "share": float(mask.mean()) if len(mask) else 0.0,
        "example_rows": ", ".join(str(i) for i in examples.index),
        "example_values": ", ".join(_short(v) for v in examples),
    }


def violating_rows(frame: pd.DataFrame, rule: Rule, limit: int = 100) -> pd.DataFrame:
    """The first ``limit`` rows that break ``rule`` (all columns), for a closer look."""
    if rule.column not in frame.columns:
        raise DataError(f"column '{rule.column}' is not in the data")
    mask = rule.violations(frame[rule.column]).fillna(False).astype(bool)
    return frame[mask].head(limit)


def _short(value: Any, width: int = 40) -> str:
    text = "missing" if pd.isna(value) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _absent_row(rule: Rule, n_rows: int) -> dict[str, Any]:
    return {"rule": rule.describe(), "column": rule.column, "violations": n_rows, "share": 1.0 if n_rows else 0.0,
            "example_rows": "", "example_values": "the column is not in this file"}


@dataclass(frozen=True)
class RowViolation:
    """One rule broken by one row: what a scoring response reports next to that row's prediction."""

    row: int
    rule: str
    column: str


def row_violations(frame: pd.DataFrame, rules: list[Rule]) -> list[RowViolation]:
    """Every (row position, rule) pair where the row breaks the rule, in row order.

    A rule whose column the frame lacks is broken by every row. Rules that compare rows with each other
    (unique) are judged within ``frame``: a scored batch, not the training data.
    """
    found: list[tuple[int, int, RowViolation]] = []
    for order, rule in enumerate(rules):
        if rule.column in frame.columns:
            mask = rule.violations(frame[rule.column]).fillna(False).astype(bool).to_numpy()
            positions = mask.nonzero()[0]
        else:
            positions = range(len(frame))
        found += [(int(i), order, RowViolation(int(i), rule.describe(), rule.column)) for i in positions]
    return [v for _, _, v in sorted(found, key=lambda item: item[:2])]


def rules_of(metadata: Mapping[str, Any]) -> list[Rule]:
    """The quality rules a saved model's definition carries (none for models saved before rules travelled)."""
    definition = metadata.get("definition") or {}
    return parse_rules(list(definition.get("rules") or []))


def raw_target(metadata: Mapping[str, Any]) -> str | None:
    """The target's name in the raw file (rules name raw columns; ``metadata["target"]`` is the renamed one)."""
    definition = metadata.get("definition") or {}
    target = metadata.get("target")
    rename = ((definition.get("columns") or {}).get("rename") or {}) if isinstance(definition, Mapping) else {}
    return next((raw for raw, new in rename.items() if new == target), target)


def scoring_rules(metadata: Mapping[str, Any], frame: pd.DataFrame) -> list[Rule]:
    """The rules to check on a file being scored: all of the model's, except rules on the target when the file
    has no target column (new rows to predict never do, and every row would "break" them)."""
    target = raw_target(metadata)
    return [rule for rule in rules_of(metadata) if not (rule.column == target and rule.column not in frame)]

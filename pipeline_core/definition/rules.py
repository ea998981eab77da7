"""Data-quality rules: part of the pipeline definition, so they are versioned, diffed, exported and checked
wherever the model scores data (the Predict page, batch scoring, the scoring service).

A rule is a small pydantic model with a ``kind`` tag, so a list of rules is plain JSON. Each rule gives a
boolean mask of the rows that break it; :mod:`pipeline_core.analysis.quality` turns masks into reports. Rules
never ``eval`` user text; regular expressions are length-capped and patterns with nested repetition are
refused, because Python's ``re`` has no timeout and such patterns can take exponential time.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal, Union

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from pipeline_core.errors import SpecError

MAX_PATTERN_LENGTH = 300
MAX_VALUE_LENGTH = 1_000  # longer values are reported as violations instead of being matched


class Rule(BaseModel):
    """Base of all rules: ``violations`` returns a boolean mask of the rows that break it."""

    model_config = ConfigDict(extra="forbid")
    label: ClassVar[str] = ""
    column: str = Field(min_length=1)

    def violations(self, values: pd.Series) -> pd.Series:
        raise NotImplementedError

    def describe(self) -> str:
        return self.label


class NotNull(Rule):
    kind: Literal["not_null"] = "not_null"
    label: ClassVar[str] = "Not missing"

    def violations(self, values: pd.Series) -> pd.Series:
        return values.isna()


class InRange(Rule):
    """Numbers between ``min`` and ``max`` (inclusive); missing values are not checked."""

    kind: Literal["range"] = "range"
    label: ClassVar[str] = "In range"
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> InRange:
        if self.min is None and self.max is None:
            raise ValueError("give a minimum, a maximum or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"the minimum {self.min} is above the maximum {self.max}")
        return self

    def violations(self, values: pd.Series) -> pd.Series:
        numbers = pd.to_numeric(values, errors="coerce")
        bad = values.notna() & numbers.isna()  # present but not a number
        if self.min is not None:
            bad |= numbers < self.min
        if self.max is not None:
            bad |= numbers > self.max
        return bad

    def describe(self) -> str:
        low = "-∞" if self.min is None else f"{self.min:g}"
        high = "+∞" if self.max is None else f"{self.max:g}"
        return f"In range [{low}, {high}]"


class AllowedValues(Rule):
    """Values from a fixed list; compared as text, so ``1`` and ``"1"`` are the same value."""

    kind: Literal["allowed_values"] = "allowed_values"
    label: ClassVar[str] = "One of the allowed values"
    values: list[str] = Field(min_length=1)

    def violations(self, values: pd.Series) -> pd.Series:
        allowed = set(self.values)
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            numbers = {_as_float(v) for v in self.values} - {None}
            return values.notna() & ~values.isin(numbers)
        return values.notna() & ~values.astype(str).isin(allowed)

    def describe(self) -> str:
        shown = ", ".join(self.values[:5]) + (", …" if len(self.values) > 5 else "")
        return f"One of {{{shown}}}"


class Unique(Rule):
    """No value appears twice; every row holding a repeated value counts as a violation."""

    kind: Literal["unique"] = "unique"
    label: ClassVar[str] = "Unique"

    def violations(self, values: pd.Series) -> pd.Series:
        return values.notna() & values.duplicated(keep=False)


class Pattern(Rule):
    """Whole-value match of a regular expression (Python syntax); missing values are not checked."""

    kind: Literal["regex"] = "regex"
    label: ClassVar[str] = "Matches pattern"
    pattern: str = Field(min_length=1, max_length=MAX_PATTERN_LENGTH)

    @field_validator("pattern")
    @classmethod
    def _safe_pattern(cls, pattern: str) -> str:
        try:
            parsed = _parse_pattern(pattern)
        except re.error as e:
            raise ValueError(f"not a valid regular expression: {e}") from e
        if _nested_repeat(parsed):
            raise ValueError(
                "nested repetition such as (a+)+ can take exponential time; rewrite it without a "
                "repeated group that itself repeats"
            )
        return pattern

    def violations(self, values: pd.Series) -> pd.Series:
        present = values.notna()
        text = values[present].astype(str)
        too_long = text.str.len() > MAX_VALUE_LENGTH
        matched = text[~too_long].str.fullmatch(self.pattern)
        bad = pd.Series(False, index=values.index)
        bad[present] = True
        bad[matched.index] = ~matched.astype(bool)
        return bad

    def describe(self) -> str:
        return f"Matches /{self.pattern}/"


RULE_TYPES = (NotNull, InRange, AllowedValues, Unique, Pattern)
RULES: dict[str, type[Rule]] = {t.model_fields["kind"].default: t for t in RULE_TYPES}
RuleSpec = Annotated[Union[RULE_TYPES], Field(discriminator="kind")]  # noqa: UP007
_RULE_LIST = TypeAdapter(list[RuleSpec])


def parse_rules(raw: list[dict[str, Any]]) -> list[Rule]:
    """Validate rules given as JSON-able dicts; raise :class:`SpecError` naming ``rules[i].field``."""
    try:
        return list(_RULE_LIST.validate_python(raw))
    except ValidationError as e:
        raise SpecError("; ".join(_describe_error(err) for err in e.errors())) from e


def _describe_error(err: Any) -> str:
    parts = [p for p in err["loc"] if p not in RULES]  # drop the discriminator tag pydantic adds
    where = "rules" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
    return f"{where}: {err['msg'].removeprefix('Value error, ')}"


def _as_float(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _parse_pattern(pattern: str) -> Any:
    try:
        from re import _parser  # type: ignore[attr-defined]  # Python 3.11+
    except ImportError:  # pragma: no cover - older layouts
        import sre_parse as _parser  # type: ignore[no-redef]
    return _parser.parse(pattern)


_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


def _nested_repeat(parsed: Any, inside_repeat: bool = False) -> bool:
    """True when an unbounded repeat sits inside another repeat (the classic ReDoS shape)."""
    for op, arg in parsed:
        name = str(op)
        if name in _REPEATS:
            _low, high, sub = arg
            unbounded = high is _maxrepeat() or high > 100
            if (inside_repeat and unbounded) or _nested_repeat(sub, inside_repeat or unbounded):
                return True
            continue
        children = [arg[-1]] if name == "SUBPATTERN" else list(arg[1]) if name == "BRANCH" else []
        if any(_nested_repeat(child, inside_repeat) for child in children):
            return True
    return False


def _maxrepeat() -> Any:
    from re import _constants  # type: ignore[attr-defined]

    return _constants.MAXREPEAT

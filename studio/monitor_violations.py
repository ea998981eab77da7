"""Quality-rule violations over time: how many logged rows broke each rule of the definition, per time bucket.

Every logged row records the rules it broke when it was scored (the service, batch scoring and the Predict page
check the model's rules row by row), whether or not its inputs were sampled, so these counts are exact. Counting
is done in SQL per bucket and distinct set of broken rules (``storage.violation_counts``); here the sets are split
into rules and the window's buckets filled in. A rule is named as scoring reports it, with its column.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from storage import bucket_volume, violation_counts
from studio.monitoring import Granularity, window_of
from studio.roles import Actor
from studio.workspace import current_store


@dataclass(frozen=True)
class RuleKey:
    """One rule of the definition as scoring names it: what it asks, and the column it is on."""

    rule: str
    column: str

    def label(self) -> str:
        return f"{self.column}: {self.rule}"


@dataclass(frozen=True)
class ViolationBucket:
    """One bucket: rows scored, rows breaking at least one rule, and rows breaking each rule."""

    start: datetime
    rows: int
    violating_rows: int
    per_rule: dict[RuleKey, int]

    @property
    def rate(self) -> float | None:
        """The share of the bucket's rows that broke any rule (None: no rows)."""
        return self.violating_rows / self.rows if self.rows else None


@dataclass(frozen=True)
class ViolationsOverTime:
    """Every bucket of the window, and the rules broken in it, most often broken first."""

    rules: list[RuleKey]
    buckets: list[ViolationBucket]

    @property
    def rows(self) -> int:
        return sum(b.rows for b in self.buckets)

    @property
    def violating_rows(self) -> int:
        return sum(b.violating_rows for b in self.buckets)

    def total(self, rule: RuleKey) -> int:
        return sum(b.per_rule.get(rule, 0) for b in self.buckets)


def violations_over_time(actor: Actor, pipeline: str | int, *, since: datetime, until: datetime,
                         granularity: Granularity = "hour",
                         version: int | None = None) -> ViolationsOverTime:
    """Rows breaking each quality rule per bucket of [since, until), next to the rows scored."""
    window, starts = window_of(actor, pipeline, since, until, granularity, version)
    store = current_store()
    volume = {b: rows for b, rows, _ in bucket_volume(store, window)}
    violating: dict[int, int] = defaultdict(int)
    per_rule: dict[int, dict[RuleKey, int]] = defaultdict(lambda: defaultdict(int))
    for bucket, text, rows in violation_counts(store, window):
        violating[bucket] += rows
        for rule, column in {tuple(pair) for pair in json.loads(text)}:  # a rule counts once per row
            per_rule[bucket][RuleKey(str(rule), str(column))] += rows
    buckets = [ViolationBucket(start=datetime.fromtimestamp(s, UTC), rows=volume.get(s, 0),
                               violating_rows=violating.get(s, 0), per_rule=dict(per_rule.get(s, {})))
               for s in starts]
    totals: dict[RuleKey, int] = defaultdict(int)
    for b in buckets:
        for key, n in b.per_rule.items():
            totals[key] += n
    return ViolationsOverTime(rules=sorted(totals, key=lambda k: (-totals[k], k.label())), buckets=buckets)

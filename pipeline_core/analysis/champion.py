"""Champion or challenger: which of two models is right more often on the same labelled rows, and how sure that is.

Both models scored the same rows (the challenger in shadow, its answers logged and never returned), and the true
outcomes arrived later, so the comparison is paired row by row:

- classification: McNemar's exact test. Only the rows where exactly one model is right carry information;
  under "no difference" each of those is a fair coin, so the p-value is a two-sided binomial test on them;
- regression: the Wilcoxon signed-rank test on the per-row differences of absolute errors (no normality needed).

"Not enough evidence yet" comes with how many more labelled rows would settle it if the difference seen so far
held (a normal approximation to the same test): a sentence a data scientist can plan with, never "equivalent".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

SIGNIFICANCE = 0.05
Z = 1.959964  # two-sided 5%, for the rows a regression comparison still needs (t approximation)
MIN_ROWS = 10  # fewer labelled pairs than this: no test is run at all
Verdict = Literal["better", "worse", "not enough evidence"]


@dataclass(frozen=True)
class ChallengerVerdict:
    """The challenger against the champion on ``rows`` rows both scored whose outcome is known.

    ``champion_score``/``challenger_score``: accuracy (classification) or mean absolute error (regression).
    ``champion_only``/``challenger_only``: rows only that model got right (classification; 0 for regression).
    ``more_rows``: labelled rows still needed to decide if the difference so far held; None when decided, or
    when the two have been right on exactly the same rows (no difference to detect yet).
    """

    task: Literal["classification", "regression"]
    metric: str
    rows: int
    champion_score: float | None
    challenger_score: float | None
    champion_only: int
    challenger_only: int
    p_value: float | None
    verdict: Verdict
    more_rows: int | None
    method: str

    def sentence(self) -> str:
        """The verdict in one line for the page and the command line."""
        if self.rows < MIN_ROWS:
            return (f"Not enough evidence yet: {self.rows} labelled row(s) were scored by both models; the test needs "
                    f"at least {MIN_ROWS}.")
        scores = (f"{self.metric} {self.challenger_score:.4f} for the challenger against {self.champion_score:.4f} "
                  f"for the champion on the same {self.rows:,} rows")
        if self.verdict != "not enough evidence":
            return f"The challenger is {self.verdict}: {scores} ({self.method}, p = {self.p_value:.3g})."
        more = (f"about {self.more_rows:,} more labelled rows would settle it if the difference held"
                if self.more_rows else "the two have been equally right so far, so no number of rows can be named")
        return (f"Not enough evidence yet: {scores} ({self.method}, p = {self.p_value:.3g}, not below "
                f"{SIGNIFICANCE}); {more}. Not significant does not mean equivalent.")


def compare(champion: Sequence[Any], challenger: Sequence[Any], truth: Sequence[Any], *,
            regression: bool) -> ChallengerVerdict:
    """The verdict on three equally long sequences: each model's prediction and the true outcome, row by row."""
    if not len(champion) == len(challenger) == len(truth):
        raise ValueError("compare needs one champion and one challenger prediction per true outcome")
    if regression:
        return _regression(np.asarray(champion, float), np.asarray(challenger, float), np.asarray(truth, float))
    return _classification([_same(p, t) for p, t in zip(champion, truth, strict=True)],
                           [_same(p, t) for p, t in zip(challenger, truth, strict=True)])


def _same(predicted: Any, actual: Any) -> bool:
    """A label matches whether it came back as a number or as text (JSON outcomes are often text)."""
    return predicted == actual or str(predicted) == str(actual)


def _classification(champion_right: list[bool], challenger_right: list[bool]) -> ChallengerVerdict:
    n = len(champion_right)
    a, b = np.asarray(champion_right, bool), np.asarray(challenger_right, bool)
    champion_only, challenger_only = int((a & ~b).sum()), int((b & ~a).sum())
    scores = (float(a.mean()), float(b.mean())) if n else (None, None)
    method = "McNemar's exact test"
    if n < MIN_ROWS:
        return ChallengerVerdict("classification", "accuracy", n, *scores, champion_only, challenger_only, None,
                                 "not enough evidence", None, method)
    discordant = champion_only + challenger_only
    p = float(stats.binomtest(challenger_only, discordant, 0.5).pvalue) if discordant else 1.0
    verdict = _decide(p, challenger_only - champion_only)
    more = None
    if verdict == "not enough evidence" and challenger_only != champion_only:
        needed_pairs = _pairs_needed(challenger_only / discordant, discordant)
        more = max(1, math.ceil(needed_pairs / (discordant / n)) - n)
    return ChallengerVerdict("classification", "accuracy", n, *scores, champion_only, challenger_only, p, verdict,
                             more, method)


def _pairs_needed(share: float, have: int, cap: int = 10**9) -> int:
    """The fewest discordant rows at which the same exact test is significant if the challenger keeps winning
    ``share`` of them: doubling, then bisection (the p-value falls as rows grow at a fixed share)."""
    def settled(pairs: int) -> bool:
        return stats.binomtest(round(pairs * share), pairs, 0.5).pvalue < SIGNIFICANCE

    low, high = have, max(have, 1) * 2
    while not settled(high) and high < cap:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if settled(middle) else (middle, high)
    return high


def _regression(champion: np.ndarray, challenger: np.ndarray, truth: np.ndarray) -> ChallengerVerdict:
    keep = np.isfinite(champion) & np.isfinite(challenger) & np.isfinite(truth)
    champion_error, challenger_error = np.abs(champion - truth)[keep], np.abs(challenger - truth)[keep]
    n = int(keep.sum())
    scores = (float(champion_error.mean()), float(challenger_error.mean())) if n else (None, None)
    method = "Wilcoxon signed-rank test on absolute errors"
    if n < MIN_ROWS:
        return ChallengerVerdict("regression", "mean absolute error", n, *scores, 0, 0, None, "not enough evidence",
                                 None, method)
    gain = champion_error - challenger_error  # positive: the challenger erred less
    p = float(stats.wilcoxon(gain).pvalue) if np.any(gain) else 1.0
    verdict = _decide(p, float(np.median(gain)) if np.any(gain) else 0.0)
    more = None
    mean, spread = float(gain.mean()), float(gain.std(ddof=1))
    if verdict == "not enough evidence" and mean != 0 and spread > 0:
        more = max(1, math.ceil((Z * spread / abs(mean)) ** 2) - n)
    return ChallengerVerdict("regression", "mean absolute error", n, *scores, 0, 0, p, verdict, more, method)


def _decide(p: float, challenger_lead: float) -> Verdict:
    if p >= SIGNIFICANCE or challenger_lead == 0:
        return "not enough evidence"
    return "better" if challenger_lead > 0 else "worse"

"""Issue 17 point 5: the paired verdict on a challenger scored in shadow beside the champion."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline_core.analysis.champion import MIN_ROWS, compare


def labelled(champion_only: int, challenger_only: int, both: int = 300, neither: int = 50):
    """Truth and two models' labels with the given counts of rows each gets right."""
    truth, a, b = [], [], []
    for count, a_right, b_right in ((champion_only, True, False), (challenger_only, False, True),
                                    (both, True, True), (neither, False, False)):
        truth += ["yes"] * count
        a += ["yes" if a_right else "no"] * count
        b += ["yes" if b_right else "no"] * count
    return a, b, truth


def test_a_challenger_right_on_many_more_rows_is_better_and_the_mirror_is_worse():
    better = compare(*labelled(champion_only=10, challenger_only=60), regression=False)
    assert better.verdict == "better" and better.p_value < 0.001 and better.more_rows is None
    assert (better.champion_only, better.challenger_only, better.rows) == (10, 60, 420)
    assert better.challenger_score > better.champion_score
    assert better.sentence().startswith("The challenger is better: accuracy 0.")
    worse = compare(*labelled(champion_only=60, challenger_only=10), regression=False)
    assert worse.verdict == "worse"


def test_a_small_lead_is_not_enough_evidence_and_says_how_many_rows_would_settle_it():
    verdict = compare(*labelled(champion_only=10, challenger_only=16), regression=False)
    assert verdict.verdict == "not enough evidence" and verdict.p_value > 0.05
    assert verdict.more_rows > 0
    assert "more labelled rows would settle it" in verdict.sentence()
    assert "does not mean equivalent" in verdict.sentence()
    # the same shares over the rows it names (rounded up to whole rows) reach a verdict
    scale = (verdict.rows + verdict.more_rows) / verdict.rows
    settled = compare(*labelled(champion_only=round(10 * scale), challenger_only=round(16 * scale),
                                both=round(300 * scale), neither=round(50 * scale)), regression=False)
    assert settled.verdict == "better"


def test_models_right_on_the_same_rows_name_no_number_of_rows():
    verdict = compare(*labelled(champion_only=0, challenger_only=0), regression=False)
    assert verdict.verdict == "not enough evidence" and verdict.p_value == 1.0 and verdict.more_rows is None
    assert "equally right so far" in verdict.sentence()


def test_too_few_rows_run_no_test():
    verdict = compare(["a"] * (MIN_ROWS - 1), ["a"] * (MIN_ROWS - 1), ["a"] * (MIN_ROWS - 1), regression=False)
    assert verdict.p_value is None and f"needs at least {MIN_ROWS}" in verdict.sentence()


def test_labels_compare_as_text_when_outcomes_arrive_as_text():
    verdict = compare([1] * 20, [0] * 20, ["1"] * 20, regression=False)
    assert verdict.champion_score == 1.0 and verdict.challenger_score == 0.0 and verdict.verdict == "worse"


def test_regression_compares_absolute_errors_row_by_row():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=400)
    champion = truth + rng.normal(scale=1.0, size=400)
    challenger = truth + rng.normal(scale=0.5, size=400)
    verdict = compare(champion, challenger, truth, regression=True)
    assert verdict.verdict == "better" and verdict.metric == "mean absolute error"
    assert verdict.challenger_score < verdict.champion_score
    close = compare(champion, champion + rng.normal(scale=0.01, size=400), truth, regression=True)
    assert close.verdict == "not enough evidence"


def test_unequal_lengths_are_refused():
    with pytest.raises(ValueError, match="one champion and one challenger prediction per true outcome"):
        compare([1, 2], [1], [1, 2], regression=False)

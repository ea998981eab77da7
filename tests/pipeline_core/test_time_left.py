"""The time-left estimate as a pure function of timed progress events (issue 15 point 10: wrong by minutes).

Every sequence here is made up, with the times it would have had; nothing is timed."""

from __future__ import annotations

import pytest

from pipeline_core.training.progress import ModelSlice, ProgressEvent, Work, finished, refitting
from pipeline_core.training.time_left import Tick, seconds_left


def timed(*steps: tuple[float, int, int, Work | None, float]) -> list[Tick]:
    """Ticks from (at, model index, number of models, work, the model's own fraction), made by the same
    ``ModelSlice`` training reports through, so the events are the ones a run sends."""
    ticks: list[Tick] = []
    for at, index, n_models, work, fraction in steps:
        ModelSlice(lambda event, at=at: ticks.append(Tick(at, event)), index, n_models, f"m{index}")(
            fraction, "message", work)
    return ticks


def folds(model: int, n_models: int, start: float, seconds: float, done: int, total: int = 5) -> list[tuple]:
    return [(start + seconds * k, model, n_models, Work("cv", k, total), k / total) for k in range(1, done + 1)]


def test_a_slow_model_after_a_fast_one_is_projected_from_its_own_folds():
    """Model 0 took 1 s a fold, model 1 takes 10 s a fold: 3 folds of 10 s are left, then a refit of about one
    fold. The bar's equal slices said 12 s (elapsed 25 s × 0.328 / 0.672)."""
    ticks = timed(*folds(0, 2, 0.0, 1.0, 5), *folds(1, 2, 5.0, 10.0, 2))
    assert seconds_left(ticks) == pytest.approx(3 * 10 + (1 + 10) / 2)


def test_models_not_started_are_expected_to_take_as_long_as_those_measured():
    ticks = timed(*folds(0, 4, 0.0, 2.0, 5), *folds(1, 4, 10.0, 4.0, 5))  # 10 s, then 20 s
    assert seconds_left(ticks) == pytest.approx(2 * 15 + 3)


def test_a_search_is_held_to_its_time_limit_and_followed_by_the_untuned_model_and_the_cv():
    """100 trials planned at 1 s each, but a 10 s limit: after 3 trials, about 7 s of search (+ the trial running
    when the limit is reached), the untuned model (one trial) and the final CV (one K-fold scoring, one trial)."""
    ticks = timed(*[(k, 0, 1, Work("tuning", k, 100), 0.8 * k / 100) for k in (1.0, 2.0, 3.0)])
    assert seconds_left(ticks, tuning_seconds=10) == pytest.approx(8 + 1 + 1)
    assert seconds_left(ticks) == pytest.approx(97 + 1 + 1)  # no time limit: every planned trial


def test_a_search_that_stopped_early_leaves_the_untuned_model_and_the_cv():
    ticks = timed((2.0, 0, 1, Work("tuning", 1, 50), 0.016), (4.0, 0, 1, Work("tuning", 2, 2), 0.8))
    assert seconds_left(ticks, tuning_seconds=3) == pytest.approx(2 + 2)
    ticks += timed((6.0, 0, 1, Work("untuned", 1, 1), 0.8))
    assert seconds_left(ticks, tuning_seconds=3) == pytest.approx(2)


def test_the_cv_after_a_search_is_timed_from_its_own_folds():
    ticks = timed((5.0, 0, 2, Work("tuning", 1, 1), 0.8), (10.0, 0, 2, Work("untuned", 1, 1), 0.8),
                  (11.0, 0, 2, Work("cv", 1, 4), 0.85))
    # 3 folds of 1 s; the next model like this one (11 s + 3 s); a refit of about one fold
    assert seconds_left(ticks) == pytest.approx(3 + 14 + 1)


def test_refitting_takes_about_one_fold_of_the_best_model_and_done_is_zero():
    ticks = timed(*folds(0, 2, 0.0, 1.0, 5), *folds(1, 2, 5.0, 6.0, 5))
    ticks.append(Tick(35.0, refitting(2, "m1", "refitting")))
    assert seconds_left(ticks) == pytest.approx(6)
    ticks.append(Tick(40.0, finished(2)))
    assert seconds_left(ticks) == 0


def test_without_measured_work_there_is_no_estimate():
    assert seconds_left([]) is None
    event = ProgressEvent(phase="comparing", fraction=0.001, n_models=3, model_index=0, model_name="m0")
    assert seconds_left([Tick(1.0, event)]) is None

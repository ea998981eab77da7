"""Pages offer the definition's choices and the store's run statuses, never their own copies."""

from __future__ import annotations

from typing import get_args

import storage
from pages import features, train
from pipeline_core.definition.choices import Task, TuningMethod
from studio import runs


def test_page_choices_are_the_definitions_literal_args():
    assert list(get_args(Task)) == features.TASKS
    assert list(train.TUNING_LABELS) == list(get_args(TuningMethod))


def test_pages_read_run_statuses_from_the_store_through_studio():
    assert runs.RunStatus is storage.RunStatus
    assert set(train.RERUNNABLE) < set(storage.RunStatus)
    assert set(train.ACTIVE) < set(storage.RunStatus)

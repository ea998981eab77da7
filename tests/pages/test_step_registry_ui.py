"""Every registered step is offered by the page of its group, with help for each of its parameters."""

from __future__ import annotations

import pytest

from pages import step_editor
from pipeline_core.definition.registry import STEP_ENTRIES, steps_in
from pipeline_core.definition.steps import STEPS


@pytest.mark.parametrize("kind", sorted(STEP_ENTRIES))
def test_a_registered_step_is_offered_in_its_groups_with_help_for_every_field(kind):
    entry = STEP_ENTRIES[kind]
    assert entry.groups, f"{kind} is in no UI group: no page would offer it"
    assert all(kind in steps_in(group) for group in entry.groups)
    fields = {name: info for name, info in entry.step.model_fields.items() if name != "kind"}
    assert {name for name, info in fields.items() if not step_editor.field_help(info)} == set()
    if not entry.addable:  # made from something else (a rule): listed and shown, never offered in the add menu
        assert not any(kind in steps_in(group, addable=True) for group in entry.groups)
        return
    step = step_editor.new_step(kind, ["a", "b"])  # the page can create it with its defaults
    assert step.kind == kind


def test_every_step_class_has_an_entry_and_the_pages_offer_every_step():
    assert set(STEP_ENTRIES) == set(STEPS)
    assert set(steps_in("clean")) | set(steps_in("features")) == set(STEPS)
    assert steps_in("features")[0] == "select_kbest"  # what the Features page preselects

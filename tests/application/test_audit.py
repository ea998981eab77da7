"""``studio.audit``: a stored run's hold-out rows, grouped by a column the definition keeps out of the features."""

from __future__ import annotations

import pytest

from pipeline_core.errors import DataError
from studio import audit
from studio.roles import Actor
from tests.apptest import store_frame
from tests.pages.test_compare_page import train_now
from tests.pipeline_core.group_frames import SENSITIVE, TARGET, lending_frame, lending_spec

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

def test_a_column_left_out_by_select_and_renamed_still_groups_the_holdout_rows(store):
    dataset_id = store_frame(store, lending_frame(biased=True), "loans")
    spec = lending_spec().model_copy(update={"steps": []})
    spec = spec.model_copy(update={"columns": spec.columns.model_copy(
        update={"select": ["income", "debt"], "rename": {SENSITIVE: "group"}})})
    run = train_now(store, dataset_id, spec)
    scores = audit.holdout_scores(LOCAL, run.id)
    assert "group" in scores.columns and TARGET not in scores.columns  # offered under the definition's name
    assert scores.task == "classification" and scores.classes == ["no", "yes"]
    assert len(scores.predicted) == len(scores.y) == len(scores.X) == 360
    report = audit.bias_by_group(scores, ["group"])
    assert report.columns == ["group"] and report.balance.columns == ["group"]
    assert audit.bias_by_group(scores, [SENSITIVE]).columns == ["group"]  # the data's own name works too
    assert "accuracy" in {g.metric for g in report.flagged}
    assert sum(g.rows for g in report.balance.groups) == 1200  # the data's balance: every row the run used
    errors = audit.where_it_errs(scores)
    assert (errors.slices[0].column, errors.slices[0].slice) == ("group", "B")
    assert "group" in errors.worst_rows.columns
    with pytest.raises(DataError, match="'approved' is the target"):
        audit.bias_by_group(scores, [TARGET])


def test_balance_before_training_counts_the_rows_training_will_use():
    frame = lending_frame(biased=False, small_group_rows=20)
    frame.loc[:9, TARGET] = None  # rows training drops (no label) are not counted
    balance = audit.balance_before_training(lending_spec(), frame, [SENSITIVE])
    assert balance.rows == 1190 and sum(g.rows for g in balance.groups) == 1190
    assert [g.group for g in balance.groups if g.too_small] == ["C"]
    with pytest.raises(DataError, match="sensitive column 'religion' is not in the data"):
        audit.balance_before_training(lending_spec(), frame, ["religion"])

"""Features page: target and task, default steps, target checks, leakage warnings, feature steps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_core.analysis.leakage import leakage_warnings
from pipeline_core.compiler.columns import apply_column_spec, default_steps, infer_schema
from pipeline_core.definition.spec import PipelineSpec, load_spec
from pipeline_core.definition.steps import DropColumns
from tests.apptest import open_page, store_frame, texts

PAGE = "pages/features.py"


@pytest.fixture
def leaky_id(store) -> int:
    rng = np.random.default_rng(0)
    n = 200
    x = rng.normal(size=n)
    label = np.where(x + rng.normal(size=n) > 0, "yes", "no")
    frame = pd.DataFrame({"x": x, "plan": rng.choice(["a", "b"], n), "label": label,
                          "label_code": np.where(label == "yes", 1, 0), "constant_target": "same",
                          "empty": np.nan})
    return store_frame(store, frame, "leaky")


def choose_target(at, target: str):
    at.selectbox(key="features_target").set_value(target).run()
    return at


def test_smoke_with_a_dataset(iris_id):
    at = open_page(PAGE, dataset_id=iris_id)
    assert not at.exception
    assert "rows are grouped instead" in texts(at, "info")  # no target yet: clustering, and why


def test_choosing_a_target_fills_default_steps_and_shows_the_detected_task(iris_id):
    at = choose_target(open_page(PAGE, dataset_id=iris_id), "target")
    assert not at.exception
    spec = at.session_state["spec"]
    assert spec["target"] == "target"
    assert [s["kind"] for s in spec["steps"]] == ["drop_missing_target", "impute", "scale"]
    assert "Added 3 default step(s) for your column types; edit them on the Clean page." in texts(at, "success")
    assert "Detected task: **classification** — the target holds 3 labels, not numbers." in texts(at, "info")
    assert len(at.get("plotly_chart")) == 1  # the class balance


def test_a_second_target_keeps_the_steps_the_user_has(iris_id):
    at = choose_target(open_page(PAGE, dataset_id=iris_id), "target")
    at = choose_target(at, "petal length (cm)")
    assert len(at.session_state["spec"]["steps"]) == 3
    assert "Added" not in texts(at, "success")
    assert "regression" in texts(at, "info")


def test_overriding_the_task_writes_it_to_the_spec(iris_id):
    at = choose_target(open_page(PAGE, dataset_id=iris_id), "target")
    at.radio(key="features_task").set_value("clustering").run()
    assert at.session_state["spec"]["task"] == "clustering"
    assert "Clustering ignores the target" in texts(at, "warning")


def test_a_relabelled_copy_of_the_target_is_flagged(leaky_id):
    at = choose_target(open_page(PAGE, dataset_id=leaky_id), "label")
    assert not at.exception
    assert "'label_code' maps one-to-one onto the target 'label'" in texts(at, "warning")


def test_a_target_with_one_class_is_refused_plainly(leaky_id):
    at = choose_target(open_page(PAGE, dataset_id=leaky_id), "constant_target")
    assert not at.exception
    assert "has a single class ('same')" in texts(at, "error")


def test_an_all_missing_target_is_refused_plainly(leaky_id):
    at = choose_target(open_page(PAGE, dataset_id=leaky_id), "empty")
    assert not at.exception
    assert "target 'empty' has no values" in texts(at, "error")


def test_feature_steps_are_added_from_the_feature_list(iris_id):
    at = choose_target(open_page(PAGE, dataset_id=iris_id), "target")
    at.selectbox(key="features_add_kind").set_value("pca")
    at.button(key="features_add_step").click().run()
    assert not at.exception
    assert at.session_state["spec"]["steps"][-1] == {"kind": "pca", "n_components": 0.95}
    assert any("features 4 → 2" in m.value for m in at.markdown)


def test_a_column_dropped_by_a_step_is_not_flagged(leaky_id):
    spec = {"steps": [{"kind": "drop_columns", "columns": ["label_code"]}]}
    at = choose_target(open_page(PAGE, dataset_id=leaky_id, spec=spec), "label")
    assert not at.exception
    assert "label_code" not in texts(at, "warning")
    steps = at.session_state["spec"]["steps"]
    assert {"kind": "drop_columns", "columns": ["label_code"], "reason": ""} in steps  # the user's step is kept
    assert len(steps) > 1  # and the defaults it does not cover are added next to it (issue 15 point 6)


# ---- per-dataset work is done once; a target choice only pays for that target -----------------------


@pytest.fixture
def copied_target() -> pd.DataFrame:
    """An ID column, a relabelled copy of the target, and honest features; unique to these tests (cold caches)."""
    rng = np.random.default_rng(42)
    n = 240
    x = rng.normal(size=n)
    label = np.where(x + rng.normal(size=n) > 0, "won", "lost")
    return pd.DataFrame({"order_id": np.arange(5000, 5000 + n), "x": x, "plan": rng.choice(["a", "b", "c"], n),
                         "label": label, "label_copy": np.where(label == "won", "W", "L"),
                         "amount": rng.gamma(2.0, 10.0, n)})


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts of the per-dataset computations: the raw-column types and the leakage basis."""
    from pipeline_core.analysis import leakage
    from studio import schema

    counts = {"types": 0, "leakage basis": 0}

    def counted(name: str, real):
        def wrapper(*args, **kwargs):
            counts[name] += 1
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(schema, "infer_schema", counted("types", schema.infer_schema))  # pages' raw_schema
    monkeypatch.setattr(leakage, "leakage_basis", counted("leakage basis", leakage.leakage_basis))
    return counts


def _expected(frame: pd.DataFrame, spec: PipelineSpec) -> tuple[list, list[str]]:
    """Default steps, and leakage warnings on the columns they keep, computed directly on the frame (unsplit)."""
    steps = default_steps(infer_schema(frame, spec))
    dropped = {c for s in steps if isinstance(s, DropColumns) for c in s.columns} - {spec.target}
    sliced = apply_column_spec(frame, spec)
    return steps, leakage_warnings(sliced.drop(columns=[c for c in dropped if c in sliced]), spec.target)


def test_target_choices_give_the_direct_steps_and_warnings_and_reuse_the_per_dataset_work(store, copied_target, calls):
    targets = ["label", "plan", "amount"]
    expected = {t: _expected(copied_target, PipelineSpec(target=t)) for t in targets}
    everything = " ".join(leakage_warnings(copied_target, "label"))  # before the ID column's drop step
    assert "'order_id' looks like a row identifier" in everything
    assert "'label_copy' maps one-to-one onto the target 'label'" in everything
    calls.update({"types": 0, "leakage basis": 0})  # count only what the page computes
    at = open_page(PAGE, dataset_id=store_frame(store, copied_target, "copied target"))
    assert calls == {"types": 1, "leakage basis": 1}  # on the visit, before any target is chosen
    for target in targets:
        at.session_state["spec"] = {}  # a definition without steps: each choice adds the defaults again
        at.run()
        choose_target(at, target)
        assert not at.exception
        assert load_spec(at.session_state["spec"]).steps == expected[target][0]
        assert [w.value for w in at.warning if w.icon == ":material/warning:"] == expected[target][1], target
    assert calls == {"types": 1, "leakage basis": 1}  # nothing per-dataset was computed again


def test_renamed_columns_are_checked_under_their_new_names(store, copied_target, calls):
    spec = {"columns": {"rename": {"label_copy": "result_code", "order_id": "ref"}}}
    frame = copied_target.iloc[:200]
    steps, warnings = _expected(frame, PipelineSpec.model_validate({**spec, "target": "label"}))
    assert "'result_code' maps one-to-one onto the target 'label'" in " ".join(warnings)
    calls.update({"types": 0, "leakage basis": 0})
    at = choose_target(open_page(PAGE, dataset_id=store_frame(store, frame, "renamed"), spec=spec), "label")
    assert not at.exception
    assert [w.value for w in at.warning if w.icon == ":material/warning:"] == warnings
    assert load_spec(at.session_state["spec"]).steps == steps
    assert calls == {"types": 1, "leakage basis": 1}


def test_a_head_start_that_fails_does_not_break_the_visit(store, monkeypatch):
    """Types and the leakage sample are computed on the visit only as a head start: a failure there shows nothing."""
    from pipeline_core.analysis import leakage

    def unreadable(*args, **kwargs):
        raise TypeError("unhashable type: 'list'")

    monkeypatch.setattr(leakage, "leakage_basis", unreadable)
    frame = pd.DataFrame({"a": [1.5, 2.5, 3.5, 4.5], "b": ["x", "y", "x", "y"], "c": [9, 8, 7, 6]})
    at = open_page(PAGE, dataset_id=store_frame(store, frame, "head start"))
    assert not at.exception
    assert "rows are grouped instead" in texts(at, "info")


def test_a_step_added_before_the_target_no_longer_stops_the_defaults(store):
    """Issue 15 point 6: a cleaning step first, then the target: the labels still get encoded, so Train accepts."""
    import pandas as pd

    from pipeline_core.definition.spec import PipelineSpec
    from tests.apptest import store_frame

    frame = pd.DataFrame({"x": [1.0, 2.0, None, 4.0] * 15, "city": ["paris", "lyon", "nice", None] * 15,
                          "label": ["a", "b"] * 30})
    spec = PipelineSpec(steps=[{"kind": "drop_duplicates"}]).to_dict()
    at = choose_target(open_page(PAGE, dataset_id=store_frame(store, frame, "mixed"), spec=spec), "label")
    assert not at.exception
    kinds = [s["kind"] for s in at.session_state["spec"]["steps"]]
    assert kinds[0] == "drop_duplicates" and {"impute", "onehot"} <= set(kinds)
    assert "default step(s) for your column types, next to yours" in texts(at, "success")

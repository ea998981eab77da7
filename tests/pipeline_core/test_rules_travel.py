"""Quality rules travel with the pipeline (issue 15 point 2): in the definition, in the exported script, as a
training filter, and in every scoring path's report.

Each rule kind is checked against the rule's own mask on messy values (missing, text among numbers, numbers
as text, long strings, duplicates), so the script's copy cannot silently drift from the app's.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from pipeline_core.analysis import quality
from pipeline_core.artifacts.codegen import python_script
from pipeline_core.compiler.prepare import prepare
from pipeline_core.compiler.preview import preview_step
from pipeline_core.definition import standalone as sa
from pipeline_core.definition import steps as st
from pipeline_core.definition.rules import RULES, parse_rules
from pipeline_core.definition.spec import ModelSpec, PipelineSpec, load_spec

MESSY = pd.DataFrame({
    "amount": [1.0, 5.0, np.nan, -3.0, 250.0, 5.0, 7.5, np.nan],
    "mixed": ["1", "two", None, "4", "5", "5", "x" * 2_000, "6"],
    "code": ["AB1234", "ab1234", None, "CD9999", "AB1234", "ZZ0000", "Q" * 1_500, "EF12345"],
    "level": ["low", "high", "mid", None, "low", "LOW", "high", "mid"],
})
EXAMPLES = {  # one or more rules of every kind; the test below fails when a kind has no example
    "not_null": [{"kind": "not_null", "column": "amount"}],
    "range": [{"kind": "range", "column": "amount", "min": 0, "max": 100},
              {"kind": "range", "column": "mixed", "min": 2}],
    "allowed_values": [{"kind": "allowed_values", "column": "level", "values": ["low", "mid", "high"]},
                       {"kind": "allowed_values", "column": "amount", "values": ["1", "5", "x"]}],
    "unique": [{"kind": "unique", "column": "code"}],
    "regex": [{"kind": "regex", "column": "code", "pattern": r"[A-Z]{2}\d{4}"}],
}


def test_every_rule_kind_has_an_example():
    assert set(EXAMPLES) == set(RULES)


@pytest.mark.parametrize("raw", [r for rules in EXAMPLES.values() for r in rules], ids=lambda r: r["kind"])
def test_the_scripts_rule_check_equals_the_rules_own_mask(raw):
    namespace: dict[str, object] = {"pd": pd}
    exec(sa.RULE_CHECKS, namespace)  # noqa: S102 - our own generated code
    rule = parse_rules([raw])[0]
    expected = rule.violations(MESSY[rule.column]).fillna(False).astype(bool)
    got = namespace["rule_violations"](MESSY[rule.column], rule.model_dump(mode="json"))  # type: ignore[operator]
    assert got.astype(bool).tolist() == expected.tolist()
    assert expected.any() and not expected.all()  # the example discriminates


def test_row_violations_lists_each_broken_row_and_rule_in_row_order():
    rules = parse_rules([EXAMPLES["not_null"][0], EXAMPLES["range"][0], {"kind": "not_null", "column": "absent"}])
    found = quality.row_violations(MESSY.head(4), rules)
    assert [(v.row, v.column) for v in found] == [
        (0, "absent"), (1, "absent"), (2, "amount"), (2, "absent"), (3, "amount"), (3, "absent")]
    assert found[4].rule == "In range [0, 100]"


def test_a_scored_file_without_a_rules_column_is_reported_not_refused():
    rules = parse_rules([{"kind": "not_null", "column": "absent"}, EXAMPLES["unique"][0]])
    with pytest.raises(quality.DataError, match="absent"):
        quality.check(MESSY, rules)
    report = quality.check(MESSY, rules, missing="report")
    assert report["violations"].tolist() == [len(MESSY), 2]
    assert report["example_values"][0] == "the column is not in this file"


def test_rules_of_reads_a_models_definition_and_tolerates_older_models():
    spec = PipelineSpec(rules=parse_rules(EXAMPLES["regex"]))
    assert quality.rules_of({"definition": spec.to_dict()}) == spec.rules
    assert quality.rules_of({"definition": {"schema_version": 2}}) == []
    assert quality.rules_of({}) == []


# ---- a rule as a training filter ----------------------------------------------------------------------


def _regression_frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    x = rng.normal(size=80)
    x[::9] = 500.0  # out of the range rule
    return pd.DataFrame({"x": x, "code": [f"A{i:03d}" if i % 7 else "bad" for i in range(80)],
                         "y": 2 * x + rng.normal(size=80)})


def test_a_rule_filter_keeps_the_same_rows_in_preview_training_and_the_script():
    data = _regression_frame()
    step = st.KeepRowsPassingRule(rule={"kind": "range", "column": "x", "max": 100})
    regex = st.KeepRowsPassingRule(rule={"kind": "regex", "column": "code", "pattern": r"A\d{3}"})
    spec = PipelineSpec(target="y", task="regression", models=[ModelSpec(kind="ridge")],
                        steps=[step, regex, st.DropColumns(columns=["code"]), st.Impute(columns="numeric")])
    prepared = prepare(spec, data)
    expected = data.index[(data["x"] <= 100) & data["code"].str.fullmatch(r"A\d{3}")]
    assert list(prepared.X.index) == list(expected) and 0 < len(expected) < len(data)
    previewed = preview_step(spec, 2, data, n_rows=len(data)).before.index
    namespace: dict[str, object] = {"__name__": "exported"}
    exec(python_script(spec, prepared.schema, "regression", "ridge", {}), namespace)  # noqa: S102 - our own script
    X, _ = namespace["training_rows"](data)  # type: ignore[operator]
    assert list(previewed) == list(X.index) == list(expected)
    assert step.describe() == "Keep rows that pass a rule: In range [-∞, 100] on x"


def test_the_exported_script_reports_rule_violations_on_its_file(tmp_path):
    data = _regression_frame()
    data.to_csv(tmp_path / "data.csv", index=False)
    hostile = 'x"""\nimport os; os.system("echo pwned")\n"""'
    spec = PipelineSpec(name="rules", target="y", task="regression", models=[ModelSpec(kind="ridge")],
                        steps=[st.DropColumns(columns=["code"]), st.Impute(columns="numeric")],
                        evaluation={"cv_folds": 2},
                        rules=parse_rules([{"kind": "range", "column": "x", "max": 100},
                                           {"kind": "allowed_values", "column": "code", "values": [hostile, "bad"]}]))
    spec = load_spec(spec.to_json())
    script = python_script(spec, prepare(spec, data).schema, "regression", "ridge", {})
    (tmp_path / "train.py").write_text(script)
    done = subprocess.run([sys.executable, "train.py", "data.csv"], cwd=tmp_path, capture_output=True, text=True,
                          check=True)
    assert "pwned" not in done.stdout.splitlines()  # the echo never ran: the value stayed a string
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["rule_violations"] == {"In range [-∞, 100] on x": int((data["x"] > 100).sum()),
                                         "One of {" + hostile + ", bad} on code": int((data["code"] != "bad").sum())}


def test_rules_on_the_target_are_not_held_against_rows_to_predict():
    """New rows never carry the target; a rule on it is about training data (as the scoring service decides)."""
    spec = PipelineSpec(target="label", columns={"rename": {"Outcome": "label"}},
                        rules=[{"kind": "not_null", "column": "Outcome"}, {"kind": "not_null", "column": "amount"}])
    metadata = {"definition": spec.to_dict(), "target": "label"}
    assert [r.column for r in quality.scoring_rules(metadata, MESSY)] == ["amount"]
    with_target = MESSY.assign(Outcome=1)
    assert [r.column for r in quality.scoring_rules(metadata, with_target)] == ["Outcome", "amount"]


def test_the_service_drops_the_same_target_rules_as_batch_scoring_even_when_the_target_was_renamed():
    from pipeline_core.artifacts.skops_io import LoadedModel
    from pipeline_core.serving.schema import model_rules, without_target_rules

    spec = PipelineSpec(target="label", columns={"rename": {"Outcome": "label"}},
                        rules=[{"kind": "not_null", "column": "Outcome"}, {"kind": "not_null", "column": "amount"}])
    served = without_target_rules(LoadedModel(None, {"definition": spec.to_dict(), "target": "label"}))
    assert [r.column for r in model_rules(served)] == ["amount"]

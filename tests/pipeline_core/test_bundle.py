"""Model bundles: what the zip holds, that it loads back and predicts the same, and what it refuses."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline_core.analysis.drift import drift_from_reference, drift_kind, drift_report
from pipeline_core.artifacts.bundle import ENTRIES, dump_bundle, is_bundle, load_bundle, load_model_or_bundle
from pipeline_core.artifacts.export import build_metadata, dump_model
from pipeline_core.errors import DataError, ModelError
from tests.archives import joblib_bytes, with_entry
from tests.pipeline_core.test_cli import cli, ok
from tests.pipeline_core.trained import TARGET, churn_model

RULES = [{"kind": "not_null", "column": "city"}, {"kind": "range", "column": "age", "min": 0.0, "max": 120.0}]


@pytest.fixture(scope="module")
def churn():
    """A trained churn model, its metadata (with quality rules in its definition) and its training frame."""
    result, frame = churn_model(rules=RULES)
    return result.pipeline, build_metadata(result, frame), frame


@pytest.fixture(scope="module")
def bundle_bytes(churn) -> bytes:
    pipeline, metadata, frame = churn
    return dump_bundle(pipeline, metadata, frame)


def _entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rezipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, payload in entries.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


def test_a_bundle_round_trips_and_predicts_like_the_trained_pipeline(churn, bundle_bytes):
    pipeline, metadata, frame = churn
    assert sorted(_entries(bundle_bytes)) == sorted(ENTRIES)
    bundle = load_bundle(bundle_bytes)
    rows = frame.drop(columns=[TARGET])
    np.testing.assert_array_equal(bundle.pipeline.predict(rows), pipeline.predict(rows))
    np.testing.assert_array_equal(bundle.pipeline.predict_proba(rows), pipeline.predict_proba(rows))
    assert bundle.metadata["model"] == "logistic_regression"
    assert bundle.requirements == metadata["requirements"]
    assert bundle.requirements[0].startswith("pipeline-studio==")


def test_the_schema_names_every_column_with_its_type_levels_and_five_real_examples(churn, bundle_bytes):
    pipeline, metadata, frame = churn
    schema = load_bundle(bundle_bytes).schema
    assert [c.name for c in schema.columns] == [f["name"] for f in metadata["features"]]
    columns = {c.name: c for c in schema.columns}
    assert columns["city"].type == "categorical" and columns["city"].levels == sorted(frame["city"].dropna().unique())
    assert columns["age"].type == "numeric" and columns["age"].dtype == "float64"
    assert columns["signup"].type == "datetime"
    assert schema.task == "classification" and schema.target == TARGET and schema.classes == ["no", "yes"]
    examples = schema.example_frame()
    expected = frame[examples.columns].head(5)
    assert len(examples) == 5
    pd.testing.assert_frame_equal(examples, expected.reset_index(drop=True), check_dtype=False)
    np.testing.assert_array_equal(pipeline.predict(examples), pipeline.predict(expected))


def test_rules_travel_in_rules_json_and_the_readme(churn, bundle_bytes):
    _, metadata, _ = churn
    rules = load_bundle(bundle_bytes).rules
    assert rules == metadata["definition"]["rules"]
    assert [(r["kind"], r["column"]) for r in rules] == [("not_null", "city"), ("range", "age")]
    readme = _entries(bundle_bytes)["README.md"].decode()
    assert "`city`: Not missing — not_null" in readme
    assert "`age`: In range [0, 120] — range (min=0.0, max=120.0)" in readme
    for expected in ("pip install -r requirements.txt", "load_bundle(", "predict_proba", "| income | numeric |",
                     "drift_from_reference"):
        assert expected in readme


def test_a_definition_without_rules_gives_an_empty_rule_list(churn):
    pipeline, metadata, frame = churn
    plain = {**metadata, "definition": {k: v for k, v in metadata["definition"].items() if k != "rules"}}
    data = dump_bundle(pipeline, plain, frame)
    assert load_bundle(data).rules == []
    assert "states no quality rules" in _entries(data)["README.md"].decode()


def test_requirements_txt_pins_what_the_model_was_saved_with(churn, bundle_bytes):
    _, metadata, _ = churn
    lines = _entries(bundle_bytes)["requirements.txt"].decode().splitlines()
    assert [line for line in lines if not line.startswith("#")] == metadata["requirements"]
    assert all("==" in pin for pin in metadata["requirements"])


def test_drift_from_the_shipped_reference_equals_drift_from_the_training_rows(churn, bundle_bytes):
    _, _, frame = churn
    bundle = load_bundle(bundle_bytes)
    names = [c.name for c in bundle.schema.columns]
    rng = np.random.default_rng(5)
    new = frame[names].sample(150, random_state=1).reset_index(drop=True)
    new["age"] = new["age"] * 1.4
    new["city"] = rng.choice(["paris", "nice"], len(new))
    kinds = {c.name: drift_kind(c.type) for c in bundle.schema.columns}  # binned as the model reads them
    from_rows = drift_report(frame[names], new, kinds=kinds).set_index("column").sort_index()
    assert from_rows.loc["signup", "type"] == "datetime"  # dates held as text: a date column to the model
    from_reference = drift_from_reference(bundle.reference, new).set_index("column").sort_index()
    np.testing.assert_array_equal(from_reference["psi"], from_rows["psi"])
    assert from_reference["type"].tolist() == from_rows["type"].tolist()
    assert from_reference["drifted"].tolist() == from_rows["drifted"].tolist()
    assert from_rows.loc["age", "drifted"] and from_rows.loc["city", "drifted"]
    assert not from_rows.loc["income", "drifted"]
    np.testing.assert_allclose(from_reference["ks_statistic"], from_rows["ks_statistic"], atol=0.015)


def test_a_bundle_with_a_pickle_inside_is_refused_without_unpickling_it(bundle_bytes, tmp_path):
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(_Touch(marker))
    with pytest.raises(ModelError, match=r"entries a model bundle does not have \(model.pkl\)"):
        load_bundle(with_entry(bundle_bytes, "model.pkl", payload))
    swapped = {**_entries(bundle_bytes), "model.skops": joblib_bytes(_Touch(marker))}
    with pytest.raises(ModelError, match="looks like a pickle"):
        load_bundle(_rezipped(swapped))
    with pytest.raises(ModelError, match="not a model bundle"):
        load_bundle(payload)
    assert not marker.exists()


class _Touch:
    """Unpickling this creates a file: proof, if the file appears, that something unpickled it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_a_bundle_with_a_path_leaving_the_archive_is_refused(bundle_bytes):
    for entry in ("../README.md", "/etc/schema.json", "..\\evil.json"):
        with pytest.raises(ModelError, match="path leaves the archive"):
            load_bundle(with_entry(bundle_bytes, entry, b"{}"))


def test_a_bundle_missing_an_entry_or_with_bad_json_says_which(bundle_bytes):
    entries = _entries(bundle_bytes)
    with pytest.raises(ModelError, match="lacks reference.json"):
        load_bundle(_rezipped({k: v for k, v in entries.items() if k != "reference.json"}))
    with pytest.raises(ModelError, match="schema.json is not valid JSON"):
        load_bundle(_rezipped({**entries, "schema.json": b"{not json"}))
    with pytest.raises(ModelError, match=r"reference.json is not a valid reference \(rows"):
        load_bundle(_rezipped({**entries, "reference.json": b'{"rows": "many", "columns": []}'}))
    with pytest.raises(ModelError, match="rules.json is not a list of rules"):
        load_bundle(_rezipped({**entries, "rules.json": b'"drop table"'}))


def test_a_bundle_needs_the_columns_the_model_reads_in_its_training_data(churn):
    pipeline, metadata, frame = churn
    with pytest.raises(DataError, match="lacks column.*'income'"):
        dump_bundle(pipeline, metadata, frame.drop(columns=["income"]))


def test_a_plain_skops_file_is_not_a_bundle_but_both_load_for_scoring(churn, bundle_bytes):
    pipeline, metadata, frame = churn
    skops = dump_model(pipeline, "skops", metadata)
    assert is_bundle(bundle_bytes) and not is_bundle(skops) and not is_bundle(b"a,b\n1,2\n")
    rows = frame.drop(columns=[TARGET]).head(30)
    for source in (skops, bundle_bytes):
        np.testing.assert_array_equal(load_model_or_bundle(source).pipeline.predict(rows), pipeline.predict(rows))


def test_the_cli_exports_a_bundle_from_a_model_and_its_data_and_predicts_with_it(tmp_path):
    from tests.pipeline_core.frames import messy_frame

    messy_frame().to_csv(tmp_path / "messy.csv", index=False)
    ok(cli("train", "messy.csv", "--target", "churned", "--models", "logistic_regression", "--cv", "2",
           "--out", "run", cwd=tmp_path))
    no_data = cli("export", "run/model.skops", "--to", "bundle", "--out", "b.zip", cwd=tmp_path)
    assert no_data.returncode == 2 and no_data.stderr.strip().splitlines() == [
        "error: a bundle needs the training data for its example rows and drift reference: pass --data FILE"]
    ok(cli("export", "run/model.skops", "--to", "bundle", "--data", "messy.csv", "--out", "b.zip", cwd=tmp_path))
    assert load_bundle(tmp_path / "b.zip").schema.target == "churned"
    ok(cli("predict", "b.zip", "messy.csv", "--out", "from_bundle.csv", cwd=tmp_path))
    ok(cli("predict", "run/model.skops", "messy.csv", "--out", "from_model.csv", cwd=tmp_path))
    from_bundle = pd.read_csv(tmp_path / "from_bundle.csv")
    pd.testing.assert_frame_equal(from_bundle, pd.read_csv(tmp_path / "from_model.csv"))
    assert "probability_yes" in from_bundle
    (tmp_path / "evil.zip").write_bytes(with_entry((tmp_path / "b.zip").read_bytes(), "../x.json", b"{}"))
    refused = cli("predict", "evil.zip", "messy.csv", "--out", "x.csv", cwd=tmp_path)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "path leaves the archive" in refused.stderr and not (tmp_path / "x.csv").exists()


def test_reference_json_is_plain_json_without_nan_or_infinity(bundle_bytes):
    text = _entries(bundle_bytes)["reference.json"].decode()
    assert "NaN" not in text and "Infinity" not in text
    reference = json.loads(text)
    assert [c["name"] for c in reference["columns"]] == [c.name for c in load_bundle(bundle_bytes).schema.columns]

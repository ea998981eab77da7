"""Model files and pipeline definitions from outside: skops only, nothing unpickled, nothing unregistered."""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import sklearn
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

import storage
from pipeline_core.artifacts.export import dump_model, load_model, read_metadata
from pipeline_core.artifacts.predict import predict_frame
from pipeline_core.definition.spec import load_spec
from pipeline_core.errors import DataError, ModelError, SpecError
from storage import Store
from tests.apptest import open_page, texts
from tests.archives import joblib_bytes, with_entry
from tests.security.conftest import iris_rows


class Payload:
    """Unpickling this creates a directory: proof that a loader ran code from the file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))




def pickles(marker: Path) -> dict[str, bytes]:
    payload = Payload(marker)
    found = {f"pickle-protocol-{p}": pickle.dumps(payload, protocol=p) for p in range(pickle.HIGHEST_PROTOCOL + 1)}
    found["joblib"] = joblib_bytes(payload)
    found["joblib-zlib"] = joblib_bytes(payload, compress=3)
    return found


# ---------------------------------------------------------------- the core loader


def test_no_pickle_or_joblib_file_is_ever_unpickled(tmp_path):
    marker = tmp_path / "code-ran"
    for kind, data in pickles(marker).items():
        with pytest.raises(ModelError, match="pickle|not a skops model file"):
            load_model(data)
        with pytest.raises(ModelError):
            read_metadata(data)
        assert not marker.exists(), kind


def test_a_skops_archive_smuggling_a_pickle_entry_is_not_unpickled(trained, tmp_path):
    marker = tmp_path / "code-ran"
    data = with_entry(trained.skops, "extra.pkl", pickle.dumps(Payload(marker)))
    loaded = load_model(data)  # skops never reads entries its schema does not build from
    assert hasattr(loaded.pipeline, "predict")
    assert not marker.exists()


# ---------------------------------------------------------------- importing on the Predict page


def import_model(data: bytes, name: str = "model.skops", **state):
    at = open_page("pages/predict.py", **state)
    at.file_uploader(key="predict_import_model").upload(name, data, "application/octet-stream")
    return at.run()


def stored_artifacts(store: Store) -> list:
    return [a for run in storage.list_runs(store) for a in storage.list_model_artifacts(store, run_id=run.id)]


def made_elsewhere(skops: bytes) -> bytes:
    """The same fitted pipeline saved again with its own metadata: a model file this store has not seen."""
    loaded = load_model(skops)
    return dump_model(loaded.pipeline, "skops", {**loaded.metadata, "created": "2020-01-01T00:00:00+00:00"})


def test_importing_a_skops_model_stores_it_and_it_scores_new_rows(store, trained):
    before = len(stored_artifacts(store))
    data = made_elsewhere(trained.skops)
    at = import_model(data, "iris model.skops")
    assert not at.exception and not at.error
    assert "Imported **iris model.skops**" in texts(at, "success")
    assert len(stored_artifacts(store)) == before + 1
    imported = stored_artifacts(store)[0]
    assert at.selectbox(key="predict_model").value == imported.id
    assert storage.load_model_bytes(store, imported) == data
    at.run()  # a rerun does not import it again
    assert len(stored_artifacts(store)) == before + 1
    at.file_uploader(key="predict_upload").upload("new.csv", iris_rows().to_csv(index=False).encode(), "text/csv")
    at.run()
    assert not at.exception and not at.error
    assert at.get("download_button")
    assert "No training data is stored with this model" in texts(at, "info")
    compare = open_page("pages/compare.py", run_id=imported.run_id)
    assert not compare.exception


def test_a_model_can_be_imported_before_any_training_and_only_once(store, studio, trained):
    for run in storage.list_runs(store):
        storage.delete_run(store, run.id)
    assert "import a .skops model above" in texts(open_page("pages/predict.py"), "info")
    at = import_model(trained.skops)
    assert not at.exception and not at.error
    again = import_model(trained.skops, "same bytes, another name.skops")  # another session, same file
    assert not again.exception and not again.error
    [artifact] = stored_artifacts(store)
    assert again.selectbox(key="predict_model").value == artifact.id


def refused_files(trained_skops: bytes, marker: Path) -> dict[str, tuple[bytes, str]]:
    dangerous = Pipeline([("run", FunctionTransformer(func=os.system))]).fit(np.zeros((2, 1)))
    with zipfile.ZipFile(io.BytesIO(trained_skops)) as archive:
        metadata = json.loads(archive.read("pipeline_studio_metadata.json"))
    old = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(trained_skops)) as source, zipfile.ZipFile(old, "w") as target:
        for info in source.infolist():
            payload = source.read(info)
            if info.filename == "pipeline_studio_metadata.json":
                payload = json.dumps({**metadata, "sklearn_version": "1.2.0"}).encode()
            target.writestr(info, payload)
    files = {kind: (data, "pickle|not a skops model file") for kind, data in pickles(marker).items()}
    files.update({
        "zip-slip": (with_entry(trained_skops, "../../evil.npy", b"x"), "unsafe path"),
        "zip-bomb": (with_entry(trained_skops, "bomb.npy", bytes(16 * 2**20)), "zip bomb"),
        "untrusted-type": (dump_model(dangerous), "does not trust"),
        "other-sklearn": (old.getvalue(), f"scikit-learn 1.2.0.*scikit-learn {sklearn.__version__}"),
        "csv": (b"a,b\n1,2\n", "not a skops model file"),
    })
    return files


@pytest.mark.parametrize("kind", ["pickle-protocol-0", "pickle-protocol-2", "pickle-protocol-5", "joblib",
                                  "joblib-zlib", "zip-slip", "zip-bomb", "untrusted-type", "other-sklearn", "csv"])
def test_the_import_refuses_unsafe_model_files_plainly(store, trained, tmp_path, kind):
    marker = tmp_path / "code-ran"
    data, message = refused_files(trained.skops, marker)[kind]
    before = len(stored_artifacts(store))
    at = import_model(data, "model.skops")
    assert not at.exception
    assert re.search(message, texts(at, "error")), texts(at, "error")
    assert "'model.skops'" in texts(at, "error")  # the message names the uploaded file
    assert len(stored_artifacts(store)) == before
    assert not marker.exists()


def test_a_stored_model_is_only_ever_loaded_as_skops(store, trained, tmp_path):
    """Even a row claiming another format (a tampered database, another tool) never reaches an unpickler."""
    marker = tmp_path / "code-ran"
    run = storage.create_run(store, dataset_id=None)
    artifact = storage.save_model_artifact(store, run_id=run.id, data=joblib_bytes(Payload(marker)), fmt="joblib")
    storage.finish_run(store, run.id, status="done", leaderboard=[{"model": "x", "metrics": {}}])
    at = open_page("pages/predict.py", predict_model=artifact.id)
    assert at.selectbox(key="predict_model").value == artifact.id
    assert not at.exception
    assert "pickle" in texts(at, "error")
    assert not marker.exists()


# ---------------------------------------------------------------- schema checks when scoring


def test_scoring_rows_with_other_columns_or_types_names_them(trained):
    loaded = load_model(trained.skops)
    rows = iris_rows()
    with pytest.raises(DataError, match=r"lacks column\(s\) the model needs: 'petal width \(cm\)'"):
        predict_frame(loaded.pipeline, rows.drop(columns="petal width (cm)"), loaded.metadata)
    retyped = rows.assign(**{"sepal length (cm)": ["long"] * len(rows)})
    with pytest.raises(DataError, match=r"'sepal length \(cm\)' held numbers in training but now holds text"):
        predict_frame(loaded.pipeline, retyped, loaded.metadata)


# ---------------------------------------------------------------- pipeline definitions


def test_model_parameters_outside_the_registry_are_refused_by_validation():
    with pytest.raises(SpecError, match=r"models\[0\]\.params: 'warm_start_hook' is not a parameter of "
                                        r"'logistic_regression'"):
        load_spec({"models": [{"kind": "logistic_regression", "params": {"warm_start_hook": "os.system"}}]})
    spec = load_spec({"models": [{"kind": "svm", "params": {"C": 2.0, "epsilon": 0.2}}]})  # SVC's or SVR's
    assert spec.models[0].params == {"C": 2.0, "epsilon": 0.2}


@pytest.mark.parametrize("document", [
    "[" * 100_000 + "]" * 100_000,
    json.dumps({"name": "deep", "data": {"file_name": "x"}, "columns": {"rename": {}}})[:-1]
    + ', "models": ' + "[" * 5000 + "]" * 5000 + "}",
], ids=["deep-array", "deep-inside-a-definition"])
def test_an_absurdly_deep_pipeline_file_is_refused_on_the_pipelines_page(store, studio, document):
    at = open_page("pages/pipelines.py")
    at.file_uploader(key="pipelines_import").upload("deep.json", document.encode(), "application/json")
    at.run()
    at.button(key="pipelines_import_button").click().run()
    assert not at.exception
    assert "nested" in texts(at, "error")
    assert storage.list_pipelines(store) == []


def test_an_absurdly_large_pipeline_file_is_refused(store, studio):
    big = json.dumps({"name": "big", "columns": {"select": [f"c{i}" for i in range(600_000)]}}).encode()
    at = open_page("pages/pipelines.py")
    at.file_uploader(key="pipelines_import").upload("big.json", big, "application/json")
    at.run()
    at.button(key="pipelines_import_button").click().run()
    assert not at.exception
    assert "bytes" in texts(at, "error")
    assert storage.list_pipelines(store) == []
    with pytest.raises(SpecError, match="limit"):
        load_spec(big)

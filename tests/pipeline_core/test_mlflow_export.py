"""MLflow export: MLflow's own loader reads the directory and predicts what the trained pipeline predicts.

MLflow is an optional dependency of the package but a development one (requirements-dev.txt pulls in
requirements-mlflow.txt), so these tests import it directly: a CI without it fails instead of skipping.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pytest
import yaml

from pipeline_core.artifacts.export import build_metadata
from pipeline_core.artifacts.mlflow_export import dump_mlflow_zip, mlflow_available, save_mlflow_model
from pipeline_core.errors import ModelError
from tests.pipeline_core.test_cli import cli, ok
from tests.pipeline_core.trained import TARGET, churn_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def churn():
    result, frame = churn_model()
    return result.pipeline, build_metadata(result, frame), frame


@pytest.fixture(scope="module")
def saved(churn, tmp_path_factory) -> Path:
    pipeline, metadata, frame = churn
    return save_mlflow_model(pipeline, metadata, frame, tmp_path_factory.mktemp("mlflow") / "model")


def test_mlflow_loads_the_directory_and_predicts_like_the_trained_pipeline(churn, saved):
    pipeline, _, frame = churn
    rows = frame.drop(columns=[TARGET])
    loaded = mlflow.pyfunc.load_model(str(saved))
    np.testing.assert_array_equal(np.asarray(loaded.predict(rows)), pipeline.predict(rows))


def test_the_directory_has_a_signature_an_input_example_and_pinned_requirements_but_no_pickle(churn, saved):
    pipeline, metadata, frame = churn
    files = {p.relative_to(saved).as_posix() for p in saved.rglob("*") if p.is_file()}
    assert "artifacts/model.skops" in files and "pipeline_studio_model.py" in files
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".joblib", ".cloudpickle"))]
    flavour = yaml.safe_load((saved / "MLmodel").read_text())["flavors"]["python_function"]
    assert flavour["loader_module"] == "mlflow.pyfunc.loaders.code_model"  # models from code, not a pickled object
    signature = mlflow.models.Model.load(str(saved)).signature
    assert signature.inputs.input_names() == [f["name"] for f in metadata["features"]]
    example = json.loads((saved / "input_example.json").read_text())
    assert example["columns"] == signature.inputs.input_names() and len(example["data"]) == 5
    requirements = (saved / "requirements.txt").read_text().splitlines()
    assert set(metadata["requirements"]) <= set(requirements)
    assert "pipeline-studio==0.1.0" in requirements and all("==" in line for line in requirements)


def test_the_download_zip_unpacks_to_a_directory_mlflow_loads(churn, tmp_path):
    pipeline, metadata, frame = churn
    with zipfile.ZipFile(io.BytesIO(dump_mlflow_zip(pipeline, metadata, frame))) as archive:
        assert "MLmodel" in archive.namelist()
        archive.extractall(tmp_path / "unzipped")
    rows = frame.drop(columns=[TARGET]).head(50)
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "unzipped"))
    np.testing.assert_array_equal(np.asarray(loaded.predict(rows)), pipeline.predict(rows))


def test_an_existing_target_folder_is_refused(churn, saved):
    pipeline, metadata, frame = churn
    with pytest.raises(ModelError, match="already exists"):
        save_mlflow_model(pipeline, metadata, frame, saved)


def test_without_mlflow_the_export_says_how_to_install_it(tmp_path):
    assert mlflow_available()
    code = ("import sys; sys.modules['mlflow'] = None\n"  # what an installation without the extra sees
            "from pipeline_core.artifacts.mlflow_export import mlflow_available, save_mlflow_model\n"
            "from pipeline_core.errors import ModelError\n"
            "assert not mlflow_available()\n"
            "try:\n    save_mlflow_model(None, {}, None, 'x')\n"
            "except ModelError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pip install 'pipeline-studio[mlflow]'" in done.stdout


def test_the_cli_writes_an_mlflow_folder_or_zip(churn, tmp_path):
    from pipeline_core.artifacts.export import save_model

    pipeline, metadata, frame = churn
    save_model(pipeline, tmp_path / "model.skops", "skops", metadata)
    frame.to_csv(tmp_path / "train.csv", index=False)
    no_data = cli("export", "model.skops", "--to", "mlflow", "--out", "m", cwd=tmp_path)
    assert no_data.returncode == 2 and no_data.stderr.count("\n") == 1 and "pass --data FILE" in no_data.stderr
    ok(cli("export", "model.skops", "--to", "mlflow", "--data", "train.csv", "--out", "m", cwd=tmp_path))
    ok(cli("export", "model.skops", "--to", "mlflow", "--data", "train.csv", "--out", "m.zip", cwd=tmp_path))
    rows = frame.drop(columns=[TARGET]).head(20)
    np.testing.assert_array_equal(np.asarray(mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(rows)),
                                  pipeline.predict(rows))
    assert "MLmodel" in zipfile.ZipFile(tmp_path / "m.zip").namelist()

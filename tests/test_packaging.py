"""``pip install .`` in a fresh virtual environment gives the packages, the ``pipeline-studio`` command, and
everything a model exported from the app needs to load and predict there.

The build backend comes from the package index, as for a user. The project's dependencies do not: the
fresh environment sees this test run's installed ones through a ``.pth`` file, so the install itself is
``--no-deps`` and ``pip check`` then proves every declared dependency is satisfied there. Each command
runs outside the checkout, so Python imports the installed copy, not the source tree.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sysconfig
import venv
from pathlib import Path

import pandas as pd
import pytest

from pipeline_core.analysis.drift import drift_kind, drift_report
from pipeline_core.artifacts.export import build_metadata, dump_bundle, save_model
from tests.pipeline_core.trained import TARGET, churn_model

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with ``pip install .`` of a copy of the checkout done in it; returns its bin folder."""
    base = tmp_path_factory.mktemp("install")
    env_dir = base / "env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], base).stdout.strip()
    (Path(site) / "test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    source = base / "src"
    _copy_checkout(source)
    _run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(source)], base)
    return env_dir / "bin"


def _copy_checkout(source: Path) -> None:
    """Copy the files git tracks or would track (edits included), as a clean clone plus the change under test."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    for name in listed:
        origin = ROOT / name
        if origin.is_file():
            target = source / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(origin.read_bytes())


def test_console_command_runs(installed: Path, tmp_path: Path) -> None:
    """``pipeline-studio`` is ``python -m studio``: every core command plus the model registry's."""
    done = _run([str(installed / "pipeline-studio"), "--help"], tmp_path)
    assert "profile" in done.stdout and "train" in done.stdout and "models" in done.stdout
    module = _run([str(installed / "python"), "-m", "studio", "--help"], tmp_path)
    assert module.stdout.replace("python -m studio", "pipeline-studio") == done.stdout
    core = _run([str(installed / "python"), "-m", "pipeline_core", "--help"], tmp_path).stdout
    assert core.split("usage of each command")[1] in done.stdout  # the core's commands, all of them
    unknown = subprocess.run([str(installed / "pipeline-studio"), "models", "list", "--pipeline", "churn"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=600,
                             env={**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
                                  "PIPELINE_STUDIO_HOME": str(tmp_path / "studio")})
    assert (unknown.returncode, unknown.stderr) == (
        2, "error: There is no pipeline named 'churn' in this workspace; save one on the Pipelines page first.\n")


def test_installed_packages_import_from_site_packages(installed: Path, tmp_path: Path) -> None:
    code = ("import pipeline_core, storage, pathlib; "
            "print(pathlib.Path(pipeline_core.__file__).parent.parent); "
            "storage.init_db(storage.Store.at(pathlib.Path('.'), 'sqlite:///' + "
            "str(pathlib.Path('x.db').resolve()))); print('migrated')")
    done = _run([str(installed / "python"), "-c", code], tmp_path)
    where, migrated = done.stdout.split()
    assert Path(where) != ROOT and "site-packages" in where
    assert migrated == "migrated"


def test_the_model_report_template_is_installed(installed: Path, tmp_path: Path) -> None:
    """The report's page template ships as package data: an installed copy renders a report with a chart."""
    code = ("import plotly.graph_objects as go; from pipeline_core.reporting.document import Chart, Document, Section; "
            "from pipeline_core.reporting.html import to_html; "
            "page = to_html(Document('t', 's', [Section('k', 'K', 'one', [Chart(go.Figure())])])); "
            "print(page.startswith('<!DOCTYPE html>'), 'Plotly.newPlot' in page, len(page) > 1_000_000)")
    assert _run([str(installed / "python"), "-c", code], tmp_path).stdout.split() == ["True", "True", "True"]


def test_declared_dependencies_are_satisfied(installed: Path, tmp_path: Path) -> None:
    _run([str(installed / "python"), "-m", "pip", "check"], tmp_path)


def test_declared_dependencies_cover_what_a_model_records(installed: Path, tmp_path: Path) -> None:
    """The pins a model records are what this installation has, the project included at its version."""
    result, frame = churn_model()
    code = ("import json; from pipeline_core.artifacts.metadata import runtime_requirements; "
            "print(json.dumps(runtime_requirements()))")
    pins = json.loads(_run([str(installed / "python"), "-c", code], tmp_path).stdout)
    assert pins == build_metadata(result, frame)["requirements"]
    assert pins[0] == "pipeline-studio==0.1.0"
    assert {p.split("==")[0] for p in pins} >= {"scikit-learn", "numpy", "pandas", "scipy", "skops"}


def test_readme_snippet_loads_an_exported_model_and_predicts_the_same(installed: Path, tmp_path: Path) -> None:
    """The README's plain-Python snippet, run as written where only the installed package exists.

    The model holds this project's own transformers (frame preparer, date parts, outlier clipping), which
    skops refuses unless they are trusted: the snippet must load it all the same and predict what the app does.
    """
    result, frame = churn_model()
    save_model(result.pipeline, tmp_path / "model.skops", "skops", build_metadata(result, frame))
    rows = frame.drop(columns=[TARGET]).head(40)
    rows.to_csv(tmp_path / "new.csv", index=False)
    snippet = readme_python_block("load_model(")
    script = snippet + "\nimport json\njson.dump([str(p) for p in predictions], open('out.json', 'w'))\n"
    _run([str(installed / "python"), "-c", script], tmp_path)
    expected = result.pipeline.predict(pd.read_csv(tmp_path / "new.csv"))
    assert json.loads((tmp_path / "out.json").read_text()) == [str(p) for p in expected]


def test_a_bundle_loads_and_predicts_in_a_fresh_install(installed: Path, tmp_path: Path) -> None:
    """The README's bundle snippet, run where only the installed package exists: same predictions, same drift."""
    result, frame = churn_model(rules=[{"kind": "not_null", "column": "city"}])
    metadata = build_metadata(result, frame)
    (tmp_path / "model-bundle.zip").write_bytes(dump_bundle(result.pipeline, metadata, frame))
    rows = frame.drop(columns=[TARGET]).sample(120, random_state=0).reset_index(drop=True)
    rows.to_csv(tmp_path / "new.csv", index=False)
    script = readme_python_block("load_bundle(") + (
        "import json\n"
        "json.dump({'labels': [str(p) for p in predictions],\n"
        "           'probabilities': bundle.pipeline.predict_proba(rows).tolist(),\n"
        "           'examples': [str(p) for p in bundle.pipeline.predict(bundle.schema.example_frame())],\n"
        "           'psi': drift.set_index('column')['psi'].to_dict(),\n"
        "           'rules': bundle.rules, 'requirements': bundle.requirements}, open('out.json', 'w'))\n")
    _run([str(installed / "python"), "-c", script], tmp_path)
    out = json.loads((tmp_path / "out.json").read_text())
    new = pd.read_csv(tmp_path / "new.csv")
    assert out["labels"] == [str(p) for p in result.pipeline.predict(new)]
    assert out["probabilities"] == result.pipeline.predict_proba(new).tolist()
    assert out["examples"] == [str(p) for p in result.pipeline.predict(frame.head(5))]
    names = [f["name"] for f in metadata["features"]]
    kinds = {f["name"]: drift_kind(f["type"]) for f in metadata["features"]}
    assert out["psi"] == drift_report(frame[names], new, kinds=kinds).set_index("column")["psi"].to_dict()
    assert out["rules"] == metadata["definition"]["rules"] and out["requirements"] == metadata["requirements"]


def test_plain_skops_loads_a_model_with_the_trusted_type_list(installed: Path, tmp_path: Path) -> None:
    """The README's hint for calling skops directly works with the project's custom transformers."""
    result, frame = churn_model()
    save_model(result.pipeline, tmp_path / "model.skops", "skops", build_metadata(result, frame))
    script = ("import skops.io, json, pandas as pd\n"
              "from pipeline_core.artifacts.export import TRUSTED_TYPES\n"
              "pipeline = skops.io.load('model.skops', trusted=list(TRUSTED_TYPES))\n"
              "print(json.dumps([str(p) for p in pipeline.predict(pd.read_parquet('rows.parquet'))]))\n")
    rows = frame.drop(columns=[TARGET]).head(30)
    rows.to_parquet(tmp_path / "rows.parquet")
    done = _run([str(installed / "python"), "-c", script], tmp_path)
    assert json.loads(done.stdout) == [str(p) for p in result.pipeline.predict(rows)]


def readme_python_block(containing: str) -> str:
    """The first ```python block of the README that contains ``containing``."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    return next(b for b in blocks if containing in b)


def test_the_mlflow_extra_pins_what_requirements_mlflow_txt_pins() -> None:
    """`pip install .[mlflow]` and `pip install -r requirements-mlflow.txt` (used by make test) agree."""
    import tomllib

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["mlflow"]
    pinned = [line.strip() for line in (ROOT / "requirements-mlflow.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert extra == pinned and all("==" in pin for pin in pinned)
    assert "-r requirements-mlflow.txt" in (ROOT / "requirements-dev.txt").read_text().splitlines()

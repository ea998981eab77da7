"""``pip install .`` in a fresh virtual environment gives the packages and the ``pipeline-studio`` command.

The build backend comes from the package index, as for a user. The project's dependencies do not: the
fresh environment sees this test run's installed ones through a ``.pth`` file, so the install itself is
``--no-deps`` and ``pip check`` then proves every declared dependency is satisfied there. Each command
runs outside the checkout, so Python imports the installed copy, not the source tree.
"""

from __future__ import annotations

import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

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
    done = _run([str(installed / "pipeline-studio"), "--help"], tmp_path)
    assert "profile" in done.stdout and "train" in done.stdout
    module = _run([str(installed / "python"), "-m", "pipeline_core", "--help"], tmp_path)
    assert module.stdout.replace("python -m pipeline_core", "pipeline-studio") == done.stdout


def test_installed_packages_import_from_site_packages(installed: Path, tmp_path: Path) -> None:
    code = ("import pipeline_core, storage, pathlib; "
            "print(pathlib.Path(pipeline_core.__file__).parent.parent); "
            "storage.init_db(storage.Store.at(pathlib.Path('.'), 'sqlite:///' + "
            "str(pathlib.Path('x.db').resolve()))); print('migrated')")
    done = _run([str(installed / "python"), "-c", code], tmp_path)
    where, migrated = done.stdout.split()
    assert Path(where) != ROOT and "site-packages" in where
    assert migrated == "migrated"


def test_declared_dependencies_are_satisfied(installed: Path, tmp_path: Path) -> None:
    _run([str(installed / "python"), "-m", "pip", "check"], tmp_path)

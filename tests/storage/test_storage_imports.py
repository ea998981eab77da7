"""The storage layer stays below the UI and the ML core (it imports neither) and reads no environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STORAGE = Path(__file__).resolve().parents[2] / "storage"
FORBIDDEN = ("streamlit", "sklearn", "pipeline_core")


def _imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted(STORAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(STORAGE)))
def test_storage_module_imports_no_ui_or_ml_code(path: Path) -> None:
    bad = sorted(m for m in _imported_modules(path) if m.split(".")[0] in FORBIDDEN)
    assert bad == [], f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", sorted(STORAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(STORAGE)))
def test_storage_module_reads_no_environment_variable(path: Path) -> None:
    """The database and home come in a ``Store`` from the application's settings, never from ``os.environ``."""
    uses = [f"line {node.lineno}" for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv", "unsetenv")]
    assert uses == [], f"{path.name} touches the environment at {uses}"

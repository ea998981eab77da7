"""The layers stay one-directional and no module imports itself back.

pages → studio (the application layer) → pipeline_core, storage. The core knows no UI, database or
application layer; storage knows no UI, scikit-learn or core; studio knows no UI; no page (nor app.py)
imports storage. Imports inside
functions count the same as module-level ones: an import hidden in a function is still a dependency,
and a cycle hidden that way is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline_core", "storage", "studio", "pages")
FORBIDDEN = {
    "pipeline_core": {"streamlit", "sqlmodel", "sqlalchemy", "storage", "studio", "pages"},
    "storage": {"streamlit", "sklearn", "pages", "pipeline_core", "studio"},
    "studio": {"streamlit", "pages"},
    "pages": {"sklearn", "storage"},  # app.py counts as a page: the UI reaches the store only through studio
}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module ``path`` imports, anywhere in the file, as dotted names (``from a import b`` gives a.b and a)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def project_files() -> list[Path]:
    files = [ROOT / "app.py"]
    for package in PACKAGES:
        files += sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else []
    return [f for f in files if "migrations/versions" not in f.as_posix()]


def import_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports (a ``from package import module`` names the module).

    A module's own parent packages are left out: Python runs them before the module in any case,
    so a submodule naming its package (``from storage import files``) is no cycle of ours.
    """
    modules = {module_name(f): f for f in project_files()}
    graph = {}
    for name, path in modules.items():
        parents = {name.rsplit(".", n)[0] for n in range(1, name.count(".") + 1)}
        graph[name] = {m for m in imported_modules(path) if m in modules and m != name and m not in parents}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_across_layers(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted({m.split(".")[0] for m in imported_modules(path)} & FORBIDDEN[package])
        for path in [*(ROOT / package).rglob("*.py"), *([ROOT / "app.py"] if package == "pages" else [])]
    }
    assert {k: v for k, v in offenders.items() if v} == {}


# Empty since issue 13 took the last two apart; the list may only shrink.
KNOWN_CYCLES: list[list[str]] = []


def test_no_import_cycles_between_project_modules():
    assert sorted(cycles(import_graph())) == sorted(KNOWN_CYCLES)


def test_the_cycle_check_finds_a_cycle_hidden_in_a_function(tmp_path):
    """The check itself can fail: two modules importing each other, one of them inside a function."""
    (tmp_path / "a.py").write_text("import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from a import g\n")
    graph = {name: {m for m in imported_modules(tmp_path / f"{name}.py", tmp_path) if m in {"a", "b"}} for name in "ab"}
    assert cycles(graph) == [["a", "b"]]


def test_test_modules_outside_packages_have_unique_names():
    """pytest imports a test file in a folder without ``__init__.py`` under its bare name, so two such files with
    one name stop the whole run at collection ("import file mismatch") though each passes on its own."""
    seen: dict[str, list[str]] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):
        if not (path.parent / "__init__.py").exists():
            seen.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}

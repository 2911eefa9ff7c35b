"""The package's import graph has no cycle, counting imports inside functions too.

Every module under ``pipeline/`` is parsed with ``ast`` (nothing is imported). ``import a.b`` and
``from a.b import c`` give an arrow to module ``a.b``, or to ``a.b.c`` when that is a module
itself (``from pipeline.store import items`` names a submodule); relative imports are resolved
against the importing module. Only arrows between lendwatch's own modules count.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "pipeline"


def module_files(root: Path = ROOT) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        files[".".join(parts)] = path
    return files


def _is_package(name: str, files: Mapping[str, Path]) -> bool:
    return files[name].name == "__init__.py"


def imports_of(name: str, files: Mapping[str, Path]) -> set[str]:
    """The lendwatch modules that module ``name`` imports, anywhere in its body."""
    tree = ast.parse(files[name].read_text(encoding="utf-8"), str(files[name]))
    package = name if _is_package(name, files) else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in files:
                    found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, node.module] if node.module else base_parts)
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in files:
                    found.add(sub)
                elif base in files:
                    found.add(base)
    found.discard(name)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    files = module_files(root)
    return {name: imports_of(name, files) for name in files}


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]``, or None when the graph is acyclic."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Cycles to report: one, then another among the modules not in it, and so on (empty when
    the graph is acyclic; a cycle through a module already reported may go unlisted)."""
    found: list[list[str]] = []
    rest = {node: set(targets) for node, targets in graph.items()}
    while (cycle := find_cycle(rest)) is not None:
        found.append(cycle)
        members = set(cycle)
        for node in members:
            rest.pop(node, None)
        for targets in rest.values():
            targets -= members
    return found


def test_the_package_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 40, "the package was not found"
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_leaf_and_the_table_modules_import_only_downwards() -> None:
    graph = import_graph()
    assert graph["pipeline.db"] == {"pipeline.errors"}
    for table in ("items", "sources", "deliveries", "meta"):
        mine = graph[f"pipeline.store.{table}"]
        assert not {m for m in mine if m.startswith("pipeline.store")}, table
        assert mine <= {"pipeline.db", "pipeline.models", "pipeline.errors"}, table


def test_outside_the_store_only_its_facade_is_imported() -> None:
    import pipeline.store

    graph = import_graph()
    for module, targets in sorted(graph.items()):
        if module.startswith("pipeline.store"):
            continue
        inner = {t for t in targets if t.startswith("pipeline.store.")}
        assert not inner, f"{module} imports {', '.join(sorted(inner))}"
    # and from the package, only its API (the table functions it still re-exports are not)
    api = set(pipeline.store.__all__)
    files = module_files()
    for module, path in sorted(files.items()):
        if module.startswith("pipeline.store"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "pipeline.store":
                names = {alias.name for alias in node.names}
                assert names <= api, f"{module} imports {', '.join(sorted(names - api))}"


def _write(root: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (  # a submodule named by ``from package import name``, inside a function
            {
                "pipeline/__init__.py": "",
                "pipeline/store/__init__.py": "",
                "pipeline/store/schema.py": "def f():\n    from pipeline.store import items\n",
                "pipeline/store/items.py": "from pipeline.store.schema import f\n",
            },
            ["pipeline.store.items", "pipeline.store.schema", "pipeline.store.items"],
        ),
        (  # relative imports
            {
                "pipeline/__init__.py": "",
                "pipeline/a.py": "from . import b\n",
                "pipeline/b.py": "from .c import x\n",
                "pipeline/c.py": "import pipeline.a\n",
            },
            ["pipeline.a", "pipeline.b", "pipeline.c", "pipeline.a"],
        ),
        (  # a name from a package's __init__ is an arrow to the package, not a cycle here
            {
                "pipeline/__init__.py": "",
                "pipeline/store/__init__.py": "from pipeline.store.api import Store\n",
                "pipeline/store/api.py": "from pipeline.db import x\n",
                "pipeline/db.py": "import os\n",
                "pipeline/cli.py": "from pipeline.store import Store\n",
            },
            None,
        ),
    ],
)
def test_the_checker_finds_cycles(
    tmp_path: Path, files: Mapping[str, str], expected: list[str] | None
) -> None:
    _write(tmp_path, files)
    assert find_cycle(import_graph(tmp_path)) == expected

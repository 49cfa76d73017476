"""The package's import graph, built from the source: no module imports one that imports it."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "geo_renewal"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Ids of nodes inside ``if TYPE_CHECKING:`` blocks (type-only imports are allowed)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Modules of the package that `path` imports, at import time or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            # `from geo_renewal import settings` imports the module geo_renewal.settings
            found.update(f"{node.module}.{a.name}" for a in node.names)
    own = {m for m in found if m in modules}
    if "geo_renewal" in own and any(m.startswith("geo_renewal.") for m in own):
        own.discard("geo_renewal")  # `from geo_renewal import x` runs the package's small init
    return own - {_module_name(path)}


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {name: _imports(path, modules) for name, path in files.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    cycles = _cycles(import_graph())
    assert cycles == [], f"import cycles between modules: {cycles}"


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("geo_renewal.io", "geo_renewal.classify"),
        ("geo_renewal.io", "geo_renewal.partitioned"),
        ("geo_renewal._classify_kernel", "geo_renewal.partitioned"),
        ("geo_renewal._stats_kernel", "geo_renewal.partitioned"),
        ("geo_renewal.rules", "geo_renewal.classify"),
        ("geo_renewal.spatial", "geo_renewal.rules"),
    ],
)
def test_layers_import_downwards(low, high):
    """A lower layer never imports a higher one, directly or through others."""
    graph = import_graph()
    seen, todo = set(), [low]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo.extend(graph.get(m, ()))
    assert high not in seen, f"{low} reaches {high}"

"""The package's structure: its modules and subpackages import each other without cycles, none
loads another of the package's modules by name (importlib), and every module stays small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "trainability"
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, top_level_only: bool) -> set[str]:
    """The package's modules that `path` imports (statements inside functions too, unless
    `top_level_only`), resolved to the longest known module name."""
    tree = ast.parse(path.read_text())
    if top_level_only:  # what runs on import: module-level statements, try/if blocks
        statements = [stmt for stmt in tree.body
                      if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef
                                        | ast.ClassDef) and not _type_checking(stmt)]
        nodes = [n for stmt in statements for n in ast.walk(stmt)]
    else:
        nodes = list(ast.walk(tree))
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
    found = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name.startswith("trainability"):
            found.add(name)
    return found - {module_name(path)}


def _type_checking(stmt: ast.stmt) -> bool:
    """`if TYPE_CHECKING:`: imports for annotations only, never run."""
    return isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def subpackage(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def test_modules_import_each_other_without_cycles():
    """At module level: a cycle would make the import order matter."""
    graph = {name: imports(path, top_level_only=True) for name, path in MODULES.items()}
    # A package's __init__ re-exporting its modules is not a cycle of design.
    graph = {name: {t for t in targets if not (name.startswith(t + ".") and
                                                 MODULES[t].name == "__init__.py")}
             for name, targets in graph.items()}
    assert cycles(graph) == []


def test_subpackages_import_each_other_without_cycles():
    """Every import, inside functions too: data, nets, tricks, train, pipeline, analysis,
    figures and report form layers."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        graph.setdefault(subpackage(name), set()).update(
            subpackage(t) for t in imports(path, top_level_only=False)
            if subpackage(t) != subpackage(name))
    assert cycles(graph) == []


def test_no_module_loads_one_of_the_package_by_name():
    """importlib on the package's own modules hides imports (and cycles) from readers."""
    offenders = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and any(
                    isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                    and arg.value.startswith("trainability") for arg in node.args):
                func = ast.unparse(node.func)
                if "import_module" in func or func == "__import__":
                    offenders.append(f"{name}: {ast.unparse(node)}")
    assert offenders == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines: split it by topic"

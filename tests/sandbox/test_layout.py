"""The sandbox's layering, checked from its source: `core/` (the simulated world) imports no
broker façade or protocol module, and no two sandbox modules import each other in a cycle.

Imports are read with `ast` (module level, where a cycle would bite at import time), so the
test fails on the import statement itself, whatever runs or not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sandbox

ROOT = Path(sandbox.__file__).parent
PACKAGE = "sandbox"
CORE = f"{PACKAGE}.core"


def module_name(path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in ROOT.rglob("*.py")}


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def sandbox_imports(module: str) -> set[str]:
    """Sandbox modules `module` imports at module level."""
    path = MODULES[module]
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, path, node)
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        found.update(n for n in names if n in MODULES and n != module)
    return found


GRAPH = {module: sandbox_imports(module) for module in MODULES}


def test_the_walk_sees_the_sandbox():
    """Guard against a vacuous pass: the walk finds the known modules and edges."""
    assert f"{CORE}.brokerage" in GRAPH and f"{PACKAGE}.tastytrade.wire" in GRAPH
    assert f"{CORE}.records" in GRAPH[f"{CORE}.brokerage"]
    assert f"{PACKAGE}.tastytrade.record_wire" in GRAPH[f"{PACKAGE}.tastytrade.orders"]


def test_core_imports_no_facade_or_protocol_module():
    offenders = {
        module: sorted(i for i in imports if not i.startswith(CORE))
        for module, imports in GRAPH.items()
        if module.startswith(CORE)
    }
    assert {m: i for m, i in offenders.items() if i} == {}


def test_no_import_cycles_between_sandbox_modules():
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert cycles == []

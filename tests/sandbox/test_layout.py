"""The sandbox's layout, checked from its source (docs/sandbox.md, "Layout"):
- `core/` (the simulated world) imports no broker façade or protocol module;
- `core/market/` imports nothing of the brokerage: only itself and the facts it stands on
  (`MARKET_STANDS_ON`);
- no two sandbox modules import each other in a cycle;
- one concept per module: none over `MAX_LINES` lines, and no folder keeps three or more
  siblings told apart by a shared first word (`orders_x`, `orders_y`, `orders_z` are a
  package waiting to happen).

Imports are read with `ast` (module level, where a cycle would bite at import time), so the
test fails on the import statement itself, whatever runs or not.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import sandbox

ROOT = Path(sandbox.__file__).parent
PACKAGE = "sandbox"
CORE = f"{PACKAGE}.core"
MARKET = f"{CORE}.market"
#: What the market may import outside itself: facts, never the brokerage.
MARKET_STANDS_ON = {f"{CORE}.pricing", f"{CORE}.symbols", f"{CORE}.trading_calendar"}
MAX_LINES = 500


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
    assert f"{MARKET}.state" in GRAPH[f"{MARKET}.walk"]


def test_core_imports_no_facade_or_protocol_module():
    offenders = {
        module: sorted(i for i in imports if not i.startswith(CORE))
        for module, imports in GRAPH.items()
        if module.startswith(CORE)
    }
    assert {m: i for m, i in offenders.items() if i} == {}


def test_the_market_imports_nothing_of_the_brokerage():
    offenders = {
        module: sorted(i for i in imports if not i.startswith(MARKET) and i not in MARKET_STANDS_ON)
        for module, imports in GRAPH.items()
        if module.startswith(MARKET)
    }
    assert {m: i for m, i in offenders.items() if i} == {}


def test_no_sandbox_module_is_over_the_size_limit():
    sizes = {module: len(path.read_text().splitlines()) for module, path in MODULES.items()}
    assert {m: n for m, n in sizes.items() if n > MAX_LINES} == {}


def prefix_clusters(names: list[str]) -> dict[str, list[str]]:
    """Names told apart only after a shared first word (`trade_events`, `trade_sse`,
    `trade_stream`), three or more of them."""
    by_word: dict[str, list[str]] = defaultdict(list)
    for name in names:
        by_word[name.split("_")[0]].append(name)
    return {word: sorted(group) for word, group in by_word.items() if len(group) >= 3}


def test_no_folder_keeps_siblings_told_apart_by_a_prefix():
    folders = [ROOT, *(p for p in ROOT.rglob("*") if p.is_dir() and p.name != "__pycache__")]
    clusters = {}
    for folder in folders:
        names = [
            p.stem
            for p in folder.iterdir()
            if (p.suffix == ".py" and p.stem != "__init__")
            or (p.is_dir() and (p / "__init__.py").exists())
        ]
        if found := prefix_clusters(names):
            clusters[str(folder.relative_to(ROOT.parent))] = found
    assert clusters == {}


def test_the_checks_see_a_cluster():
    """The prefix check itself can fail."""
    assert prefix_clusters(["trade_events", "trade_sse", "trade_stream", "orders"]) == {
        "trade": ["trade_events", "trade_sse", "trade_stream"]
    }


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

"""The layout's rules, kept true (docs/streaming.md, "The map").

Every import counts, also one made only for typing or inside a function: a typing-only
import is still two-way knowledge. The rules:
- no import circles between the app's modules;
- the broker sandbox imports nothing from the app;
- imports point down the flow: a module imports only from its own tier or lower ones
  (`TIERS`); what a lower tier needs from a higher one is handed in at the composition
  root (`streaming/wiring.py`, `streaming/apps.py`);
- no feature imports another feature (`FEATURES`): what two of them share lives below
  them (`streaming/portfolio/`), what composes them above them (`streaming/pages/`);
- no two of streaming's top-level packages import each other, in any direction;
- no folder of streaming/ keeps three or more modules told apart by a shared first word
  (`limits_input`, `limits_rules`, `limits_store`: a folder `limits/` waiting to happen);
- no Python module over 500 lines (the app, the sandbox, the benches; tests and migrations
  aside), as no browser module is (tests/test_browser_layout.py).
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_PACKAGES = ("streaming", "accounts", "operations", "config", "sandbox")

#: The features: a package each, beside one another. No feature imports another.
FEATURES: tuple[str, ...] = (
    "streaming.alerts",
    "streaming.candles",
    "streaming.chains",
    "streaming.links",  # a link verified at its broker, and its admin page
    "streaming.news",
    "streaming.orders",
    "streaming.overview",
    "streaming.replay",  # a recorded day played through the stream (docs/streaming.md)
    "streaming.risk",
    "streaming.trading",
    "streaming.user_settings",  # a user's tokens and preferences pages
    "streaming.watchlist",
)

#: The tiers of streaming/, lowest first. A module's tier is that of the longest prefix
#: listed; a module imports only from its own tier or lower ones.
TIERS: list[tuple[str, ...]] = [
    ("streaming.runtime",),
    (
        "streaming.instruments",  # what a symbol names: pure, below every broker
        # what a position is worth, read from the contract's shapes: pure
        "streaming.portfolio.valuation",
        "streaming.portfolio.totals",
        "streaming.portfolio.day_change",
        # price * IV * sqrt(days / 365): the risk feature's and the chain page's alike
        "streaming.portfolio.expected_move",
    ),
    (
        "streaming.brokers",
        "streaming.contract",  # a package: a module per part of the contract, none re-exported
        "streaming.api",  # the HTTP API's description, error bodies and error handlers
        "streaming.validation",
        "streaming.metrics",
        # the login throttle: below the features (the trading switch checks a password
        # through it) and the pages (the login form)
        "streaming.lockout",
        "streaming.models",  # a package: a module per concept, every model in its __init__
        "streaming.checkpoints",
        "streaming.request_body",
        "streaming.order_list",
        "streaming.order_terms",
    ),
    ("streaming.stream",),
    ("streaming.cluster",),
    ("streaming.tabs",),
    ("streaming.push",),  # delivery to closed pages: used by the features that notify
    # the user's portfolio as every feature reads it (its snapshot, their holdings):
    # below every feature, it imports none
    ("streaming.portfolio",),
    FEATURES,
    # pages composed of several features (the dashboard, /risk, the login, the polling
    # snapshot, a route two features share): a page may import any feature, no feature a page
    ("streaming.pages",),
    (
        "streaming.wiring",
        "streaming.node",
        "streaming.watched",
        "streaming.apps",
        "streaming.admin",
        "streaming.routing",
        "streaming.management",
        "streaming.templatetags",
        "streaming.migrations",
    ),
]

#: Pairs of streaming's top-level packages that still import each other: none.
TWO_WAY_TIES_LEFT: set[frozenset[str]] = set()

#: The one user's stream knows no ORM (it is handed what it needs).
STREAM_FORBIDDEN = ("streaming.models", "django.db", "streaming.checkpoints")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def app_modules() -> dict[str, Path]:
    found = {}
    for package in APP_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found[module_name(path)] = path
    return found


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module of the app `name` imports, wherever the import statement is."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" for alias in node.names]
            targets = [t if t in modules else source for t in targets]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    modules = app_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def tier_of(name: str) -> int | None:
    best: tuple[int, int] | None = None
    for tier, prefixes in enumerate(TIERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[1]
            ):
                best = (tier, len(prefix))
    return None if best is None else best[0]


def feature_of(name: str) -> str | None:
    """The feature `name` belongs to (None: no feature's module)."""
    return next((f for f in FEATURES if name == f or name.startswith(f + ".")), None)


def feature_crossings(edges: dict[str, set[str]]) -> list[str]:
    """Every import from one feature's module into another feature's."""
    return [
        f"{name} -> {target}"
        for name, targets in sorted(edges.items())
        for target in sorted(targets)
        if feature_of(name) and feature_of(target) and feature_of(name) != feature_of(target)
    ]


def top_package(name: str) -> str | None:
    """`streaming.risk.limits.store` -> `streaming.risk` (None outside streaming/)."""
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "streaming" and len(parts) > 1 else None


def two_way_ties(edges: dict[str, set[str]]) -> set[frozenset[str]]:
    """Pairs of streaming's top-level packages where each imports the other."""
    uses: set[tuple[str, str]] = set()
    for name, targets in edges.items():
        for target in targets:
            a, b = top_package(name), top_package(target)
            if a and b and a != b:
                uses.add((a, b))
    return {frozenset(pair) for pair in uses if (pair[1], pair[0]) in uses}


def prefix_clusters(paths: list[Path], *, least: int = 3) -> dict[str, list[str]]:
    """`folder/prefix_` -> its sibling modules (or packages) named `prefix_…`, where a
    folder keeps `least` or more of them."""
    found: dict[str, set[str]] = {}
    for path in paths:
        stem = path.parent.name if path.name == "__init__.py" else path.stem
        folder = path.parent.parent if path.name == "__init__.py" else path.parent
        if "_" not in stem.strip("_"):
            continue
        prefix = stem.split("_")[0]
        found.setdefault(f"{folder.as_posix()}/{prefix}_", set()).add(stem)
    return {key: sorted(names) for key, names in sorted(found.items()) if len(names) >= least}


def streaming_paths() -> list[Path]:
    """The Python files of streaming/ (its migrations aside: Django names those)."""
    return [
        path.relative_to(ROOT)
        for path in (ROOT / "streaming").rglob("*.py")
        if "migrations" not in path.parts
    ]


def test_no_import_circles() -> None:
    assert circles(graph()) == []


def test_the_sandbox_imports_nothing_from_the_app() -> None:
    edges = graph()
    wrong = {
        (name, target)
        for name, targets in edges.items()
        if name.startswith("sandbox")
        for target in targets
        if not target.startswith("sandbox")
    }
    assert wrong == set()


def test_imports_point_down_the_flow() -> None:
    upward = []
    for name, targets in sorted(graph().items()):
        mine = tier_of(name)
        if mine is None:
            continue
        for target in sorted(targets):
            theirs = tier_of(target)
            if theirs is not None and theirs > mine:
                upward.append(f"{name} -> {target}")
    assert upward == []


def test_every_streaming_module_has_a_tier() -> None:
    untiered = [
        name for name in app_modules() if name.startswith("streaming.") and tier_of(name) is None
    ]
    assert untiered == []


def test_the_stream_knows_no_orm() -> None:
    wrong = []
    for name, path in app_modules().items():
        if not name.startswith("streaming.stream"):
            continue
        text = path.read_text()
        wrong += [f"{name} -> {f}" for f in STREAM_FORBIDDEN if f in text]
    assert wrong == []


def test_no_feature_imports_another_feature() -> None:
    assert feature_crossings(graph()) == []


def test_no_two_streaming_packages_import_each_other() -> None:
    assert two_way_ties(graph()) - TWO_WAY_TIES_LEFT == set()


def test_no_folder_keeps_three_siblings_told_apart_by_a_prefix() -> None:
    assert prefix_clusters(streaming_paths()) == {}


def test_the_checks_see_a_circle_and_an_upward_import() -> None:
    """The checks themselves can fail."""
    assert circles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert tier_of("streaming.stream.manager") < tier_of("streaming.cluster.agents")


def test_the_new_rules_can_fail() -> None:
    """A feature importing another, two packages importing each other and a folder of
    prefixed siblings are each seen; what the rules allow is not."""
    edges = {
        "streaming.risk.labels": {"streaming.portfolio.valuation"},
        "streaming.pages.dashboard": {"streaming.risk.labels", "streaming.news.panel"},
        "streaming.news.views": {"streaming.chains.service"},
        "streaming.brokers.client": {"streaming.metrics"},
        "streaming.metrics": {"streaming.brokers.errors"},
    }
    assert feature_crossings(edges) == ["streaming.news.views -> streaming.chains.service"]
    assert two_way_ties(edges) == {frozenset({"streaming.brokers", "streaming.metrics"})}
    paths = [
        Path("streaming/risk/limits_input.py"),
        Path("streaming/risk/limits_rules.py"),
        Path("streaming/risk/limits_store.py"),
        Path("streaming/risk/pnl_day.py"),
        Path("streaming/risk/pnl_stats.py"),
        Path("streaming/risk/limits/rules.py"),
        Path("streaming/news/sse_view.py"),
        Path("streaming/news/sse_params/__init__.py"),
        Path("streaming/news/sse_stream.py"),
        Path("streaming/stream/listener.py"),
        Path("streaming/stream/listener_services.py"),
    ]
    assert prefix_clusters(paths) == {
        "streaming/news/sse_": ["sse_params", "sse_stream", "sse_view"],
        "streaming/risk/limits_": ["limits_input", "limits_rules", "limits_store"],
    }


# ------------------------------------------------------------------ the top-level packages

#: The app's top-level packages, lowest first; a package imports only from its own level or
#: a lower one. The broker sandbox is lowest and apart (it imports nothing from the app:
#: above). `accounts` stands on its own: users' broker links, API tokens and preferences,
#: their tables and the services over them; what reaches a broker, a socket or Redis with
#: them lives in `streaming` (docs/streaming.md, "Above and below streaming/").
#: `operations` (health, metrics) reads both; `config` (settings, URLs, ASGI) composes all.
TOP_LEVEL: list[tuple[str, ...]] = [
    ("sandbox",),
    ("accounts",),
    ("streaming",),
    ("operations",),
    ("config",),
]


def level_of(name: str) -> int | None:
    """The level of the top-level package `name` belongs to (None: not one of the app's)."""
    top = name.split(".")[0]
    return next((i for i, level in enumerate(TOP_LEVEL) if top in level), None)


def upward_between_packages(edges: dict[str, set[str]]) -> list[str]:
    """Every import of a module from a top-level package above its own."""
    upward = []
    for name, targets in sorted(edges.items()):
        mine = level_of(name)
        for target in sorted(targets):
            theirs = level_of(target)
            if mine is not None and theirs is not None and theirs > mine:
                upward.append(f"{name} -> {target}")
    return upward


def test_no_top_level_package_imports_one_above_it() -> None:
    assert upward_between_packages(graph()) == []


def test_every_app_package_has_a_level() -> None:
    assert [package for package in APP_PACKAGES if level_of(package) is None] == []


def test_the_top_level_check_sees_an_upward_import() -> None:
    """The check itself can fail: on a made-up graph, the one import upward is named."""
    made_up = {
        "accounts.bearer": {"accounts.tokens", "streaming.contract"},
        "streaming.trading.cancels": {"accounts.models", "sandbox.core.market"},
        "operations.views": {"streaming.cluster.agents"},
        "config.urls": {"operations.views", "accounts.views"},
    }
    assert upward_between_packages(made_up) == ["accounts.bearer -> streaming.contract"]
    assert upward_between_packages({"operations.views": {"config.settings"}}) == [
        "operations.views -> config.settings"
    ]


# ------------------------------------------------------------------ module size

#: No Python module of the app, the sandbox or the benches is over this many lines: past it a
#: module holds more than one concept (tests/test_browser_layout.py holds the browser's to
#: the same). The tests are not held to it, nor Django's generated migrations.
MAX_MODULE_LINES = 500
#: Top-level folders that hold no module of ours.
NOT_MODULES = ("tests", "node_modules")


def python_listing() -> dict[str, int]:
    """Every Python module outside tests/ and migrations (repo-relative posix path), with
    its line count."""
    found = {}
    for top in sorted(ROOT.iterdir()):
        if top.name.startswith(".") or top.name in NOT_MODULES:
            continue
        paths = [top] if top.suffix == ".py" else sorted(top.rglob("*.py")) if top.is_dir() else []
        for path in paths:
            rel = path.relative_to(ROOT)
            if "migrations" not in rel.parts:
                found[rel.as_posix()] = len(path.read_text(encoding="utf-8").splitlines())
    return found


def oversized(lines: dict[str, int], limit: int = MAX_MODULE_LINES) -> list[str]:
    """The modules over `limit` lines, with their size."""
    return [f"{path}: {n} lines" for path, n in sorted(lines.items()) if n > limit]


def test_no_python_module_over_500_lines() -> None:
    assert oversized(python_listing()) == []


def test_the_size_listing_sees_every_package_and_skips_tests_and_migrations() -> None:
    found = python_listing()
    for path in ("manage.py", "bench/baselines.py", "sandbox/app.py", "streaming/wiring.py"):
        assert path in found
    assert {path.split("/")[0] for path in found} >= {*APP_PACKAGES, "bench"}
    assert not [path for path in found if path.startswith("tests/") or "/migrations/" in path]


def test_the_size_check_names_a_module_over_the_limit() -> None:
    """On a made-up listing, the 501-line module is named with its size; 500 lines pass."""
    lines = {"streaming/stream/manager.py": 501, "bench/judge.py": 500, "manage.py": 22}
    assert oversized(lines) == ["streaming/stream/manager.py: 501 lines"]


def test_mypy_checks_every_app_package() -> None:
    """pyproject.toml's [tool.mypy] `files` names every top-level app package, so the
    typed part of the app cannot shrink unnoticed."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    checked = set(config["tool"]["mypy"]["files"])
    assert {"streaming", "accounts", "operations", "config", "sandbox"} <= checked
    assert set(APP_PACKAGES) <= checked

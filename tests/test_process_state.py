"""No process state outside the composition root's object (streaming/node.py).

What a process shares (its agents, the tabs' heartbeat, the caches, the rate limiters, the
news hub, the push sender…) lives in one `Node` built at the composition root and handed
down; a test builds its own. So, in every app package:
- no `global` statement;
- no module-level `reset()` (a test never resets a module);
- no module-level name bound to something that changes: an empty container, a mutable
  collection (`Counter()`, `OrderedDict()`, `WeakKeyDictionary()`…), a lock, or an
  instance of a class that is not frozen (a frozen dataclass, a NamedTuple, an Enum and a
  read-only mapping are values, not state).

Allowed, and why: the composition root itself (streaming/node.py, config/asgi.py's
`application`), Django's template `Library` registers (Django's own registry, written
once at import), and Prometheus's metrics (streaming/metrics.py: prometheus_client's
registry is process-wide by design, its counters only grow and tests read differences).
"""

from __future__ import annotations

import ast

from tests.test_architecture import APP_PACKAGES, ROOT

#: Modules that build the process's state: the composition root.
COMPOSITION_ROOT = {"streaming/node.py", "config/asgi.py"}
#: Calls that make a value or a registry written once at import, not state.
VALUE_CALLS = {
    "TypeVar",
    "ParamSpec",
    "NewType",
    "TypedDict",
    "NamedTuple",
    "MappingProxyType",
    "UUID",
    "Decimal",
    "Path",
    "ZoneInfo",
    "Library",  # Django's template tags
    "DriverInfo",  # what redis-py tells the server, read once
    "frozenset",
    "tuple",
    "compile",  # re.compile
    "getLogger",
    "namedtuple",
}
#: Prometheus's metric kinds (streaming/metrics.py; see the docstring).
METRIC_CALLS = {"Counter", "Gauge", "Histogram", "Summary", "Info"}
MUTABLE_CALLS = {
    "dict",
    "list",
    "set",
    "bytearray",
    "Counter",
    "OrderedDict",
    "defaultdict",
    "deque",
    "WeakSet",
    "WeakKeyDictionary",
    "WeakValueDictionary",
    "Lock",
    "RLock",
    "Event",
    "Semaphore",
    "ContextVar",
}


def app_sources() -> dict[str, str]:
    """Every app module's path (relative to the repository) and text; migrations aside."""
    found = {}
    for package in APP_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative:
                found[relative] = path.read_text()
    return found


def _is_frozen(cls: ast.ClassDef) -> bool:
    for decorator in cls.decorator_list:
        if isinstance(decorator, ast.Call) and any(
            k.arg == "frozen" and isinstance(k.value, ast.Constant) and k.value.value is True
            for k in decorator.keywords
        ):
            return True
    bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in cls.bases}
    return bool(bases & {"NamedTuple", "Enum", "IntEnum", "StrEnum", "TypedDict", "Exception"})


def frozen_classes(sources: dict[str, str]) -> set[str]:
    """The names of the app's classes whose instances are values."""
    return {
        node.name
        for text in sources.values()
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.ClassDef) and _is_frozen(node)
    }


def _called(value: ast.expr) -> str:
    if not isinstance(value, ast.Call):
        return ""
    func = value.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def process_state(path: str, text: str, frozen: set[str]) -> list[str]:
    """Every place `text` keeps process state (see the module's docstring)."""
    if path in COMPOSITION_ROOT:
        return []
    tree = ast.parse(text)
    found = [
        f"{path}:{node.lineno} global {', '.join(node.names)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Global)
    ]
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "reset":
            found.append(f"{path}:{node.lineno} a module-level reset()")
        if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = ", ".join(t.id for t in targets if isinstance(t, ast.Name))
        value, called = node.value, _called(node.value)
        empty = isinstance(value, ast.Dict | ast.List | ast.Set) and not (
            value.keys if isinstance(value, ast.Dict) else value.elts
        )
        metric = called in METRIC_CALLS and path == "streaming/metrics.py"
        if not names or metric or called in VALUE_CALLS or called in frozen:
            continue
        if empty or called in MUTABLE_CALLS or called[:1].isupper():
            found.append(f"{path}:{node.lineno} {names} = {called or 'an empty container'}")
    return found


def test_no_process_state_outside_the_composition_root() -> None:
    sources = app_sources()
    frozen = frozen_classes(sources)
    found = [line for path, text in sources.items() for line in process_state(path, text, frozen)]
    assert found == []


def test_the_process_state_check_can_fail() -> None:
    """A global, a reset(), a module's cache, counter and object are seen; constants, a
    frozen value and the composition root are not."""
    text = """
from collections import Counter
from dataclasses import dataclass

@dataclass(frozen=True)
class Hours:
    open: int

class Hub:
    pass

LIMIT = 5
NAMES = {"a": 1}
DAY = Hours(9)
hub = Hub()
_cache: dict[str, int] = {}
taken = Counter()

def reset():
    global _cache
    _cache = {}
"""
    frozen = frozen_classes({"x.py": text})
    assert frozen == {"Hours"}
    assert process_state("streaming/x.py", text, frozen) == [
        "streaming/x.py:20 global _cache",
        "streaming/x.py:15 hub = Hub",
        "streaming/x.py:16 _cache = an empty container",
        "streaming/x.py:17 taken = Counter",
        "streaming/x.py:19 a module-level reset()",
    ]
    assert process_state("streaming/node.py", text, frozen) == []
    assert process_state("streaming/metrics.py", "SENT = Counter('sent', 'x')\n", set()) == []

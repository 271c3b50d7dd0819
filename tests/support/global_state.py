"""The app's process-wide state, cleared between tests by name (Zulip's habit).

Production code keeps a few process-wide objects (the broker pacing windows…; a
process's agents and relay are its node's, built per test by tests/conftest.py). Each
test runs on its own event loop, so what one test left bound to its loop must not leak
into the next. Instead of "new loop → start afresh" checks in
production code, each such module exposes a reset function, listed here, and
`tests/conftest.py` calls every one before each test.
"""

from __future__ import annotations

from importlib import import_module

#: "module:function" for every reset; each function takes no arguments.
RESETS: list[str] = [
    "streaming.trading.owner:reset",
]


def reset_all() -> None:
    for entry in RESETS:
        module, _, name = entry.partition(":")
        getattr(import_module(module), name)()

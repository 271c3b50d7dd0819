"""The ES modules a page's entry module imports, statically, to the bottom of the graph:
the page names them all as `<link rel="modulepreload">` in its head, so the browser fetches
them at once instead of discovering them level by level (five round trips deep for the
dashboard). Read from the static sources themselves, so the list never drifts from the
code; dynamic `import()`s (the chart library) are left to load when needed.
"""

from __future__ import annotations

import posixpath
import re
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders

#: `import … from './x.js'`, `export … from './x.js'` and `import './x.js'` (relative only).
_STATIC_IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^'";]*?(?:\bfrom\s*)?['"](\.{1,2}/[^'"]+\.js)['"]""",
    re.MULTILINE,
)


def _imports(path: str) -> list[str]:
    """The static paths `path` imports (relative imports resolved against it)."""
    found = finders.find(path)
    if not found:
        return []
    text = Path(found).read_text(encoding="utf-8")
    base = posixpath.dirname(path)
    return [posixpath.normpath(posixpath.join(base, m)) for m in _STATIC_IMPORT.findall(text)]


def _graph(entry: str) -> tuple[str, ...]:
    order: list[str] = []
    seen = {entry}
    queue = [entry]
    while queue:
        path = queue.pop(0)
        order.append(path)
        for child in _imports(path):
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return tuple(order)


_cached_graph = lru_cache(maxsize=8)(_graph)


def module_graph(entry: str) -> tuple[str, ...]:
    """`entry` and every module it imports statically, breadth first (static paths).
    Cached where the static files are collected (fixed per release); read afresh from the
    source tree otherwise."""
    if settings.COLLECTED_STATIC:
        return _cached_graph(entry)
    return _graph(entry)

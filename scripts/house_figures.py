"""The house's figures (issue "A house a newcomer can live in"), read with the project's own
checks: `python scripts/house_figures.py` from the repository root, the venv active.

Each figure comes from the rule that keeps it (tests/test_architecture.py,
tests/test_process_state.py, pyproject.toml's mypy files) or from the tracked files.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

import tests.test_architecture as architecture  # noqa: E402
import tests.test_process_state as process_state  # noqa: E402


def lines(path: str) -> int:
    return len(Path(path).read_text().splitlines())


def main() -> None:
    edges = architecture.graph()
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True).stdout.split()
    sources = process_state.app_sources()
    frozen = process_state.frozen_classes(sources)
    state = [s for p, t in sources.items() for s in process_state.process_state(p, t, frozen)]
    code = [
        f
        for f in tracked
        if f.endswith((".py", ".js"))
        and not f.startswith("tests/")
        and "/migrations/" not in f
        and "/vendor/" not in f
    ]
    largest = max((lines(f), f) for f in code)
    app = [f for f in tracked if f.endswith(".py") and f.split("/")[0] in architecture.APP_PACKAGES]
    configured = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["mypy"]["files"]
    checked = [
        f for f in app if any(f == c or f.startswith(c.rstrip("/") + "/") for c in configured)
    ]
    streaming_py = [f for f in tracked if f.startswith("streaming/") and f.endswith(".py")]
    figures = {
        "two-way ties between streaming's packages": len(architecture.two_way_ties(edges)),
        "feature -> feature imports": len(architecture.feature_crossings(edges)),
        "imports of a top-level package above the importer's": len(
            architecture.upward_between_packages(edges)
        ),
        "accounts -> streaming imports": sum(
            1
            for name, targets in edges.items()
            if name.startswith("accounts")
            for target in targets
            if target.startswith("streaming")
        ),
        "process state outside the node (global, reset(), module objects)": len(state),
        "folders with three siblings of one prefix (streaming/)": len(
            architecture.prefix_clusters(architecture.streaming_paths())
        ),
        "streaming/risk/ flat modules": sum(
            1 for f in tracked if re.fullmatch(r"streaming/risk/[^/]+\.py", f)
        ),
        "static/js/stream/ flat modules": sum(
            1 for f in tracked if re.fullmatch(r"static/js/stream/[^/]+\.js", f)
        ),
        "modules over 500 lines (Python and JS, tests aside)": sum(
            1 for f in code if lines(f) > 500
        ),
        "largest module": f"{largest[1]} ({largest[0]} lines)",
        "dict[str, Any] lines in streaming/": sum(
            "dict[str, Any]" in line
            for f in streaming_py
            for line in Path(f).read_text().splitlines()
        ),
        "mypy: app lines in its configured files": (
            f"{sum(map(lines, checked))} / {sum(map(lines, app))}"
            f" ({100 * sum(map(lines, checked)) / sum(map(lines, app)):.1f} %)"
        ),
        "docs/performance.md lines": lines("docs/performance.md"),
    }
    for name, value in figures.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()

"""Running a browser module's tool (tests/js/tools/*.mjs) under node on a snapshot: how a
test compares what the browser computes with what the server computes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

TOOLS = Path(__file__).resolve().parents[1] / "js" / "tools"

needs_node = pytest.mark.skipif(
    shutil.which("node") is None, reason="node runs the browser's modules"
)


def node_tool(name: str, snapshot: dict[str, Any]) -> Any:
    """`node tests/js/tools/<name>` with the snapshot on stdin: its JSON answer."""
    result = subprocess.run(
        ["node", str(TOOLS / name)],
        input=orjson.dumps(snapshot),
        capture_output=True,
        timeout=30,
        check=True,
    )
    return json.loads(result.stdout)

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


def node_binary() -> str:
    """Where node is; the test fails (never skips) without it, like a missing Chromium: a
    comparison that silently did not run proves nothing."""
    path = shutil.which("node")
    if path is None:
        pytest.fail("node is not installed (scripts/test.sh installs it)")
    return path


#: A tool's bound: a second or two alone, but the in-process tests run niced beside the
#: live ones (scripts/test.sh), where a busy box gave it 20 times that; under pytest's 120 s.
NODE_TIMEOUT = 90


def node_tool(name: str, payload: Any) -> Any:
    """`node tests/js/tools/<name>` with `payload` as JSON on stdin: its JSON answer."""
    result = subprocess.run(
        [node_binary(), str(TOOLS / name)],
        input=orjson.dumps(payload),
        capture_output=True,
        timeout=NODE_TIMEOUT,
        check=True,
    )
    return json.loads(result.stdout)

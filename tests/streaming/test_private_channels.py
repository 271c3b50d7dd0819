"""Every private channel of a process uses the layer's default prefix (issue 9, defect 1).

channels-redis serves a process's private channels through one receive lock; a channel
created with a prefix of its own is read by a receiver that holds that lock while it
waits on its own key, freezing every other socket of the process (an SSE tab did)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_private_channel_is_created_with_a_prefix_of_its_own():
    offenders = []
    for path in [*sorted((ROOT / "streaming").rglob("*.py")), ROOT / "config" / "asgi.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "new_channel"
                and (node.args or node.keywords)
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []

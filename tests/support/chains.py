"""Chain test helpers: users with one broker link each, and the sandbox's chain counts."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from sandbox.server import SandboxControl
from tests.support.live import ROOT, LiveApp
from tests.support.processes import spawn, terminate


def chain_users(app: LiveApp, broker: str, n: int, prefix: str) -> list[dict]:
    """Users with one `broker` link each, logged in (bench/chain_users.py), in `app`'s DB."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        made = spawn(
            [
                *(sys.executable, "-m", "bench.chain_users", out.name),
                *("--broker", broker, "--users", str(n), "--prefix", prefix),
            ],
            cwd=ROOT,
            env=app.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            errors = made.stderr.read()
            if made.wait(timeout=120) != 0:
                raise RuntimeError(f"bench.chain_users failed:\n{errors.decode()[-3000:]}")
        finally:
            terminate(made)
        return json.loads(Path(out.name).read_text())


def chain_requests(control: SandboxControl, broker: str, key: str = "") -> int:
    """Broker chain fetches the sandbox served so far: all of `broker`'s, or one chain's
    (`key`: tastytrade "SPY" — its nested chain has every expiration —, Tradier
    "SPY:2026-12-18")."""
    totals = control.state()["totals"]
    name = f"{broker}_chain_requests" + (f":{key}" if key else "")
    return int(totals.get(name, 0))

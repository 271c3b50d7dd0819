"""One bench's smoke run: `python -m bench.<name>` at tiny sizes, as a process of its own
from the repository root, which must exit 0 and print the numbers the bench exists for.

A bench nobody runs rots unseen (an import moves, a helper changes shape, a sandbox
behaviour shifts under it); the smoke runs make the suite run every one of them. Their
sizes are the smallest that still take each bench through its whole path; what a bench
measures at its default sizes is unchanged.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.forkserver import fork_server_pid
from tests.support.processes import OWNER_VAR, RUN_VAR, spawn, terminate
from tests.support.reaper import describe, owned_by

ROOT = Path(__file__).resolve().parents[2]
#: Each smoke's `seconds` is its wall time measured in this suite (`-n 2 --dist loadfile`)
#: on the 2-core box while other test runs loaded it (load average 6-9, 2026-11-26), with
#: the run's seeded database made first when the smoke is the first to need it
#: (tests/support/databases.py). A run may take this many times as long before it counts
#: as hung: twice was outrun on 2026-11-29, when the box ran Chromium at half its speed
#: (tests/bench: metrics_overhead, sandbox_dxlink, socket_memory past 2x in a clean clone).
MARGIN = 4.0
#: How long a bench may take to stop once told to (SIGINT: its `finally` blocks stop the
#: daphne, sandbox and Chromium it started) before its process group is killed.
STOP_WITHIN = 15.0
#: Everything a bench started (daphne, the sandbox, Redis, PostgreSQL, Chromium) ends with
#: it; a process it told to stop may take a moment to go.
LEFT_WITHIN = 10.0
#: pytest-timeout's bound beyond the run's own: the wait for its leftovers, the stop (SIGINT,
#: then SIGKILL: `terminate` waits `STOP_WITHIN` for each) and 5 s to read the output.
TEARDOWN = LEFT_WITHIN + 2 * STOP_WITHIN + 5


@dataclass(frozen=True)
class Smoke:
    """A bench's tiny command line, its measured wall time, and what its output must hold.

    `args` may name `{tmp}` (the test's tmp_path) for a bench's work directory; `expect`
    are regular expressions, each of which must match a line of its stdout (re.M)."""

    bench: str
    args: tuple[str, ...]
    seconds: float
    expect: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def bound(self) -> float:
        """How long the run may take before it counts as hung."""
        return self.seconds * MARGIN

    def param(self, *marks: Any) -> Any:
        """This smoke as a pytest parameter, its id the bench, with pytest-timeout's bound
        (and `marks`)."""
        timeout = pytest.mark.timeout(int(self.bound + TEARDOWN) + 1)
        return pytest.param(self, id=self.bench, marks=(timeout, *marks))

    def argv(self, tmp: Path) -> list[str]:
        args = [arg.format(tmp=tmp) for arg in self.args]
        return [sys.executable, "-m", f"bench.{self.bench}", *args]


def tail(path: Path, chars: int = 4000) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-chars:]


def still_running(before: set[int]) -> set[int]:
    """What this pytest process started (and theirs, however deep: tests/support/reaper.py)
    that still runs, but for `before`."""
    run, owner = os.environ.get(RUN_VAR), os.environ.get(OWNER_VAR)
    if not run or not owner:
        return set()
    return set(owned_by(run, owner)()) - before - {fork_server_pid()}


def finish(
    argv: list[str], env: dict[str, str], within: float, stdout: Any, stderr: Any
) -> tuple[int | None, list[str]]:
    """Run `argv` from the repository root with `env` added (`spawn`: a process group of its
    own, which the suite's reaper knows) until it ends, or stop it after `within` seconds.
    Its exit code (None if it had to be stopped), and what it started that still ran
    `LEFT_WITHIN` s after it ended. Its group is stopped either way (SIGINT first: a
    bench's `finally` blocks stop what it started)."""
    before = still_running(set())
    process = spawn(argv, cwd=ROOT, env={**os.environ, **env}, stdout=stdout, stderr=stderr)
    try:
        code = process.wait(timeout=within)
    except subprocess.TimeoutExpired:
        return None, []
    else:
        deadline = time.monotonic() + LEFT_WITHIN
        while (left := still_running(before)) and time.monotonic() < deadline:
            time.sleep(0.1)
        return code, [describe(pid) for pid in sorted(left)]
    finally:
        terminate(process, timeout=STOP_WITHIN, signum=signal.SIGINT)


def run(smoke: Smoke, tmp: Path) -> str:
    """Run the bench to its end (or fail the test at its bound), check its exit code, that
    it left nothing running, and its output; its stdout."""
    out_path, err_path = tmp / "bench.stdout", tmp / "bench.stderr"
    argv = smoke.argv(tmp)
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        code, left = finish(argv, smoke.env, smoke.bound, out, err)
    stdout = out_path.read_text(errors="replace")
    where = f"$ {' '.join(argv[1:])}\n--- stdout\n{stdout[-4000:]}\n--- stderr\n{tail(err_path)}"
    assert code is not None, f"not done within {smoke.bound:.0f} s\n{where}"
    assert code == 0, f"exit code {code}\n{where}"
    assert not left, f"still running after the bench ended: {left}\n{where}"
    for pattern in smoke.expect:
        assert re.search(pattern, stdout, re.M), f"no line matching {pattern!r}\n{where}"
    return stdout

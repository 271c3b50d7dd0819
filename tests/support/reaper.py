"""One reaper per pytest process: nothing a test started outlives the test run.

Fixtures stop what they start, in order; the reaper is what holds when they cannot (a
timeout in a teardown, a Ctrl-C, a SIGTERM, a worker killed with -9). It finds the processes
by the owner's token in their environment (tests/support/processes.py), which every process
the owner started inherits, however deep:

- at the end of the session (`finish`): anything left is stopped, and the run fails, since
  a fixture leaked it;
- on SIGTERM: everything is stopped at once, then pytest unwinds as on Ctrl-C;
- from a watchdog process that waits on a pipe from the owner: when the owner dies, even
  by SIGKILL, the pipe closes and the watchdog stops everything the owner left.

`python -m tests.support.reaper --run RUN_ID` is scripts/test.sh's last word: it lists (and
stops) any process of the run still alive, and exits 1 if there was one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.processes import OWNER_VAR, RUN_VAR, register_path, remove_run, start_time

#: How long a stopped process may take to end before it is killed (PostgreSQL's fast
#: shutdown and daphne's close of its sockets take well under this).
GRACE = 5.0


def _environ(pid: int) -> dict[str, str]:
    """A process's initial environment (empty if it is gone or not ours to read)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command: state, ppid, pgrp, ... (empty if gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _ancestors(pid: int) -> set[int]:
    """`pid` and every process above it."""
    found = set()
    while pid > 1 and pid not in found:
        found.add(pid)
        stat = _stat(pid)
        if not stat:
            break
        pid = int(stat[1])
    return found


def describe(pid: int) -> str:
    """Its pid, name (a forked process names what it runs: tests/support/forkserver.py)
    and command line."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        cmd, name = "?", "?"
    return f"{pid} [{name}] {cmd.strip()[:160]}"


def registered_groups(run: str, owner: str = "") -> dict[int, str]:
    """The process groups `spawn` wrote down for one owner, or for every owner of the run:
    each group's number → its leader's start time ("" when not written down)."""
    files = [register_path(run, owner)] if owner else register_path(run).glob("*.groups")
    groups: dict[int, str] = {}
    for path in files:
        with contextlib.suppress(OSError):
            for line in path.read_text().splitlines():
                number, _, started = line.partition(" ")
                if number.strip():
                    groups[int(number)] = started.strip()
    return groups


def _same_group(group: int, started: str) -> bool:
    """Whether group `group` is still the one written down: its leader is the process that
    started then, or gone (the number is not given out again while the group has members)."""
    now = start_time(group)
    return not started or not now or now == started


def carrying(
    var: str, value: str, groups: dict[int, str], spare: set[int] | None = None
) -> list[int]:
    """The live processes whose environment has `var=value`, or that carry no such
    variable (PostgreSQL rewrites its environment) and are in one of `groups` as it was
    written down; but for `spare` and this process's own ancestors. A process that
    carries another value is someone else's, whatever its group's number."""
    keep = _ancestors(os.getpid()) | (spare or set())
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in keep:
            continue
        pid = int(entry)
        stat = _stat(pid)
        if not stat or stat[0] == "Z":
            continue
        carried = _environ(pid).get(var)
        group = int(stat[2])
        if carried == value or (
            carried is None and group in groups and _same_group(group, groups[group])
        ):
            pids.append(pid)
    return pids


def _first_signal(pid: int) -> int:
    """PostgreSQL's fast shutdown is SIGINT (SIGTERM waits for its clients); the rest end
    on SIGTERM."""
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return signal.SIGTERM
    return signal.SIGINT if name == "postgres" else signal.SIGTERM


def _send(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def stop(find: Callable[[], list[int]], grace: float = GRACE) -> list[str]:
    """Stop every process `find()` lists: a polite signal, then SIGKILL after `grace`
    seconds to what is left. What was found, described."""
    found = find()
    if not found:
        return []
    described = [describe(pid) for pid in found]
    for pid in found:
        _send(pid, _first_signal(pid))
    deadline = time.monotonic() + grace
    while (left := find()) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:
        _send(pid, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while find() and time.monotonic() < deadline:
        time.sleep(0.05)
    return described


def owned_by(run: str, owner: str, spare: set[int] | None = None) -> Callable[[], list[int]]:
    """What one owner (a pytest process) started and is still running."""
    return lambda: carrying(OWNER_VAR, owner, registered_groups(run, owner), spare)


def of_run(run: str) -> Callable[[], list[int]]:
    """What any owner of the run started and is still running (the owners included)."""
    return lambda: carrying(RUN_VAR, run, registered_groups(run))


class Reaper:
    """This pytest process's token, watchdog and SIGTERM handler."""

    def __init__(self) -> None:
        self.token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.run = ""
        self.owns_run = False
        self.watchdog: subprocess.Popen[bytes] | None = None
        self.interrupted = False

    def install(self) -> None:
        """Take a token (every process started from now on carries it), start the
        watchdog, handle SIGTERM. The outermost pytest of a run names the run too."""
        self.owns_run = RUN_VAR not in os.environ
        self.run = os.environ.setdefault(RUN_VAR, uuid.uuid4().hex)
        os.environ[OWNER_VAR] = self.token
        # the watchdog must not carry the token (it would stop itself), nor share our
        # process group (a Ctrl-C or a kill of the group must leave it to do its work)
        env = {k: v for k, v in os.environ.items() if k not in (OWNER_VAR, RUN_VAR)}
        self.watchdog = subprocess.Popen(
            [sys.executable, "-m", "tests.support.reaper", "--watch", self.run, self.token],
            stdin=subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[2],
            env=env,
            start_new_session=True,
        )
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        if self.interrupted:  # a second SIGTERM: no more waiting
            os._exit(128 + signum)
        self.interrupted = True
        stop(self._mine())
        raise KeyboardInterrupt("SIGTERM")

    def _mine(self) -> Callable[[], list[int]]:
        return owned_by(self.run, self.token, {self.watchdog.pid} if self.watchdog else set())

    def finish(self) -> list[str]:
        """Stop what is still running (it should be nothing) and the watchdog; what was
        found."""
        from tests.support.forkserver import stop_fork_server

        stop_fork_server()
        left = stop(self._mine())
        if self.watchdog is not None and self.watchdog.stdin is not None:
            self.watchdog.stdin.close()  # it finds nothing left and ends
            self.watchdog.wait(timeout=GRACE * 3)
        if self.owns_run:  # the run's registers, what it made once, its socket folder
            remove_run(self.run)
        return left


def _watch(run: str, token: str) -> None:
    """Wait until the owner's end closes our stdin, then stop what it left."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while sys.stdin.buffer.read(4096):
        pass
    left = stop(owned_by(run, token))
    with contextlib.suppress(OSError):
        register_path(run, token).unlink()
    if left:
        print("reaper: stopped what a dead test process left:", *left, sep="\n  ", file=sys.stderr)


def _leftovers(run: str) -> int:
    left = stop(of_run(run))
    remove_run(run)
    if not left:
        return 0
    print("Still running after the tests (now stopped):", *left, sep="\n  ", file=sys.stderr)
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--watch", nargs=2, metavar=("RUN_ID", "TOKEN"), help="one pytest process's watchdog"
    )
    group.add_argument("--run", metavar="RUN_ID", help="stop and list what a run left")
    args = parser.parse_args()
    if args.watch:
        _watch(*args.watch)
        return 0
    return _leftovers(args.run)


if __name__ == "__main__":
    sys.exit(main())

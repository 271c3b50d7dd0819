"""The reaper stops the process groups an owner wrote down, and only those: a group's number
is its leader's pid, which the kernel gives out again once the group is gone (pid_max is
32,768 here, and a run's threads use pids too). A clean clone lost test_trading_flows'
daphne, stopped gracefully near the end of the live phase while other workers finished:
another owner had once registered a group of the same number.

Real processes (`sleep`), each in a group of its own, and a register written as `spawn`
writes it (tests/support/processes.py)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from tests.support.processes import (
    OWNER_VAR,
    RUN_VAR,
    register_path,
    signal_group,
    spawn,
    start_time,
    terminate,
)
from tests.support.reaper import owned_by


@pytest.fixture
def run() -> Iterator[str]:
    run = f"test-{uuid.uuid4().hex}"
    register_path(run).mkdir()
    yield run
    for path in register_path(run).iterdir():
        path.unlink()
    register_path(run).rmdir()


@pytest.fixture
def sleeper() -> Iterator:
    started: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> subprocess.Popen[bytes]:
        clean = {k: v for k, v in os.environ.items() if k not in (OWNER_VAR, RUN_VAR)}
        started.append(subprocess.Popen(["sleep", "60"], process_group=0, env={**clean, **env}))
        return started[-1]

    yield start
    for process in started:
        process.kill()
        process.wait()


def write(run: str, owner: str, *lines: str) -> None:
    register_path(run, owner).write_text("".join(f"{line}\n" for line in lines))


def test_a_group_registered_then_reused_by_another_owner_is_not_ours(run, sleeper):
    """Our register holds a group number that now leads another owner's process (its
    environment says whose): not ours, whatever the register says."""
    theirs = sleeper(**{OWNER_VAR: "their-token", RUN_VAR: run})
    write(run, "our-token", str(theirs.pid))  # a number we had, now theirs
    assert theirs.pid not in owned_by(run, "our-token")()


def test_a_reused_group_number_is_not_ours_by_its_leaders_start(run, sleeper):
    """A process without a token (PostgreSQL rewrites its environment): ours by its group
    only while the group's leader is the one we registered, told by its start time."""
    ours, reused = sleeper(), sleeper()
    write(run, "our-token", f"{ours.pid} {start_time(ours.pid)}", f"{reused.pid} 1")
    found = owned_by(run, "our-token")()
    assert ours.pid in found
    assert reused.pid not in found


def test_a_group_is_not_signalled_once_its_number_leads_another_process():
    """`terminate` signals the group again once the leader is gone (its children): not
    when the number has been given out again meanwhile."""
    ours = spawn(["sleep", "60"])
    try:
        assert ours.leader_started == start_time(ours.pid)
        ours.leader_started = "1"  # as if ours had ended and the number were another's now
        signal_group(ours, 15)
        # a signalled sleep ends within milliseconds: still running a second later, it was
        # not signalled (a non-event has no condition to await)
        with pytest.raises(subprocess.TimeoutExpired):
            ours.wait(timeout=1)
        ours.leader_started = start_time(ours.pid)
        signal_group(ours, 15)
        assert ours.wait(timeout=10) == -15
    finally:
        terminate(ours)

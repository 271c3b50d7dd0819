"""Run only by tests/suite/test_nothing_left_running.py, in a pytest of its own (the name
keeps it out of the suite's collection): cluster tests that are stopped from outside.

`STOPPED_READY` names the file written once the services are up: the outer test then
stops this pytest (SIGTERM, SIGKILL) while a test holds them.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from tests.support.cluster import running_cluster
from tests.support.wait import poll_until


def _up() -> None:
    Path(os.environ["STOPPED_READY"]).write_text(str(os.getpid()))


def _go_ahead() -> None:
    """Until the outer test has seen the services (it writes `<STOPPED_READY>.go`)."""
    poll_until(
        lambda: Path(os.environ["STOPPED_READY"] + ".go").exists(),
        within=60,
        what="the outer test's go-ahead",
    )


def test_holds_its_cluster_until_stopped(tmp_path: Path):
    with running_cluster(tmp_path):
        _up()
        threading.Event().wait()  # until this pytest is stopped from outside


def test_a_timeout_in_the_teardown(tmp_path: Path):
    """The test ends with one daphne frozen (SIGSTOP: its stop waits out its grace), and
    pytest-timeout's timer, re-armed to go off a second later, fires in the teardown."""
    with running_cluster(tmp_path) as cluster:
        _up()
        _go_ahead()
        os.kill(cluster.a.pid, signal.SIGSTOP)
        # pytest-timeout's own SIGALRM handler (`timeout_method = signal`), due now
        assert signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, signal.SIG_IGN, None)
        signal.setitimer(signal.ITIMER_REAL, 1.0)


@pytest.fixture(autouse=True)
def _checked() -> None:
    assert "STOPPED_READY" in os.environ, "run by tests/suite/test_nothing_left_running.py"

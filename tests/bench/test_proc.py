"""bench/proc.py's readings of the scheduler: how long a process waited for a core, and
how long the machine had a task waiting for one. Two processes that spin on one core
must each wait about as long as they run, three about twice as long, whatever else the
box does (a busy box only makes them wait longer)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bench.proc import cpu_pressure_seconds, runqueue_wait_seconds

#: Each spinner burns this long of its own CPU time, then exits.
SPIN_CPU_S = 0.6
SPIN = (
    f"import time\nend = time.process_time() + {SPIN_CPU_S}\n"
    "while time.process_time() < end: pass\n"
)

needs_schedstat = pytest.mark.skipif(
    runqueue_wait_seconds(os.getpid()) is None, reason="the kernel keeps no schedstat"
)


def _spinners_on_one_core(count: int) -> tuple[list[subprocess.Popen[bytes]], float]:
    core = min(os.sched_getaffinity(0))
    started = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(count)]
    for p in procs:
        os.sched_setaffinity(p.pid, {core})
    return procs, started


def _cpu_and_wait(pid: int) -> tuple[float, float]:
    with open(f"/proc/{pid}/schedstat") as f:
        run_ns, wait_ns = (int(v) for v in f.read().split()[:2])
    return run_ns / 1e9, wait_ns / 1e9


@needs_schedstat
def test_three_processes_on_one_core_each_wait_twice_as_long_as_they_run() -> None:
    procs, _ = _spinners_on_one_core(3)
    readings = []
    try:
        # read each spinner once it has run most of its SPIN_CPU_S (it cannot have ended:
        # nobody reaped it, and it ends only after all of it)
        for p in procs:
            while True:
                run, wait = _cpu_and_wait(p.pid)
                reported = runqueue_wait_seconds(p.pid)
                if run >= SPIN_CPU_S * 0.8:
                    break
                assert p.poll() is None, "a spinner ended before it ran its time"
                time.sleep(0.01)
            readings.append((run, wait, reported))
    finally:
        for p in procs:
            p.wait(timeout=60)
    for run, wait, reported in readings:
        assert reported is not None and reported >= wait
        # two others on its core: ~2x its run time waiting on a quiet box, more on a busy
        # one; a reading of the run time instead (1x) fails
        assert reported >= 1.3 * run, (run, reported)


def test_a_process_that_is_gone_has_no_reading() -> None:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait(timeout=60)
    assert runqueue_wait_seconds(p.pid) is None


@pytest.mark.skipif(cpu_pressure_seconds() is None, reason="the kernel has no PSI")
def test_cpu_pressure_grows_while_a_task_waits_for_a_core() -> None:
    before = cpu_pressure_seconds()
    procs, started = _spinners_on_one_core(2)
    for p in procs:
        p.wait(timeout=60)
    elapsed = time.monotonic() - started
    after = cpu_pressure_seconds()
    assert before is not None and after is not None
    # one of the two waited for as long as the other ran: roughly SPIN_CPU_S in all
    assert after - before >= SPIN_CPU_S / 3, (after - before, elapsed)
